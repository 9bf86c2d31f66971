"""Acceptance: a database damaged in ways the issue did not list (a table dropped or a
column removed by hand, with the schema version left as it was) is one sentence naming
DATABASE_PATH and exit 3 at start, not a traceback at the first query."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.exit_codes import EXIT_CONFIG
from storage.db import Database, DatabaseUnavailable
from tests.core.test_startup_faults import clean_env, run_sync


def _drop_messages(conn: sqlite3.Connection) -> str:
    conn.execute("DROP TABLE messages")
    return "messages"


def _drop_users(conn: sqlite3.Connection) -> str:
    conn.execute("DROP TABLE users")
    return "users"


def _drop_a_column(conn: sqlite3.Connection) -> str:
    conn.execute("ALTER TABLE messages DROP COLUMN text")
    return "messages.text"


DAMAGE: dict[str, Callable[[sqlite3.Connection], str]] = {
    "messages dropped": _drop_messages,
    "users dropped": _drop_users,
    "a column dropped": _drop_a_column,
}


def damaged(path: Path, damage: str) -> str:
    async def create() -> None:
        async with Database(path):
            pass

    asyncio.run(create())
    with sqlite3.connect(path) as conn:
        missing = DAMAGE[damage](conn)
    conn.close()
    return missing


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_database_missing_part_of_its_schema_is_refused_at_connect(
    tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "smsbot.sqlite3"
    missing = damaged(path, damage)

    async def connect() -> None:
        await Database(path).connect()

    with pytest.raises(DatabaseUnavailable) as caught:
        asyncio.run(connect())
    assert missing in str(caught.value)


@pytest.mark.parametrize("command", [["send", "79123456789", "hi"], ["status", "1"]])
def test_the_command_line_names_the_damage_and_exits_3(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "smsbot.sqlite3"
    damaged(path, "messages dropped")
    result = run_sync(command, clean_env(path))
    assert result.returncode == EXIT_CONFIG, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: DATABASE_PATH={path}: ")
