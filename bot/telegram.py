"""The Telegram side: building the ``Bot``, flood-control retries, and the notifier
that edits the bot's answers as delivery states change."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from prometheus_client import Counter

from handlers.jobs import summary_keyboard
from handlers.render import recorded_outcome, status_suffix
from handlers.sending import waiting_job_keyboard
from handlers.texts import Html, Lang, as_lang, state_name, t
from services.jobs import JobProgress
from services.kinds import ErrorKind
from storage.messages import MessageRepository
from storage.models import JobRecord, MessageRecord

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


class KeepResponseModels(BaseRequestMiddleware):
    """aiogram reads each answer with ``Response[method.__returning__]``, a pydantic
    generic model that pydantic caches only weakly: after a garbage collection the next
    call builds it again, about 4 ms (a third of a /send's time in the benchmark).
    Holding a reference per return type, for the session's life, keeps them built."""

    def __init__(self) -> None:
        self._models: dict[Any, Any] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._models:
            self._models[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)


class ApiErrorCounter(BaseRequestMiddleware):
    """Counts the Bot API calls that fail, by method and error class (each try of a
    call repeated after flood control counts)."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except Exception as exc:
            self._counter.labels(type(method).__name__, type(exc).__name__).inc()
            raise


def count_api_errors(bot: Bot, counter: Counter) -> None:
    """Count ``bot``'s failed calls in ``counter`` (``Metrics.telegram_errors``)."""
    bot.session.middleware(ApiErrorCounter(counter))


def build_bot(token: str, api_url: str | None) -> Bot:
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else AiohttpSession()
    )
    session.middleware(KeepResponseModels())
    session.middleware(RetryAfterMiddleware())
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def record_lang(record: MessageRecord) -> Lang:
    return as_lang(record.lang)


#: Telegram's answers that say trying again cannot help (the message or chat is gone,
#: the bot was blocked, the text is already shown): the answer counts as settled
_FINAL_REFUSALS = (TelegramBadRequest, TelegramForbiddenError, TelegramNotFound)


