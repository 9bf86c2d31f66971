"""What the health check and the metrics read, and the bot's own small state
(``bot_state``: the webhook URL it registered). Every query here reads an index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_db_time

#: rows not settled yet: a gateway's last result is the last row past these
_PENDING = ("queued", "sending")


@dataclass(frozen=True, slots=True)
class LastResult:
    """A gateway's last settled send."""

    message_id: int
    state: str
    error_kind: str | None
    at: datetime


class OpsQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def check_writable(self, wait_seconds: float) -> None:
        """A write (of nothing) in a transaction that is rolled back: raises when the
        database cannot be written (a read-only file or connection, a closed one,
        ``TimeoutError`` for a write lock held longer than ``wait_seconds``)."""
        await self._db.check_writable(
            "DELETE FROM bot_state WHERE key = 'health check'", wait_seconds
        )

    async def counts(self) -> list[tuple[str, str, int]]:
        """(gateway, state, rows) for every pair that has rows."""
        rows = await self._db.fetchall(
            "SELECT provider, state, count(*) AS n FROM messages GROUP BY provider, state"
        )
        return [(str(r["provider"]), str(r["state"]), int(r["n"])) for r in rows]

    async def queued_jobs(self) -> int:
        """Jobs with a row still waiting for its gateway."""
        row = await self._db.fetchone(
            "SELECT count(DISTINCT job_id) FROM messages WHERE state = 'queued'"
        )
        return int(row[0]) if row else 0

    async def last_result(self, gateway: str) -> LastResult | None:
        row = await self._db.fetchone(
            "SELECT id, state, error_kind, updated_at FROM messages "
            "WHERE provider = ? AND state NOT IN (?, ?) ORDER BY id DESC LIMIT 1",
            (gateway, *_PENDING),
        )
        if row is None:
            return None
        at = from_db_time(row["updated_at"])
        assert at is not None
        return LastResult(int(row["id"]), str(row["state"]), row["error_kind"], at)

    async def get_state(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT value FROM bot_state WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def set_state(self, key: str, value: str | None) -> None:
        """Set ``key`` (``None``: forget it)."""
        async with self._db.transaction() as conn:
            if value is None:
                await conn.execute("DELETE FROM bot_state WHERE key = ?", (key,))
            else:
                await conn.execute(
                    "INSERT INTO bot_state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
