"""Managing who may use the bot, for the bot's admin commands and for
``python -m bot users``: one place that changes users and writes the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from storage.audit import AuditLog
from storage.models import UserRecord
from storage.strangers import StrangerRecord, StrangerRepository
from storage.users import LastAdminError, UserRepository, clean_name

__all__ = ["COMMAND_LINE", "LastAdminError", "UserAdmin", "parse_user_id"]

#: The actor of a change made with ``python -m bot users``: no Telegram user.
COMMAND_LINE: int | None = None

_USER_ID = re.compile(r"\d{1,15}")


def parse_user_id(raw: str | None) -> int | None:
    """A Telegram user id as typed (a positive number), or None."""
    value = (raw or "").strip()
    if not _USER_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number > 0 else None


@dataclass(frozen=True, slots=True)
class SeedResult:
    user_id: int
    made_admin: bool  # False: seen before (kept as an admin left it), or already an admin
    is_admin: bool


class UserAdmin:
    """Every change is audited with who made it: an admin's Telegram id, or
    ``COMMAND_LINE`` (user_id NULL, detail saying "command line")."""

    def __init__(
        self, users: UserRepository, audit: AuditLog, strangers: StrangerRepository
    ) -> None:
        self._users = users
        self._audit = audit
        self._strangers = strangers

    async def get(self, user_id: int) -> UserRecord | None:
        return await self._users.get(user_id)

    async def strangers(self, limit: int = 10) -> list[StrangerRecord]:
        return await self._strangers.recent(limit)

    async def allow(
        self, actor: int | None, user_id: int, *, name: str | None = None
    ) -> tuple[UserRecord, bool]:
        """Add a user, or rename one (the role is kept). Returns ``(user, created)``."""
        return await self._put(actor, "allow", user_id, name=name, make_admin=False)

    async def make_admin(
        self, actor: int | None, user_id: int, *, name: str | None = None
    ) -> tuple[UserRecord, bool]:
        """Make ``user_id`` an admin, adding them if needed. Never refused: from the
        command line this is the operator's way back in."""
        return await self._put(actor, "admin", user_id, name=name, make_admin=True)

    async def deny(self, actor: int | None, user_id: int) -> bool:
        """Remove a user and end their open previews. False: no such user.
        Raises ``LastAdminError`` rather than leave no admin."""
        if not await self._users.remove(user_id):
            return False
        await self._audit.record(actor, "deny", _by(actor, str(user_id)))
        return True

    async def set_limits(
        self, actor: int | None, user_id: int, *, per_minute: int | None, per_day: int | None
    ) -> bool:
        """Set a user's own limits (None: the default). False: no such user."""
        if not await self._users.set_limits(user_id, per_minute=per_minute, per_day=per_day):
            return False
        shown = " ".join("-" if v is None else str(v) for v in (per_minute, per_day))
        await self._audit.record(actor, "limits", _by(actor, f"{user_id} {shown}"))
        return True

    async def seed_admins(self, admin_ids: Iterable[int]) -> list[SeedResult]:
        """``ADMIN_IDS`` at start-up: each id is made admin the first time it is seen
        only; an admin removed or demoted since stays so."""
        results: list[SeedResult] = []
        for user_id in admin_ids:
            made = await self._users.seed_admin(user_id)
            if made:
                await self._audit.record(None, "admin", f"{user_id} (ADMIN_IDS)")
            user = await self._users.get(user_id)
            results.append(SeedResult(user_id, made, bool(user and user.is_admin)))
        return results

    async def _put(
        self, actor: int | None, action: str, user_id: int, *, name: str | None, make_admin: bool
    ) -> tuple[UserRecord, bool]:
        cleaned = clean_name(name) if name else None
        existing = await self._users.get(user_id)
        record, created = await self._users.upsert(
            user_id,
            name=cleaned or None,
            is_admin=make_admin or bool(existing and existing.is_admin),
            added_by=actor,
        )
        await self._strangers.forget(user_id)
        await self._audit.record(
            actor, action, _by(actor, f"{user_id} admin={record.is_admin} name={record.name}")
        )
        return record, created

    async def list(self) -> list[UserRecord]:  # last: the name shadows ``list`` below it
        return await self._users.list()


def _by(actor: int | None, detail: str) -> str:
    return detail if actor is not None else f"{detail} (command line)"
