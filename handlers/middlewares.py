"""Outer middlewares on every update, before any filter or handler.

* ``DedupeMiddleware``: an update seen before (by ``update_id``) is dropped.
* ``AccessMiddleware``: only users on the list get through, for every kind of
  update; anyone else gets one short answer with their id, and the attempt is
  written to the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from handlers.texts import lang_of, t
from storage.audit import AuditLog
from storage.updates import ProcessedUpdates
from storage.users import UserRepository

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlightMiddleware(BaseMiddleware):
    """Remembers the updates being handled, so that shutdown can let them finish
    (aiogram stops polling on SIGTERM but does not wait for running handlers)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def wait(self, grace: float) -> bool:
        """Wait (bounded) for the handlers running now; True if all finished."""
        pending = {t for t in self._tasks if t is not asyncio.current_task() and not t.done()}
        if not pending:
            return True
        _done, not_done = await asyncio.wait(pending, timeout=grace)
        return not not_done


class DedupeMiddleware(BaseMiddleware):
    def __init__(self, updates: ProcessedUpdates) -> None:
        self._updates = updates

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update) and not await self._updates.first_time(event.update_id):
            log.info("update %s was delivered again: ignored", event.update_id)
            return None
        return await handler(event, data)


class AccessMiddleware(BaseMiddleware):
    def __init__(self, users: UserRepository, audit: AuditLog) -> None:
        self._users = users
        self._audit = audit

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        from_user: User | None = data.get("event_from_user")
        if from_user is None or from_user.is_bot:
            return None  # channel posts and the like: nobody to authorise
        data["lang"] = lang_of(from_user.language_code)
        user = await self._users.get(from_user.id)
        if user is None:
            await self._refuse(event, from_user, data)
            return None
        data["user"] = user
        return await handler(event, data)

    async def _refuse(self, event: TelegramObject, from_user: User, data: dict[str, Any]) -> None:
        lang = data["lang"]
        inner = event.event if isinstance(event, Update) else event
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        detail = kind
        if isinstance(inner, Message) and inner.text:
            detail += ": " + inner.text[:100]
        elif isinstance(inner, CallbackQuery) and inner.data:
            detail += ": " + inner.data[:64]
        await self._audit.record(from_user.id, "denied", detail)
        log.info("refused user %s (%s)", from_user.id, kind)
        try:
            if isinstance(inner, Message) and inner.chat.type == "private":
                await inner.answer(t(lang, "not_allowed", user_id=from_user.id))
            elif isinstance(inner, CallbackQuery):
                await inner.answer(
                    t(lang, "not_allowed_short", user_id=from_user.id), show_alert=True
                )
        except TelegramAPIError as exc:  # e.g. a callback query too old to answer
            log.info("could not answer refused user %s: %s", from_user.id, exc)
