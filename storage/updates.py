"""Telegram update de-duplication and send previews awaiting a tap on "Send"."""

from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from storage.db import Database, to_db_time, utcnow
from storage.models import Preview, PreviewState


class ProcessedUpdates:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_time(self, update_id: int) -> bool:
        """Record the update; False when it was seen before (a repeat to ignore)."""
        now = utcnow()
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO processed_updates (update_id, at) VALUES (?, ?) "
                "ON CONFLICT (update_id) DO NOTHING",
                (update_id, to_db_time(now)),
            )
            return cursor.rowcount == 1

    async def prune(self, older_than: timedelta = timedelta(days=7)) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM processed_updates WHERE at < ?", (to_db_time(utcnow() - older_than),)
            )
            return cursor.rowcount


class PreviewRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        token: str,
        user_id: int,
        chat_id: int,
        recipient: str,
        text: str,
        provider: str,
        ttl: timedelta,
        recipients: str | None = None,
    ) -> Preview:
        now = utcnow()
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO previews (token, user_id, chat_id, recipient, text, provider, "
                "created_at, expires_at, recipients) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token,
                    user_id,
                    chat_id,
                    recipient,
                    text,
                    provider,
                    to_db_time(now),
                    to_db_time(now + ttl),
                    recipients,
                ),
            )
            cursor = await conn.execute("SELECT * FROM previews WHERE token = ?", (token,))
            row = await cursor.fetchone()
        assert row is not None
        return Preview.from_row(row)

    async def get(self, token: str) -> Preview | None:
        row = await self._db.fetchone("SELECT * FROM previews WHERE token = ?", (token,))
        return Preview.from_row(row) if row else None

    async def claim(
        self, token: str, user_id: int, new_state: PreviewState, now: datetime
    ) -> Preview | None:
        """Atomically move an open, unexpired preview of this user to ``new_state``.

        Only one caller ever wins: a second tap, or a tap after expiry, gets None.
        """
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE previews SET state = ? WHERE token = ? AND user_id = ? "
                "AND state = ? AND expires_at > ?",
                (new_state, token, user_id, PreviewState.OPEN, to_db_time(now)),
            )
            if cursor.rowcount != 1:
                return None
            cursor = await conn.execute("SELECT * FROM previews WHERE token = ?", (token,))
            row = await cursor.fetchone()
        return Preview.from_row(row) if row else None

    async def link_message(self, token: str, message_id: int) -> None:
        """The preview became send ``message_id``: it is used for good."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE previews SET message_id = ?, state = ? WHERE token = ?",
                (message_id, PreviewState.USED, token),
            )

    async def set_state(self, token: str, state: PreviewState) -> None:
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE previews SET state = ? WHERE token = ?", (state, token))

    async def cancel_open(self, user_id: int) -> int:
        """Cancel every open preview of ``user_id``; returns how many."""
        async with self._db.transaction() as conn:
            return await cancel_open_previews(conn, user_id)


async def cancel_open_previews(conn: aiosqlite.Connection, user_id: int) -> int:
    """Within the caller's transaction: ``user_id``'s open previews become cancelled,
    so a tap on one sends nothing (used when the user is removed)."""
    cursor = await conn.execute(
        "UPDATE previews SET state = ? WHERE user_id = ? AND state = ?",
        (PreviewState.CANCELLED, user_id, PreviewState.OPEN),
    )
    return cursor.rowcount
