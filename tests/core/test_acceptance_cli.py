"""Acceptance of the command line with cases the issue did not list: bytes that are
not UTF-8 in any argument (a message reference, a user's name) are refused with one
line and exit 2, and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from storage.db import Database
from storage.users import UserRepository
from tests.core.test_cli import NOT_UTF8, base_env, run

__all__ = ["base_env"]  # the fixture, shared with test_cli


@pytest.mark.parametrize(
    "args",
    [
        ("status", NOT_UTF8),
        ("status", NOT_UTF8, "--json"),
        ("users", "allow", "777", NOT_UTF8),
        ("users", "allow", "777", "Vasya", NOT_UTF8, "--json"),
    ],
)
async def test_an_argument_not_utf8_is_refused_and_changes_nothing(
    base_env: dict[str, str], args: tuple[str, ...]
) -> None:
    result = await run(*args, env=base_env)
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    if "--json" in args:
        assert result.json()["error_kind"] == "InvalidInput"
    else:
        assert result.out == ""
        assert result.err.count("\n") == 1, result.err
        assert "not UTF-8" in result.err
    async with Database(Path(base_env["DATABASE_PATH"])) as db:
        assert await UserRepository(db).get(777) is None


@pytest.mark.parametrize("value", ["99999999999999999999", "0", "-5", "111,-7"])
def test_admin_ids_that_are_not_telegram_user_ids_are_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="ADMIN_IDS"):
        load_settings(_env_file=None, admin_ids=value)


@pytest.mark.parametrize("value", ["99999999999999999999", "0", "-5"])
async def test_demo_with_a_user_id_telegram_cannot_have_is_a_usage_error(
    base_env: dict[str, str], tmp_path: Path, value: str
) -> None:
    result = await run(
        "demo", "--user-id", value, "--database", str(tmp_path / "demo.sqlite3"), env=base_env
    )
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    assert "--user-id" in result.err


@pytest.mark.parametrize(
    "args",
    [
        ("send", "79123456789", "hi", "--provider", ""),
        ("send", "79123456789", "hi", "--provider", "  "),
        ("balance", "--provider", ""),
        ("status", "1", "--provider", ""),
    ],
)
async def test_an_empty_provider_is_refused_not_taken_as_the_default(
    base_env: dict[str, str], args: tuple[str, ...]
) -> None:
    """As with --key "": a script's unset variable must not silently mean "the default"."""
    result = await run(*args, env=base_env)
    assert result.code == 2, result.out + result.err
    assert "--provider" in result.err
    assert "Traceback" not in result.err
    async with Database(Path(base_env["DATABASE_PATH"])) as db:
        cursor = await db.conn.execute("SELECT COUNT(*) FROM messages")
        row = await cursor.fetchone()
        assert row is not None and row[0] == 0
