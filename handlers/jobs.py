"""Bulk jobs in the chat: one progress message edited as a job goes (a bar and the
counts) with a Stop button; at the end the summary in the same message, with a Report
button (a CSV of every recipient) and, after a Stop, Resume / Cancel for what is left.

``follow_job`` is what a handler calls after starting a job (``SendService.submit`` or
``resume``); ``JobDeps.follow`` runs it in the background, and the bot's shutdown
waits for it (``JobFollowers``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from handlers.render import fmt_time
from handlers.sending import safe_answer, waiting_job_keyboard
from handlers.texts import Html, Lang, esc, state_name, t
from services.jobs import STORAGE_ERRORS, JobLine, JobNotYours, JobProgress, JobService
from services.records import MessageRecord, MessageState, UserRecord
from services.sending import JobStarted

log = logging.getLogger(__name__)

#: recipients listed one by one in /status of a job and in a stopped job's summary
LISTED = 20
BAR_WIDTH = 10
#: ``J12``, ``j12``, ``job 12``, ``#J12``: a job in /status (``/status 12`` is a message)
_JOB_REF = re.compile(r"^#?(?:j|job\s*)(\d{1,12})$", re.IGNORECASE)


class JobControl(CallbackData, prefix="jobc"):
    """A button of a job's progress message."""

    action: str  # "stop" or "report"
    job: int


def job_ref(text: str) -> int | None:
    """The job number ``text`` names (``J12``, ``job 12``), or None."""
    match = _JOB_REF.match(text.strip())
    return int(match.group(1)) if match else None