class TelegramNotifier:
    """Implements ``services.status.AnswerNotifier`` for Telegram."""

    def __init__(self, bot: Bot, messages: MessageRepository) -> None:
        self._bot = bot
        self._messages = messages

    async def show_state(self, record: MessageRecord) -> bool:
        if record.chat_id is None or record.reply_message_id is None:
            return True
        try:
            await self._bot.edit_message_text(
                text=recorded_outcome(record, record_lang(record)),
                chat_id=record.chat_id,
                message_id=record.reply_message_id,
            )
        except _FINAL_REFUSALS as exc:  # "message is not modified" included: it shows it
            log.info("#%s: answer not edited: %s", record.id, exc)
        except TelegramAPIError as exc:
            log.info("#%s: could not edit the answer now: %s", record.id, exc)
            return False
        return True

    async def tell_failure(self, record: MessageRecord) -> bool:
        lang = record_lang(record)
        text = t(
            lang,
            "delivery_failed_notice",
            id=record.id,
            phone=record.recipient,
            state=state_name(lang, record.state),
            code=status_suffix(record),
        )
        return await self._tell(record, text, give_up_on_refusal=True)

    async def ask_about_waiting(self, waiting: list[tuple[JobRecord, list[MessageRecord]]]) -> int:
        """A stop came before these sends went out (rows still ``queued``): ask each
        owner whether to send them now, with buttons. Nothing is sent unasked."""
        asked = 0
        for job, rows in waiting:
            if job.chat_id is None or not rows:
                continue
            lang = as_lang(job.lang)
            more = t(lang, "job_waiting_more", count=len(rows) - 1) if len(rows) > 1 else ""
            text = t(
                lang,
                "job_waiting",
                id=rows[0].id,
                phone=rows[0].recipient,
                more=Html(more),
                text=job.text if len(job.text) <= 300 else job.text[:299] + "…",
            )
            keyboard = waiting_job_keyboard(job.id, lang)
            if job.total > 1:  # a job of many: where all of it stands, and its report
                progress = JobProgress(job, await self._messages.job_counts(job.id))
                text += _job_counts(progress, lang)
                keyboard = summary_keyboard(progress, lang)
            try:
                await self._bot.send_message(job.chat_id, text, reply_markup=keyboard)
            except TelegramAPIError as exc:
                log.warning("job %s: could not ask chat %s: %s", job.id, job.chat_id, exc)
                continue
            if job.total > 1:  # its settled rows are told by these counts
                await self._messages.mark_job_notified(job.id)
                await self._retire_progress(job)
            asked += 1
        return asked

    async def _report_job(self, job: JobRecord) -> bool:
        """A job of many whose owner never saw its summary (a stop came first): one
        message with its counts and Report, instead of one per recipient. A job with
        rows still ``queued`` is left to ``ask_about_waiting``."""
        if job.chat_id is None:
            return False
        progress = JobProgress(job, await self._messages.job_counts(job.id))
        if progress.left:
            return False
        lang = as_lang(job.lang)
        text = t(lang, "job_interrupted", id=job.id) + _job_counts(progress, lang)
        try:
            await self._bot.send_message(
                job.chat_id, text, reply_markup=summary_keyboard(progress, lang)
            )
        except TelegramAPIError as exc:
            log.warning("job %s: could not tell chat %s: %s", job.id, job.chat_id, exc)
            return False
        await self._messages.mark_job_notified(job.id)
        await self._retire_progress(job)
        return True

    async def _retire_progress(self, job: JobRecord) -> None:
        """The progress message the last run left: its Stop button has nothing to stop
        (the new message has the buttons that do)."""
        if job.progress_chat_id is None or job.progress_message_id is None:
            return
        try:
            await self._bot.edit_message_reply_markup(
                chat_id=job.progress_chat_id, message_id=job.progress_message_id
            )
        except TelegramAPIError as exc:
            log.info("job %s: its old progress message kept its buttons: %s", job.id, exc)

    async def report_unreported(self, records: list[MessageRecord]) -> int:
        """Tell senders what became of sends whose answer never reached them: the bot
        stopped mid-send (outcome unknown), or the reply itself failed. A sender not
        reached now is tried again at the next start."""
        told = 0
        jobs: dict[int, JobRecord | None] = {}
        singles = []
        for record in records:
            if record.job_id is not None and record.job_id not in jobs:
                jobs[record.job_id] = await self._messages.job(record.job_id)
            job = jobs.get(record.job_id) if record.job_id is not None else None
            if job is None or job.total <= 1:
                singles.append(record)
        for job in jobs.values():
            if job is not None and job.total > 1 and await self._report_job(job):
                told += sum(1 for r in records if r.job_id == job.id)
        for record in singles:
            lang = record_lang(record)
            if record.error_kind == ErrorKind.INTERRUPTED:
                text = t(lang, "recovered_unknown", id=record.id, phone=record.recipient)
            else:
                text = t(lang, "late_answer") + recorded_outcome(record, lang)
            if await self._tell(record, text):
                await self._messages.mark_notified(record.id)
                told += 1
        return told

    async def _tell(
        self, record: MessageRecord, text: str, *, give_up_on_refusal: bool = False
    ) -> bool:
        if record.chat_id is None:
            return give_up_on_refusal
        try:
            await self._bot.send_message(record.chat_id, text)
        except _FINAL_REFUSALS as exc:
            log.warning("#%s: could not write to chat %s: %s", record.id, record.chat_id, exc)
            return give_up_on_refusal
        except TelegramAPIError as exc:
            log.warning("#%s: could not write to chat %s: %s", record.id, record.chat_id, exc)
            return False
        return True


def _job_counts(progress: JobProgress, lang: Lang) -> str:
    return t(
        lang,
        "job_waiting_counts",
        total=progress.total,
        sent=progress.sent,
        failed=progress.failed,
        unknown=progress.unknown,
        queued=progress.queued,
    )
