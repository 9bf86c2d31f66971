"""The last balance each gateway reported (smsrent reports it only with a send)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from storage.db import Database, to_db_time
from storage.models import StoredBalance


class BalanceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self, provider: str, amount: Decimal, unit: str, at: datetime, message_id: int | None
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                """INSERT INTO balances (provider, amount, unit, at, message_id)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (provider) DO UPDATE SET amount = excluded.amount,
                       unit = excluded.unit, at = excluded.at, message_id = excluded.message_id
                   WHERE excluded.at >= balances.at""",
                (provider, str(amount), unit, to_db_time(at), message_id),
            )

    async def get(self, provider: str) -> StoredBalance | None:
        row = await self._db.fetchone("SELECT * FROM balances WHERE provider = ?", (provider,))
        if row is None:
            return None
        return StoredBalance(
            provider=row["provider"],
            amount=Decimal(row["amount"]),
            unit=row["unit"],
            at=datetime.fromisoformat(row["at"]),
            message_id=row["message_id"],
        )