class JobFollowers:
    """The progress followers running now: the bot's shutdown waits for them (they
    end when their sends have), then stops what is left."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def wait(self, grace: float) -> bool:
        """Wait (bounded) for every follower to show its summary. True if all did."""
        pending = {task for task in self._tasks if not task.done()}
        if not pending:
            return True
        _done, pending = await asyncio.wait(pending, timeout=grace)
        return not pending

    async def close(self) -> None:
        """Stop the followers still running (their jobs' rows are settled at the next
        start, and their owners asked about what is left)."""
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


@dataclass(frozen=True, slots=True)
class JobDeps:
    """What the job handlers need, injected as one object (``job_deps``)."""

    jobs: JobService
    interval: float
    followers: JobFollowers = field(default_factory=JobFollowers)

    def follow(
        self, bot: Bot, chat_id: int, message_id: int | None, started: JobStarted, lang: Lang
    ) -> asyncio.Task[None]:
        """Run ``follow_job`` in the background (the chat stays usable meanwhile)."""
        return self.followers.start(
            follow_job(bot, chat_id, message_id, started, lang, self.jobs, interval=self.interval),
            name=f"follow-job-{started.job.id}",
        )


def progress_bar(progress: JobProgress) -> str:
    total = progress.total or 1
    done = progress.total - progress.left
    filled = BAR_WIDTH * done // total
    return "▓" * filled + "░" * (BAR_WIDTH - filled) + f" {100 * done // total}%"


def progress_text(progress: JobProgress, lang: Lang) -> str:
    text = t(
        lang,
        "job_progress",
        id=progress.job.id,
        bar=progress_bar(progress),
        sent=progress.sent,
        failed=progress.failed,
        unknown=progress.unknown,
        left=progress.left,
    )
    if progress.stopped:
        text += t(lang, "job_progress_stopping")
    return text


def _phone_list(rows: list[MessageRecord], lang: Lang) -> str:
    shown = [f"<code>+{esc(r.recipient)}</code>" for r in rows[:LISTED]]
    text = ", ".join(shown)
    if len(rows) > LISTED:
        text += t(lang, "job_more", count=len(rows) - LISTED)
    return text


def summary_text(progress: JobProgress, lang: Lang, queued: list[MessageRecord]) -> str:
    if progress.left and not progress.stopped:  # still going elsewhere (a repeated start)
        return progress_text(progress, lang)
    key = "job_done" if progress.left == 0 else "job_stopped_summary"
    text = t(
        lang,
        key,
        id=progress.job.id,
        total=progress.total,
        sent=progress.sent,
        failed=progress.failed,
        unknown=progress.unknown,
        queued=progress.queued,
    )
    if queued:
        text += t(lang, "job_left_list", phones=Html(_phone_list(queued, lang)))
    return text


def progress_keyboard(job_id: int, lang: Lang) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(lang, "button_job_stop"),
                    callback_data=JobControl(action="stop", job=job_id).pack(),
                )
            ]
        ]
    )


def report_keyboard(job_id: int, lang: Lang) -> InlineKeyboardMarkup:
    """The Report button alone: what stays under a job's message once nothing is left."""
    button = InlineKeyboardButton(
        text=t(lang, "button_job_report"),
        callback_data=JobControl(action="report", job=job_id).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def summary_keyboard(progress: JobProgress, lang: Lang) -> InlineKeyboardMarkup:
    report = InlineKeyboardButton(
        text=t(lang, "button_job_report"),
        callback_data=JobControl(action="report", job=progress.job.id).pack(),
    )
    rows: list[list[InlineKeyboardButton]] = []
    if progress.queued:  # after a Stop: the owner chooses about what is left
        rows.extend(waiting_job_keyboard(progress.job.id, lang).inline_keyboard)
    rows.append([report])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _show(
    bot: Bot,
    chat_id: int,
    message_id: int | None,
    text: str,
    markup: InlineKeyboardMarkup,
) -> int | None:
    """Edit the message (or send one when there is none, or it cannot be edited any
    more); the message's id, or None when Telegram took neither."""
    if message_id is not None:
        try:
            await bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
            return message_id
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return message_id
            log.info("job message %s in chat %s not edited: %s", message_id, chat_id, exc)
        except TelegramAPIError as exc:
            log.info("job message %s in chat %s not edited: %s", message_id, chat_id, exc)
    try:
        sent = await bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramAPIError as exc:
        log.warning("could not write about a job to chat %s: %s", chat_id, exc)
        return None
    return sent.message_id


async def _read(jobs: JobService, job_id: int) -> JobProgress | None:
    try:
        return await jobs.progress(job_id)
    except STORAGE_ERRORS as exc:  # the database refusing: the follower carries on
        log.warning("job %s: could not read its progress: %s", job_id, exc)
        return None


def _from_outcomes(started: JobStarted) -> JobProgress:
    """The counts the send tasks themselves report (when the database cannot be read)."""
    counts: dict[str, int] = {}
    for task in started.tasks:
        if task.done() and not task.cancelled() and task.exception() is None:
            state = str(task.result().record.state)
        else:
            state = str(MessageState.UNKNOWN)
        counts[state] = counts.get(state, 0) + 1
    return JobProgress(started.job, counts)


async def follow_job(
    bot: Bot,
    chat_id: int,
    message_id: int | None,
    started: JobStarted,
    lang: Lang,
    jobs: JobService,
    *,
    interval: float = 3.0,
) -> None:
    """Show a running job in ONE message of ``chat_id``: ``message_id`` is edited (or,
    None, a message is sent), then edited as the job goes, only when its text changes
    and at most once per ``interval`` seconds, with a Stop button; at the end the
    summary, with Report (and, after a Stop, Resume / Cancel). Returns when the job's
    sends have ended; Telegram refusing an edit is logged, never raised."""
    job_id = started.job.id
    loop = asyncio.get_running_loop()
    pending = {task for task in started.tasks if not task.done()}
    try:
        if pending:
            progress = await _read(jobs, job_id) or _from_outcomes(started)
            shown = progress_text(progress, lang)
            message_id = await _show(
                bot, chat_id, message_id, shown, progress_keyboard(job_id, lang)
            )
            if message_id is not None:
                with contextlib.suppress(*STORAGE_ERRORS):  # only for finding it again
                    await jobs.remember_message(job_id, chat_id, message_id)
            next_edit = loop.time() + interval
            while pending:
                _done, pending = await asyncio.wait(
                    pending, timeout=max(0.0, next_edit - loop.time())
                )
                if not pending:
                    break
                current = await _read(jobs, job_id)
                if current is None or message_id is None:
                    next_edit = loop.time() + interval
                    continue
                text = progress_text(current, lang)
                if text != shown:
                    try:
                        await bot.edit_message_text(
                            text=text,
                            chat_id=chat_id,
                            message_id=message_id,
                            reply_markup=progress_keyboard(job_id, lang),
                        )
                        shown = text
                    except TelegramRetryAfter as exc:  # flood control: wait as told
                        next_edit = loop.time() + max(interval, float(exc.retry_after))
                        continue
                    except TelegramAPIError as exc:
                        log.info("job %s: progress not edited: %s", job_id, exc)
                next_edit = loop.time() + interval
        await _finish(bot, chat_id, message_id, started, lang, jobs)
    except asyncio.CancelledError:
        raise
    except Exception:  # a bug here must not take the bot down, nor hide the result
        log.exception("job %s: following it failed", job_id)


async def _finish(
    bot: Bot,
    chat_id: int,
    message_id: int | None,
    started: JobStarted,
    lang: Lang,
    jobs: JobService,
) -> None:
    progress = await _read(jobs, started.job.id) or _from_outcomes(started)
    queued: list[MessageRecord] = []
    if progress.queued:
        with contextlib.suppress(*STORAGE_ERRORS):
            queued = await jobs.queued_rows(started.job.id)
    shown = await _show(
        bot,
        chat_id,
        message_id,
        summary_text(progress, lang, queued),
        summary_keyboard(progress, lang),
    )
    if shown is not None:
        with contextlib.suppress(*STORAGE_ERRORS):  # else told again at the next start
            await jobs.mark_told(started.job.id)
            if shown != message_id:  # sent anew: found there from now on
                await jobs.remember_message(started.job.id, chat_id, shown)


def job_status_text(progress: JobProgress, rows: list[MessageRecord], lang: Lang) -> str:
    """/status of a job: its counts, then each recipient's state as tracking learned
    it (the first ``LISTED``, then how many more)."""
    job = progress.job
    lines = [
        t(
            lang,
            "job_status_title",
            id=job.id,
            at=fmt_time(job.created_at),
            gateway=job.gateway,
            total=progress.total,
            sent=progress.sent,
            delivered=progress.delivered,
            undelivered=progress.undelivered,
            failed=progress.failed,
            unknown=progress.unknown,
            left=progress.left,
        )
    ]
    if progress.stopped and progress.left:
        lines.append(t(lang, "job_status_stopped"))
    for r in rows[:LISTED]:
        name = f" ({esc(r.recipient_name)})" if r.recipient_name else ""
        lines.append(
            t(
                lang,
                "job_status_row",
                phone=r.recipient,
                name=Html(name),
                state=state_name(lang, r.state),
            )
        )
    if len(rows) > LISTED:
        lines.append(t(lang, "job_status_more", count=len(rows) - LISTED))
    return "\n".join(lines)


def job_history_line(line: JobLine, lang: Lang, who: str) -> str:
    """/history: a job of several recipients as one line with its counts."""
    progress = line.progress
    job = progress.job
    preview = job.text if len(job.text) <= 40 else job.text[:39] + "…"
    return t(
        lang,
        "job_history_line",
        id=job.id,
        at=fmt_time(job.created_at),
        total=progress.total,
        gateway=job.gateway,
        sent=progress.sent,
        failed=progress.failed,
        unknown=progress.unknown,
        left=progress.left,
        who=Html(who),
        text=" ".join(preview.split()),
    )


def create_jobs_router() -> Router:
    router = Router(name="jobs")

    @router.callback_query(JobControl.filter(F.action == "stop"))
    async def on_stop(
        query: CallbackQuery,
        callback_data: JobControl,
        lang: Lang,
        user: UserRecord,
        job_deps: JobDeps,
    ) -> None:
        try:
            progress = await job_deps.jobs.stop(callback_data.job, user.user_id)
        except JobNotYours:
            await safe_answer(query, t(lang, "job_not_yours"), show_alert=True)
            return
        if progress.in_flight:
            await safe_answer(query, t(lang, "job_stopping"))
        elif progress.left:  # nothing under way: what is left waits for the owner
            await safe_answer(query, t(lang, "job_stopped_waiting", queued=progress.queued))
        else:
            await safe_answer(query, t(lang, "job_nothing_left"))

    @router.callback_query(JobControl.filter(F.action == "report"))
    async def on_report(
        query: CallbackQuery,
        callback_data: JobControl,
        lang: Lang,
        user: UserRecord,
        job_deps: JobDeps,
    ) -> None:
        job_id = callback_data.job
        try:
            data = await job_deps.jobs.report_csv(job_id, user.user_id, admin=user.is_admin)
        except JobNotYours:
            await safe_answer(query, t(lang, "job_not_yours"), show_alert=True)
            return
        await safe_answer(query, t(lang, "job_report_sending"))
        chat_id = query.message.chat.id if query.message is not None else user.user_id
        if query.bot is None:
            return
        try:
            await query.bot.send_document(
                chat_id,
                BufferedInputFile(data, filename=f"job-{job_id}.csv"),
                caption=t(lang, "job_report_caption", id=job_id),
            )
        except TelegramAPIError as exc:
            log.warning("job %s: could not send the report to chat %s: %s", job_id, chat_id, exc)

    return router


async def answer_job_status(
    message: Message, job_id: int, lang: Lang, user: UserRecord, job_deps: JobDeps
) -> None:
    """/status J12: the job's counts and its recipients' states (its owner or an admin)."""
    jobs = job_deps.jobs
    try:
        rows = await jobs.rows(job_id, user.user_id, admin=user.is_admin)
        progress = await jobs.progress(job_id)
    except JobNotYours:
        await message.answer(t(lang, "status_job_not_found", ref=f"J{job_id}"))
        return
    await message.answer(job_status_text(progress, rows, lang))
