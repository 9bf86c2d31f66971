"""One text catalogue: every wording the bot says comes from ``handlers.texts`` (no
language branch anywhere else, scanned in the source), the command menu too; the
stored kind of a failed send is rendered from ``ErrorKind``, old and unknown strings
falling back to what is known."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aiogram import Bot

from bot.app import COMMANDS, set_commands
from handlers.render import error_reason, input_error, stored_reason
from handlers.sending import limit_text
from handlers.texts import LANGS, MENU_COMMANDS, TEXTS, Lang, as_lang, command_menu, lang_of, t
from services import errors as e
from services.domain import RefusedCountry
from services.kinds import ErrorKind
from services.limits import LimitHit
from storage.models import MessageRecord, MessageState
from tests.bot.test_russian_texts import english_words

ROOT = Path(__file__).resolve().parents[2]
#: the catalogue: the only modules that may choose words by language
CATALOGUE = {ROOT / "handlers" / "texts.py"}
SOURCES = sorted(
    path
    for package in ("bot", "handlers", "services", "storage", "providers")
    for path in (ROOT / package).rglob("*.py")
    if path not in CATALOGUE
)
_LANG_VALUES = {"ru", "en"}


def _is_lang(node: ast.expr) -> bool:
    """``lang``, ``record.lang``, ``self.lang``, ``"ru"``, ``"en"``…"""
    if isinstance(node, ast.Name):
        return node.id == "lang" or node.id.endswith("_lang")
    if isinstance(node, ast.Attribute):
        return node.attr == "lang" or node.attr.endswith("_lang")
    return isinstance(node, ast.Constant) and node.value in _LANG_VALUES


def language_branches(path: Path) -> list[str]:
    """Every comparison of a language (``lang == "ru"``, ``"en" != x.lang``, ``lang in
    ("ru",)``) in ``path``: a wording chosen outside the catalogue."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        langs = [o for o in operands if _is_lang(o)]
        named = [o for o in langs if not isinstance(o, ast.Constant)]
        literal = [o for o in langs if isinstance(o, ast.Constant)]
        if named or (literal and len(operands) > len(literal)):
            found.append((node.lineno, f"{path.name}:{node.lineno}: {ast.unparse(node)}"))
    return [text for _, text in sorted(found)]


def test_the_scan_finds_a_language_branch(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'a = "x" if lang == "ru" else "y"\n'
        'b = 1 if record.lang != "en" else 2\n'
        'c = "en" == code\n'
        "d = user_lang in ('ru',)\n"
        "e = count == 2\n",
        encoding="utf-8",
    )
    assert [line.split(": ", 1)[1] for line in language_branches(sample)] == [
        "lang == 'ru'",
        "record.lang != 'en'",
        "'en' == code",
        "user_lang in ('ru',)",
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_language_branch_outside_the_catalogue(path: Path) -> None:
    assert language_branches(path) == [], "choose the words with handlers.texts.t()"


def test_no_grep_hit_for_lang_comparisons_outside_the_catalogue() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in SOURCES
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"lang\s*[!=]=", line)
    ]
    assert hits == []


def test_the_command_menu_comes_from_the_catalogue() -> None:
    assert set(COMMANDS) == set(LANGS)
    for lang in LANGS:
        assert COMMANDS[lang] == command_menu(lang)
        assert [c for c, _ in COMMANDS[lang]] == list(MENU_COMMANDS)
        for command, description in COMMANDS[lang]:
            assert description == TEXTS[f"menu_{command}"][lang]
    for _command, description in COMMANDS["ru"]:
        assert english_words(description) == [], description


