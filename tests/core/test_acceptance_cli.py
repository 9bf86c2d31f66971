"""Acceptance of the command line with cases the issue did not list: bytes that are
not UTF-8 in any argument (a message reference, a user's name) are refused with one
line and exit 2, and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

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
