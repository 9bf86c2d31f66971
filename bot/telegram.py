"""The Telegram side: building the ``Bot``, flood-control retries, and the notifier
that edits the bot's answers as delivery states change."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from handlers.render import recorded_outcome, sent_text, status_suffix
from handlers.texts import Lang, state_name, t
from storage.messages import MessageRepository
from storage.models import MessageRecord, MessageState

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Waits out Telegram's flood control (HTTP 429 ``retry_after``) and repeats the
    call. A 429 means Telegram did not perform the call, so repeating it is safe."""

    def __init__(self, attempts: int = 3, max_wait: float = 60.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.warning(
                    "Telegram flood control on %s: waiting %s s",
                    type(method).__name__,
                    exc.retry_after,
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover


def build_bot(token: str, api_url: str | None) -> Bot:
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else AiohttpSession()
    )
    session.middleware(RetryAfterMiddleware())
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def record_lang(record: MessageRecord) -> Lang:
    return "en" if record.lang == "en" else "ru"


class TelegramNotifier:
    """Implements ``services.status.DeliveryNotifier`` for Telegram."""

    def __init__(self, bot: Bot, messages: MessageRepository) -> None:
        self._bot = bot
        self._messages = messages

    async def delivery_changed(self, record: MessageRecord, previous: MessageState) -> None:
        lang = record_lang(record)
        if record.chat_id is not None and record.reply_message_id is not None:
            try:
                await self._bot.edit_message_text(
                    text=sent_text(record, lang),
                    chat_id=record.chat_id,
                    message_id=record.reply_message_id,
                )
            except TelegramAPIError as exc:
                log.info("#%s: could not edit the answer: %s", record.id, exc)
        if record.state in (MessageState.REJECTED, MessageState.EXPIRED, MessageState.DELETED):
            await self._tell(
                record,
                t(
                    lang,
                    "delivery_failed_notice",
                    id=record.id,
                    phone=record.recipient,
                    state=state_name(lang, record.state),
                    code=status_suffix(record),
                ),
            )

    async def report_unreported(self, records: list[MessageRecord]) -> int:
        """Tell senders what became of sends whose answer never reached them: the bot
        stopped mid-send (outcome unknown), or the reply itself failed. A sender not
        reached now is tried again at the next start."""
        told = 0
        for record in records:
            lang = record_lang(record)
            if record.error_kind == "Interrupted":
                text = t(lang, "recovered_unknown", id=record.id, phone=record.recipient)
            else:
                text = t(lang, "late_answer") + recorded_outcome(record, lang)
            if await self._tell(record, text):
                await self._messages.mark_notified(record.id)
                told += 1
        return told

    async def _tell(self, record: MessageRecord, text: str) -> bool:
        if record.chat_id is None:
            return False
        try:
            await self._bot.send_message(record.chat_id, text)
        except TelegramAPIError as exc:
            log.warning("#%s: could not write to chat %s: %s", record.id, record.chat_id, exc)
            return False
        return True
