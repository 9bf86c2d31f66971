"""Several processes opening a new database at once (two cron jobs, the bot and the
command line): SQLite answers "database is locked" to a concurrent switch to WAL without
waiting for its busy timeout, so opening retries it instead of failing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage.db import Database


async def test_many_connections_open_a_new_database_at_once(tmp_path: Path) -> None:
    for round_ in range(40):
        path = tmp_path / f"race-{round_}.sqlite3"
        databases = [Database(path) for _ in range(4)]
        try:
            await asyncio.gather(*(db.connect() for db in databases))
            row = await databases[0].fetchone("PRAGMA journal_mode")
            assert row is not None and row[0] == "wal"
        finally:
            for db in databases:
                await db.close()
