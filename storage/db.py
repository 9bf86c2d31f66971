"""SQLite through aiosqlite: WAL, explicit ``BEGIN IMMEDIATE`` for writes, schema
versioned by ``PRAGMA user_version``.

One connection per process, guarded by an asyncio lock, so a coroutine never sees
another's half-done transaction; other processes (the command line beside the bot)
are serialised by SQLite's own locking and the busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage.schema import MIGRATIONS

BUSY_TIMEOUT_MS = 10_000

#: what a write may fail with when the database cannot take it (disk full, I/O error,
#: locked past the busy timeout, a read-only file): callers that must not lose what
#: they know catch these and retry
STORAGE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_db_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed send record survives a power cut too, not only kill -9.
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn
        await self._migrate()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("the database is not connected")
        return self._conn

    async def _migrate(self) -> None:
        async with self.transaction() as conn:
            cursor = await conn.execute("PRAGMA user_version")
            row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"the database {self.path} has schema version {version}, newer than this "
                    f"program knows ({len(MIGRATIONS)}): upgrade smsbot"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {number}")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front, so
        a read-then-write never fails with a stale snapshot."""
        async with self._lock:
            conn = self.conn
            try:
                # Inside the try: a cancel while BEGIN runs in aiosqlite's thread must
                # still roll back, or the shared connection stays in a transaction.
                await conn.execute("BEGIN IMMEDIATE")
                yield conn
            except BaseException:
                # Queued after BEGIN in the same thread, so it runs after it; "no
                # transaction is active" (BEGIN itself failed) is fine.
                with contextlib.suppress(sqlite3.Error):
                    await asyncio.shield(conn.execute("ROLLBACK"))
                raise
            else:
                await conn.execute("COMMIT")

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            cursor = await self.conn.execute(sql, tuple(params))
            rows = await cursor.fetchall()
            return list(rows)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self._lock:
            cursor = await self.conn.execute(sql, tuple(params))
            row: sqlite3.Row | None = await cursor.fetchone()
            return row


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
