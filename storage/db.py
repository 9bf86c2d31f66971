"""SQLite through aiosqlite: WAL, explicit ``BEGIN IMMEDIATE`` for writes, schema
versioned by ``PRAGMA user_version``.

One connection per process, guarded by an asyncio lock, so a coroutine never sees
another's half-done transaction; other processes (the command line beside the bot)
are serialised by SQLite's own locking and the busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite

from storage.schema import MIGRATIONS

BUSY_TIMEOUT_MS = 10_000

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

#: what a write may fail with when the database cannot take it (disk full, I/O error,
#: locked past the busy timeout, a read-only file): callers that must not lose what
#: they know catch these and retry
STORAGE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened or used. ``reason`` is one sentence for a person
    (no traceback needed); ``str()`` reads ``DATABASE_PATH=<path>: <reason>``."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"DATABASE_PATH={path}: {reason}")
        self.path = path
        self.reason = reason


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
        """Open, configure and migrate; any failure raises ``DatabaseUnavailable`` and
        leaves nothing open (a live aiosqlite thread would keep the process alive)."""
        if isinstance(self.path, Path):
            self._prepare_path(self.path)
        try:
            conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(self.path, _sqlite_reason(exc, self.path)) from None
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _use_wal(conn)
            # FULL: a committed send record survives a power cut too, not only kill -9.
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
            await self._migrate()
        except BaseException as exc:
            self._conn = None
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close())
            if isinstance(exc, sqlite3.Error):
                raise DatabaseUnavailable(self.path, _sqlite_reason(exc, self.path)) from None
            if isinstance(exc, OSError):
                raise DatabaseUnavailable(self.path, _os_reason(exc)) from None
            raise

    @staticmethod
    def _prepare_path(path: Path) -> None:
        if path.is_dir():
            raise DatabaseUnavailable(path, "this is a folder, not a database file.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(
                path, f"cannot create the folder {path.parent}: {_os_reason(exc)}"
            ) from None

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
                raise DatabaseUnavailable(
                    self.path,
                    f"the database has schema version {version}, newer than this program "
                    f"knows ({len(MIGRATIONS)}): upgrade smsbot.",
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {number}")
            if version == len(MIGRATIONS):
                # A write even when there is nothing to migrate: a read-only file fails
                # here, at start, rather than at the first send.
                await conn.execute(f"PRAGMA user_version = {version}")
            missing = await _missing_schema(conn)
            if missing:
                raise DatabaseUnavailable(
                    self.path,
                    f"the database lacks part of its schema ({', '.join(missing[:5])}) although "
                    "its version says otherwise: it was changed by hand or damaged; restore a "
                    "backup or move the file aside.",
                )

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

    async def check_writable(self, statement: str, wait_seconds: float) -> None:
        """The health check: ``statement`` (a write) in a transaction that is rolled
        back, waiting at most ``wait_seconds`` for this process's connection and as long
        again for another process's write lock. Raises what the write raises, or
        ``TimeoutError``."""
        async with asyncio.timeout(wait_seconds):
            await self._lock.acquire()
        try:
            conn = self.conn
            await conn.execute(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
            try:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    await conn.execute(statement)
                finally:
                    with contextlib.suppress(sqlite3.Error):
                        await asyncio.shield(conn.execute("ROLLBACK"))
            finally:
                await asyncio.shield(conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))
        finally:
            self._lock.release()

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


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file is in the way where a folder should be."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied."
    if exc.errno == errno.EROFS:
        return "the file system is read-only."
    if exc.errno == errno.ENOSPC:
        return "the disk is full."
    return f"{exc.strerror or type(exc).__name__}."


async def _use_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL. Another connection opening the new file at the same moment makes
    SQLite answer "database is locked" at once, without the busy timeout (or leave the
    old mode), so this waits and tries again, as the busy timeout would, for as long."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            cursor = await conn.execute("PRAGMA journal_mode = WAL")
            row = await cursor.fetchone()
            if row is not None and str(row[0]).lower() in ("wal", "memory"):
                return  # (an in-memory database has no other mode)
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if not isinstance(code, int) or code & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            if loop.time() >= deadline:
                raise
        else:
            if loop.time() >= deadline:
                return  # a file system without WAL (the mode it keeps still works)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


def _sqlite_reason(exc: sqlite3.Error, path: Path | str) -> str:
    """One sentence for what SQLite reported (its texts carry no secret)."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_NOTADB:
        return "the file is not an SQLite database (corrupted, or another kind of file)."
    if primary == sqlite3.SQLITE_CORRUPT:
        return "the database file is corrupted (truncated or damaged): restore it from a backup."
    if primary == sqlite3.SQLITE_READONLY:
        return "the database is read-only: the bot needs write access to it and its folder."
    if primary in (sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return "permission denied."
    if primary == sqlite3.SQLITE_FULL:
        return "the disk is full."
    if primary == sqlite3.SQLITE_BUSY:
        return "the database stayed locked by another process."
    if primary == sqlite3.SQLITE_IOERR:
        return "a read or write error on the disk."
    if primary == sqlite3.SQLITE_CANTOPEN:
        if isinstance(path, Path):
            if path.is_dir():
                return "this is a folder, not a database file."
            if not os.access(path.parent, os.W_OK):
                return "cannot open the file: permission denied on its folder."
        return "the database file cannot be opened."
    return f"the database cannot be used ({exc})."


class GroupCommit(Generic[ItemT, ResultT]):
    """Writes that arrive while another is being committed are committed together.

    ``submit(item)`` waits until ``item`` is on disk and returns its result. The first
    write starts at once (no added latency when idle); writes submitted meanwhile wait
    for that commit and then go in the next transaction, all together: under load,
    many sends share one transaction and one fsync. ``apply`` does the work of one
    batch inside one ``BEGIN IMMEDIATE`` transaction and returns one result per item,
    in order. If the transaction fails, every item of the batch gets the error and
    nothing of the batch is written. A cancelled caller does not cancel the write.
    """

    def __init__(
        self,
        db: Database,
        apply: Callable[[aiosqlite.Connection, list[ItemT]], Awaitable[list[ResultT]]],
    ) -> None:
        self._db = db
        self._apply = apply
        self._pending: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: ItemT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="group-commit")
        return await asyncio.shield(future)

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._db.transaction() as conn:
                    results = await self._apply(conn, [item for item, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


@functools.cache
def _expected_schema() -> dict[str, frozenset[str]]:
    """Each table of the current schema and its columns, as the migrations make them."""
    memory = sqlite3.connect(":memory:")
    try:
        for script in MIGRATIONS:
            for statement in _statements(script):
                memory.execute(statement)
        return _tables(memory.execute(_SCHEMA_QUERY).fetchall())
    finally:
        memory.close()


_SCHEMA_QUERY = (
    "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
    "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
)


def _tables(rows: Iterable[Any]) -> dict[str, frozenset[str]]:
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return {table: frozenset(columns) for table, columns in tables.items()}


async def _missing_schema(conn: aiosqlite.Connection) -> list[str]:
    """Tables and columns the migrations made that the file no longer has."""
    cursor = await conn.execute(_SCHEMA_QUERY)
    actual = _tables(await cursor.fetchall())
    missing: list[str] = []
    for table, columns in sorted(_expected_schema().items()):
        if table not in actual:
            missing.append(table)
        else:
            missing += [f"{table}.{c}" for c in sorted(columns - actual[table])]
    return missing


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
