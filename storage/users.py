"""Authorized users and admins."""

from __future__ import annotations

import unicodedata

import aiosqlite

from storage.db import Database, to_db_time, utcnow
from storage.models import UserRecord
from storage.updates import cancel_open_previews

MAX_NAME = 64


def clean_name(raw: str) -> str:
    """A name fit to show: one line, no control or direction characters, at most
    ``MAX_NAME`` characters."""
    kept = "".join(c for c in raw if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    return " ".join(" ".join(kept.split())[:MAX_NAME].split())


class LastAdminError(Exception):
    """Refused: the change would leave no admin."""


class UserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE user_id = ?", (user_id,))
        return UserRecord.from_row(row) if row else None

    async def list(self) -> list[UserRecord]:
        rows = await self._db.fetchall(
            "SELECT * FROM users ORDER BY is_admin DESC, added_at, user_id"
        )
        return [UserRecord.from_row(r) for r in rows]

    async def upsert(
        self, user_id: int, *, name: str | None, is_admin: bool, added_by: int | None
    ) -> tuple[UserRecord, bool]:
        """Add a user, or change an existing one's name and role. Returns ``(user, created)``.

        Demoting the last admin raises ``LastAdminError``.
        """
        async with self._db.transaction() as conn:
            cursor = await conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,))
            existing = await cursor.fetchone()
            if existing is None:
                await conn.execute(
                    "INSERT INTO users (user_id, name, is_admin, added_by, added_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (user_id, name or "", int(is_admin), added_by, to_db_time(utcnow())),
                )
            else:
                if existing["is_admin"] and not is_admin:
                    await _ensure_other_admin(conn, user_id)
                    await conn.execute(  # a demoted admin is never seeded again
                        "INSERT INTO seeded_admins (user_id, at) VALUES (?, ?) "
                        "ON CONFLICT (user_id) DO NOTHING",
                        (user_id, to_db_time(utcnow())),
                    )
                await conn.execute(
                    "UPDATE users SET name = ?, is_admin = ? WHERE user_id = ?",
                    (name if name is not None else existing["name"], int(is_admin), user_id),
                )
            cursor = await conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,))
            row = await cursor.fetchone()
        assert row is not None
        return UserRecord.from_row(row), existing is None

    async def ensure_admin(self, user_id: int) -> bool:
        """Make a configured admin one (start-up). Returns True when something changed."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO users (user_id, name, is_admin, added_by, added_at) "
                "VALUES (?, '', 1, NULL, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET is_admin = 1 WHERE is_admin = 0",
                (user_id, to_db_time(utcnow())),
            )
            return cursor.rowcount > 0

    async def seed_admin(self, user_id: int) -> bool:
        """An id from ``ADMIN_IDS``: made admin the first time it is seen only, so a
        later /deny or demotion sticks over restarts. True when it was made admin now."""
        now = to_db_time(utcnow())
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO seeded_admins (user_id, at) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO NOTHING",
                (user_id, now),
            )
            if cursor.rowcount != 1:
                return False
            cursor = await conn.execute(
                "INSERT INTO users (user_id, name, is_admin, added_by, added_at) "
                "VALUES (?, '', 1, NULL, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET is_admin = 1 WHERE is_admin = 0",
                (user_id, now),
            )
            return cursor.rowcount > 0

    async def set_name_if_empty(self, user_id: int, name: str) -> bool:
        """Fill in a name nobody set (an admin's name is never overwritten)."""
        name = clean_name(name)
        if not name:
            return False
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE users SET name = ? WHERE user_id = ? AND name = ''", (name, user_id)
            )
            return cursor.rowcount == 1

    async def remove(self, user_id: int) -> bool:
        """Remove a user and cancel their open previews (one transaction); refuses
        (``LastAdminError``) to remove the last admin."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute("SELECT is_admin FROM users WHERE user_id = ?", (user_id,))
            row = await cursor.fetchone()
            if row is None:
                return False
            if row["is_admin"]:
                await _ensure_other_admin(conn, user_id)
                # A removed admin is never seeded again from ADMIN_IDS.
                await conn.execute(
                    "INSERT INTO seeded_admins (user_id, at) VALUES (?, ?) "
                    "ON CONFLICT (user_id) DO NOTHING",
                    (user_id, to_db_time(utcnow())),
                )
            await conn.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
            await cancel_open_previews(conn, user_id)
            return True

    async def set_limits(
        self, user_id: int, *, per_minute: int | None, per_day: int | None
    ) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE users SET per_minute = ?, per_day = ? WHERE user_id = ?",
                (per_minute, per_day, user_id),
            )
            return cursor.rowcount == 1


async def _ensure_other_admin(conn: aiosqlite.Connection, user_id: int) -> None:
    cursor = await conn.execute(
        "SELECT COUNT(*) FROM users WHERE is_admin = 1 AND user_id != ?", (user_id,)
    )
    row = await cursor.fetchone()
    if row is None or int(row[0]) == 0:
        raise LastAdminError("the last admin cannot be removed or demoted")
