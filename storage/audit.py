"""The audit log: refused access attempts and admin actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, to_db_time, utcnow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    user_id: int | None
    action: str
    detail: str


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, user_id: int | None, action: str, detail: str = "") -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO audit (at, user_id, action, detail) VALUES (?, ?, ?, ?)",
                (to_db_time(utcnow()), user_id, action, detail[:500]),
            )

    async def recent(self, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
        if action is None:
            rows = await self._db.fetchall(
                "SELECT at, user_id, action, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self._db.fetchall(
                "SELECT at, user_id, action, detail FROM audit WHERE action = ? "
                "ORDER BY id DESC LIMIT ?",
                (action, limit),
            )
        return [
            AuditEntry(datetime.fromisoformat(r["at"]), r["user_id"], r["action"], r["detail"])
            for r in rows
        ]