class MenuRecorder:
    """Stands in for the ``Bot``: what ``set_my_commands`` was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, list[tuple[str, str]]]] = []

    async def set_my_commands(self, commands: list[Any], **kwargs: Any) -> bool:
        menu = [(c.command, c.description) for c in commands]
        self.calls.append((kwargs.get("language_code"), menu))
        return True


async def test_the_menu_is_russian_by_default_and_english_for_english_users() -> None:
    bot = MenuRecorder()
    await set_commands(cast(Bot, bot))
    assert bot.calls == [(None, command_menu("ru")), ("en", command_menu("en"))]


@pytest.mark.parametrize(
    ("stored", "lang"), [("en", "en"), ("ru", "ru"), (None, "ru"), ("de", "ru"), ("EN", "ru")]
)
def test_a_stored_language_reads_as_a_catalogue_language(stored: str | None, lang: Lang) -> None:
    assert as_lang(stored) == lang


def test_a_telegram_language_code_reads_as_a_catalogue_language() -> None:
    assert lang_of("en-US") == "en"
    assert lang_of("ru") == "ru"
    assert lang_of(None) == "ru"


@pytest.mark.parametrize(
    ("seconds", "ru", "en"),
    [(5, "6 с", "6 s"), (600, "10 мин", "10 min"), (3 * 3600, "3 ч", "3 h")],
)
def test_the_wait_of_a_limit_in_each_language(seconds: int, ru: str, en: str) -> None:
    hit = LimitHit(5, timedelta(minutes=1), timedelta(seconds=seconds))
    assert f"через {ru}." in limit_text(hit, "ru")
    assert f"in {en}." in limit_text(hit, "en")


def test_a_number_of_no_country_is_named_in_the_reader_language() -> None:
    refused = RefusedCountry("+800 1234 5678", "80012345678", "001", ["RU"])
    ru = input_error(refused, "ru")
    assert "международная служба" in ru and "Россия" in ru
    assert english_words(ru) == []
    assert "no country (a global service)" in input_error(refused, "en")
    assert "no country (a global service)" in str(refused)  # the command line's English


def _record(**changes: Any) -> MessageRecord:
    at = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    values: dict[str, Any] = {
        "id": 7,
        "created_at": at,
        "updated_at": at,
        "source": "telegram",
        "user_id": 1,
        "user_name": None,
        "lang": "ru",
        "chat_id": 1,
        "reply_message_id": 3,
        "recipient": "79123456789",
        "text": "x",
        "encoding": "GSM-7",
        "parts": 1,
        "provider": "smska",
        "state": MessageState.FAILED,
        "gateway_id": None,
        "error_kind": None,
        "error_text": "English detail",
        "balance_after": None,
        "balance_unit": None,
        "simulated": False,
        "idempotency_key": None,
        "status_code": None,
        "status_name": None,
        "next_check_at": None,
        "checks": 0,
        "notified": True,
    }
    values.update(changes)
    return MessageRecord(**values)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", list(ErrorKind))
@pytest.mark.parametrize("state", [MessageState.FAILED, MessageState.UNKNOWN])
def test_every_stored_kind_is_rendered(kind: ErrorKind, state: MessageState, lang: Lang) -> None:
    text = stored_reason(_record(error_kind=str(kind), state=state), lang)
    assert text and "{" not in text
    if lang == "ru":
        assert english_words(text) == [], text


def test_a_stored_kind_reads_as_the_live_error_did() -> None:
    error = e.InsufficientFunds("smska", "no credits")
    for lang in LANGS:
        stored = _record(error_kind="InsufficientFunds")
        assert stored_reason(stored, lang) == error_reason(error, lang)


def test_a_refusal_stored_with_its_detail() -> None:
    stored = _record(error_kind="AccessDenied", error_text="IP 1.2.3.4 <not> allowed")
    assert (
        stored_reason(stored, "en") == "smska refused the request: IP 1.2.3.4 &lt;not&gt; allowed"
    )
    assert stored_reason(stored, "ru") == t("ru", "refused_generic", gateway="smska")
    plain = _record(error_kind="AccessDenied", error_text=None)
    assert stored_reason(plain, "en") == "smska refused the request"


@pytest.mark.parametrize("stored", ["SomethingNew", "__class__", "errors", "", None])
def test_a_stored_string_no_kind_has_falls_back(stored: str | None) -> None:
    failed = _record(error_kind=stored, error_text="Old <detail>")
    assert stored_reason(failed, "en") == "Old &lt;detail&gt;"
    assert stored_reason(failed, "ru") == t("ru", "send_error_generic", gateway="smska", reason="")
    unknown = _record(error_kind=stored, state=MessageState.UNKNOWN)
    assert stored_reason(unknown, "ru") == t("ru", "unknown_generic", gateway="smska")
