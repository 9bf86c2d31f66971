"""Who gets through to the bot, asked by its access middleware for every update: a
user on the list, or a stranger who is counted (and answered at most once per
period); and which updates were handled before (Telegram may deliver one again)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

from storage.audit import AuditLog
from storage.db import utcnow
from storage.models import UserRecord
from storage.strangers import Refusal, StrangerRepository
from storage.updates import ProcessedUpdates
from storage.users import UserRepository, clean_name

__all__ = ["Access", "Refusal", "SeenUpdates"]


class Access:
    def __init__(
        self,
        users: UserRepository,
        audit: AuditLog,
        strangers: StrangerRepository,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._users = users
        self._audit = audit
        self._strangers = strangers
        self._clock = clock

    async def member(self, user_id: int, telegram_name: str = "") -> UserRecord | None:
        """The user if they are on the list, else None. A user without a name gets
        ``telegram_name`` (their name in Telegram) the first time they write; a name an
        admin set is never overwritten."""
        user = await self._users.get(user_id)
        if user is None or user.name:
            return user
        name = clean_name(telegram_name)
        if name and await self._users.set_name_if_empty(user.user_id, name):
            return dataclasses.replace(user, name=name)
        return user

    async def refuse(
        self, user_id: int, detail: str, *, can_answer: bool, answer_every: timedelta
    ) -> Refusal:
        """Count one refused update of a stranger (the first one is audited);
        ``answer`` says whether to answer it (at most once per ``answer_every``)."""
        refusal = await self._strangers.note(
            user_id, detail, self._clock(), can_answer=can_answer, answer_every=answer_every
        )
        if refusal.first_time:
            await self._audit.record(user_id, "denied", detail)
        return refusal


class SeenUpdates:
    def __init__(self, updates: ProcessedUpdates) -> None:
        self._updates = updates

    async def first_time(self, update_id: int) -> bool:
        """Record the update; False when it was handled before (a repeat to ignore)."""
        return await self._updates.first_time(update_id)
