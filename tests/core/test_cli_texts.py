"""The command line's wording lives in its English catalogue, ``handlers.texts_cli``
(next to the bot's ``handlers.texts``): ``bot/cli.py`` holds no sentence of its own,
every key it asks for exists, and every text of the catalogue is used."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from handlers.texts_cli import CLI_TEXTS, say

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "bot" / "cli.py"
#: every module of the command line: ``cli.py`` and the commands it hands on
CLI_MODULES = (CLI, ROOT / "bot" / "cli_contacts.py", ROOT / "bot" / "cli_bulk.py")
#: values of the ``--json`` payload, for machines rather than people
JSON_VALUES = frozenset({"not found"})


def _trees() -> list[ast.Module]:
    return [ast.parse(path.read_text(encoding="utf-8")) for path in CLI_MODULES]


def _docstrings(tree: ast.Module) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_the_command_line_holds_no_sentence_of_its_own() -> None:
    sentences = [
        f"{node.lineno}: {node.value!r}"
        for tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in _docstrings(tree)
        and node.value not in JSON_VALUES
        and re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", node.value)
    ]
    assert sentences == [], "put the wording in handlers/texts_cli.py"


def _asked_keys() -> set[str]:
    """Every key ``bot/cli.py`` passes to ``say`` (both arms of a conditional too)."""
    keys: set[str] = set()
    for node in (node for tree in _trees() for node in ast.walk(tree)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            if node.func.id != "say":
                continue
            keys |= _keys_of(node.args[0])
    return keys


def _keys_of(arg: ast.expr) -> set[str]:
    if isinstance(arg, ast.IfExp):
        return _keys_of(arg.body) | _keys_of(arg.orelse)
    assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), ast.unparse(arg)
    return {arg.value}


def test_every_key_asked_for_exists_and_every_text_is_used() -> None:
    asked = _asked_keys()
    assert asked - set(CLI_TEXTS) == set()
    assert set(CLI_TEXTS) - asked == set()


def test_the_texts_are_english_and_fill_in_plain() -> None:
    for key, text in CLI_TEXTS.items():
        assert text.isascii() or set(text) - set(map(chr, range(128))) <= {"…"}, key
    # plain text for a terminal: nothing is HTML-escaped
    assert say("no_user", user_id="<1>") == "there is no user <1>."
