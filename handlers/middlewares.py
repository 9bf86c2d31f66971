"""Outer middlewares on every update, before any filter or handler.

* ``DedupeMiddleware``: an update seen before (by ``update_id``) is dropped.
* ``AccessMiddleware``: only users on the list get through, for every kind of
  update. A stranger is answered (with their id) at most once an hour, and counted
  in one row of their own (``strangers``); the audit log gets one row per stranger.
  A user without a name gets their Telegram name the first time they write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from handlers.texts import lang_of, t
from services.access import Access, SeenUpdates

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

#: a stranger gets at most one answer in this time, however much they write
STRANGER_ANSWER_EVERY = timedelta(hours=1)


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

    def track(self, task: asyncio.Task[Any]) -> None:
        """Wait at shutdown for ``task`` too: work a handler left running when it
        returned (the answer to a job of several recipients)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self, grace: float) -> bool:
        """Wait (bounded) for the handlers running now; True if all finished."""
        pending = {t for t in self._tasks if t is not asyncio.current_task() and not t.done()}
        if not pending:
            return True
        _done, not_done = await asyncio.wait(pending, timeout=grace)
        return not not_done


class DedupeMiddleware(BaseMiddleware):
    def __init__(self, updates: SeenUpdates) -> None:
        self._updates = updates

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update) and not await self._updates.first_time(event.update_id):
            log.info(
                "update %s was delivered again: ignored",
                event.update_id,
                extra={"update_id": event.update_id, "result": "duplicate"},
            )
            return None
        return await handler(event, data)


class AccessMiddleware(BaseMiddleware):
    def __init__(self, access: Access) -> None:
        self._access = access

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        from_user: User | None = data.get("event_from_user")
        if from_user is None or from_user.is_bot:
            return None  # channel posts and the like: nobody to authorise
        data["lang"] = lang_of(from_user.language_code)
        # An admin from ADMIN_IDS (or one added without a name) is shown by the name
        # Telegram has for them; a name an admin set is never overwritten.
        user = await self._access.member(from_user.id, telegram_name(from_user))
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
        private = isinstance(inner, Message) and inner.chat.type == "private"
        refusal = await self._access.refuse(
            from_user.id,
            detail,
            can_answer=private or isinstance(inner, CallbackQuery),
            answer_every=STRANGER_ANSWER_EVERY,
        )
        log.info(
            "refused user %s (%s), %d time(s)%s",
            from_user.id,
            kind,
            refusal.record.count,
            "" if refusal.answer else ", not answered again within the hour",
            extra={"user_id": from_user.id, "result": "refused"},
        )
        try:
            if isinstance(inner, Message) and refusal.answer:
                await inner.answer(t(lang, "not_allowed", user_id=from_user.id))
            elif isinstance(inner, CallbackQuery):
                # Always answered: Telegram shows a spinner on the button otherwise.
                if refusal.answer:
                    await inner.answer(
                        t(lang, "not_allowed_short", user_id=from_user.id), show_alert=True
                    )
                else:
                    await inner.answer()
        except TelegramAPIError as exc:  # e.g. a callback query too old to answer
            log.info("could not answer refused user %s: %s", from_user.id, exc)


def telegram_name(from_user: User) -> str:
    """ "First Last" as Telegram has it, else "@username", else ""."""
    full = " ".join(p for p in (from_user.first_name, from_user.last_name) if p and p.strip())
    if full.strip():
        return full
    return f"@{from_user.username}" if from_user.username else ""
