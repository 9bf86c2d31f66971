"""A fresh ``Dispatcher`` with its routers, middlewares and dependencies.

No module-level routers or singletons: every call builds everything anew, so
tests can build as many dispatchers as they like.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import ErrorEvent

from bot.core import Core
from handlers.admin import create_admin_router
from handlers.common import create_common_router, create_fallback_router
from handlers.contacts import create_contacts_router
from handlers.info import create_info_router
from handlers.jobs import JobDeps, create_jobs_router
from handlers.middlewares import AccessMiddleware, DedupeMiddleware, InFlightMiddleware
from handlers.sending import SendDeps, SendOptions, create_send_router
from handlers.texts import lang_of, t
from handlers.tokens import create_tokens_router
from services.access import Access, SeenUpdates
from services.replies import Replies
from services.status import DeliveryTracker
from storage.db import STORAGE_ERRORS

log = logging.getLogger(__name__)


def create_dispatcher(core: Core, tracker: DeliveryTracker) -> Dispatcher:
    settings = core.settings
    limiter = core.limits
    previews = core.previews
    job_deps = JobDeps(jobs=core.jobs, interval=settings.progress_edit_seconds)
    send_deps = SendDeps(
        sender=core.sender,
        limiter=limiter,
        previews=previews,
        replies=Replies(core.store.messages),
        tracker=tracker,
        options=SendOptions(
            confirmation=settings.send_confirmation,
            bulk_confirm_over=settings.bulk_confirm_over,
        ),
        recipients=core.recipients,
        jobs=job_deps,
    )
    dp = Dispatcher(
        storage=MemoryStorage(),
        send_deps=send_deps,
        gateways=core.gateways,
        balance_service=core.balances,
        status_service=core.status,
        limiter=limiter,
        tracker=tracker,
        user_admin=core.users,
        contact_book=core.contacts,
        job_deps=job_deps,
        token_service=core.tokens,
    )
    in_flight = InFlightMiddleware()
    dp["in_flight"] = in_flight  # shutdown waits for the handlers it tracks
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(DedupeMiddleware(SeenUpdates(core.store.updates)))
    dp.update.outer_middleware(
        AccessMiddleware(Access(core.store.users, core.store.audit, core.store.strangers))
    )
    dp.include_routers(
        create_common_router(),
        create_admin_router(),
        create_contacts_router(),  # before /send's flow: a contact card starts a send anew
        create_tokens_router(),
        create_send_router(),
        create_jobs_router(),
        create_info_router(),
        create_fallback_router(),
    )
    dp.errors.register(on_error)
    return dp


async def on_error(event: ErrorEvent) -> bool:
    """Nothing crashes the bot: log the bug, tell the person in one sentence. A
    database that refuses writes (disk full, read-only, locked) is said as such: the
    request was not done, and nothing was sent that the person was not told about."""
    storage = isinstance(event.exception, STORAGE_ERRORS)
    if storage:
        log.error("update %s: the database refused: %s", event.update.update_id, event.exception)
    else:
        log.error(
            "error while handling update %s", event.update.update_id, exc_info=event.exception
        )
    query = event.update.callback_query
    message = event.update.message or (query.message if query else None)
    user = event.update.event.from_user if hasattr(event.update.event, "from_user") else None
    lang = lang_of(user.language_code if user else None)
    text = t(lang, "storage_unavailable" if storage else "internal_error")
    if query is not None:
        with contextlib.suppress(TelegramAPIError):  # no spinner left on the phone
            await query.answer()
    if message is not None and message.bot is not None:
        try:
            await message.bot.send_message(message.chat.id, text)
        except TelegramAPIError:  # the error path must not raise in turn
            log.warning("could not report the error to chat %s", message.chat.id)
    return True
