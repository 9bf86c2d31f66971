"""People not on the list who wrote to the bot: one row each, with a count.

A stranger is answered at most once per ``answer_every`` (300 messages get one
reply, not 300), and the audit log gets a single "denied" row per stranger.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Database, from_db_time, to_db_time

MAX_DETAIL = 200


@dataclass(frozen=True, slots=True)
class StrangerRecord:
    user_id: int
    first_at: datetime
    last_at: datetime
    count: int
    last_detail: str
    last_answered_at: datetime | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StrangerRecord:
        first = from_db_time(row["first_at"])
        last = from_db_time(row["last_at"])
        assert first is not None
        assert last is not None
        return cls(
            user_id=row["user_id"],
            first_at=first,
            last_at=last,
            count=row["count"],
            last_detail=row["last_detail"],
            last_answered_at=from_db_time(row["last_answered_at"]),
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """What ``StrangerRepository.note`` decided."""

    record: StrangerRecord
    first_time: bool  # the first refusal of this stranger: worth an audit row
    answer: bool  # the caller may answer now (and the answer is counted as given)


class StrangerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def note(
        self,
        user_id: int,
        detail: str,
        now: datetime,
        *,
        can_answer: bool,
        answer_every: timedelta,
    ) -> Refusal:
        """Count one refused update of ``user_id``. ``answer`` is True for at most one
        caller per ``answer_every`` (decided in the same transaction, so a burst of
        updates handled at once still gets a single answer); only when ``can_answer``."""
        at = to_db_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO strangers (user_id, first_at, last_at, count, last_detail) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "last_at = excluded.last_at, count = count + 1, "
                "last_detail = excluded.last_detail",
                (user_id, at, at, detail[:MAX_DETAIL]),
            )
            cursor = await conn.execute("SELECT * FROM strangers WHERE user_id = ?", (user_id,))
            row = await cursor.fetchone()
            assert row is not None
            record = StrangerRecord.from_row(row)
            answered = record.last_answered_at
            answer = can_answer and (answered is None or answered <= now - answer_every)
            if answer:
                await conn.execute(
                    "UPDATE strangers SET last_answered_at = ? WHERE user_id = ?", (at, user_id)
                )
        return Refusal(record=record, first_time=record.count == 1, answer=answer)

    async def recent(self, limit: int = 10) -> list[StrangerRecord]:
        rows = await self._db.fetchall(
            "SELECT * FROM strangers ORDER BY last_at DESC, user_id LIMIT ?", (limit,)
        )
        return [StrangerRecord.from_row(r) for r in rows]

    async def get(self, user_id: int) -> StrangerRecord | None:
        row = await self._db.fetchone("SELECT * FROM strangers WHERE user_id = ?", (user_id,))
        return StrangerRecord.from_row(row) if row else None

    async def forget(self, user_id: int) -> bool:
        """The stranger was let in: no longer one."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM strangers WHERE user_id = ?", (user_id,))
            return cursor.rowcount == 1
