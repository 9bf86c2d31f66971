"""Exit codes live in one module, ``bot.exit_codes``: the constants, their meanings and
the mappings; every other module imports them from there and defines none of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot import exit_codes
from bot.exit_codes import (
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_NOT_CONFIGURED,
    EXIT_NOT_FOUND,
    EXIT_NOT_SENT,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_REFUSED,
    EXIT_UNKNOWN,
    EXIT_UNSUPPORTED,
    EXIT_USAGE,
    exit_code_for,
    exit_code_for_record,
)
from providers.errors import (
    AuthenticationFailed,
    GatewayNotConfigured,
    InsufficientFunds,
    MessageNotFound,
    NotSent,
    OutcomeUnknown,
    ProtocolError,
    UnsupportedOperation,
)
from providers.sms import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "bot" / "exit_codes.py"


def _constants() -> dict[str, int]:
    return {
        name: value
        for name, value in vars(exit_codes).items()
        if name.startswith("EXIT_") and isinstance(value, int)
    }


def test_every_constant_has_one_meaning_and_a_distinct_value() -> None:
    constants = _constants()
    assert len(set(constants.values())) == len(constants)
    assert set(EXIT_CODES) == set(constants.values())
    assert all(meaning.strip() for meaning in EXIT_CODES.values())


def _python_files() -> list[Path]:
    files: list[Path] = []
    for folder in ("bot", "handlers", "services", "storage", "providers", "tests", "bench"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if f.resolve() != HOME.resolve()]


def test_no_other_module_defines_or_reexports_exit_codes() -> None:
    offenders: list[str] = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id.startswith("EXIT_"):
                        offenders.append(f"{where}: defines {target.id}")
            if isinstance(node, ast.ImportFrom) and node.module != "bot.exit_codes":
                for alias in node.names:
                    if alias.name.startswith("EXIT_") or alias.name.startswith("exit_code_for"):
                        offenders.append(f"{where}: imports {alias.name} from {node.module}")
    assert offenders == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInput("bad phone"), EXIT_USAGE),
        (MessageNotFound("smska", "no such id"), EXIT_NOT_FOUND),
        (OutcomeUnknown("smska", "timed out"), EXIT_UNKNOWN),
        (NotSent("smska", "connection refused"), EXIT_NOT_SENT),
        (AuthenticationFailed("smska", "wrong password"), EXIT_REFUSED),
        (InsufficientFunds("smsrent", "no money"), EXIT_REFUSED),
        (ProtocolError("smska", "odd answer"), EXIT_PROTOCOL),
        (UnsupportedOperation("smsrent", "status"), EXIT_UNSUPPORTED),
        (GatewayNotConfigured("smska"), EXIT_NOT_CONFIGURED),
        (RuntimeError("a bug"), EXIT_INTERNAL),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_exit_code_for_an_error(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


@pytest.mark.parametrize(
    ("state", "error_kind", "code"),
    [
        ("sent", None, EXIT_OK),
        ("delivered", None, EXIT_OK),
        ("failed", "NotSent", EXIT_NOT_SENT),
        ("failed", "NotStarted", EXIT_NOT_SENT),
        ("failed", "RecordNotWritten", EXIT_NOT_SENT),
        ("failed", "InsufficientFunds", EXIT_REFUSED),
        ("unknown", "OutcomeUnknown", EXIT_UNKNOWN),
        ("sending", None, EXIT_UNKNOWN),
        ("queued", None, EXIT_UNKNOWN),
    ],
)
def test_exit_code_for_a_recorded_state(state: str, error_kind: str | None, code: int) -> None:
    assert exit_code_for_record(state, error_kind) == code
