"""/send: one line, or a guided flow, to one recipient or several (a list, names and
groups, a .txt/.csv file); a preview with "Send" and "Cancel" buttons."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from handlers.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentEntries,
    DocumentRefused,
    is_list_file,
    read_entries,
)
from handlers.middlewares import InFlightMiddleware
from handlers.parsing import parse_send_args
from handlers.render import entry_reason, input_error, send_outcome
from handlers.texts import Html, Lang, amount_with_unit, esc, state_name, t, wait_text
from services.domain import AmbiguousPhone, InvalidInput
from services.limits import LimitExceeded, LimitHit, RateLimiter
from services.previews import (
    PARTS_UNIT,
    Balance,
    JobStarted,
    OpenedPreview,
    PreviewKind,
    PreviewResult,
    PreviewService,
    balance_covers,
)
from services.recipients import (
    Recipient,
    RecipientResolver,
    Resolution,
    looks_like_number,
    name_key,
    split_entries,
)
from services.records import MessageState, UserRecord
from services.replies import Replies
from services.sending import JobNotYours, Origin, PreparedSend, SendOutcome, SendService
from services.status import DeliveryTracker

if TYPE_CHECKING:  # handlers.jobs imports this module
    from handlers.jobs import JobDeps

log = logging.getLogger(__name__)


#: How many refused entries, duplicates or recipients a reply lists before "and K more",
#: and in how many characters at most (each list; a reply has 4096).
LIST_SHOWN = 10
LIST_CHARS = 800
#: An entry as typed is shown cut to this length.
ENTRY_CHARS = 40


@dataclass(frozen=True, slots=True)
class SendOptions:
    confirmation: bool
    #: more recipients than this always get a preview, whatever ``confirmation`` says
    bulk_confirm_over: int = 1


@dataclass(frozen=True, slots=True)
class SendDeps:
    """What the send handlers need, injected as one object (``send_deps``)."""

    sender: SendService
    limiter: RateLimiter
    previews: PreviewService
    replies: Replies
    tracker: DeliveryTracker
    options: SendOptions
    #: numbers, contact names and groups -> unique numbers (``core.recipients``)
    recipients: RecipientResolver
    #: a job of several recipients is followed in one progress message (Stop, Report)
    jobs: JobDeps


class SendFlow(StatesGroup):
    phone = State()
    text = State()


class PreviewAction(CallbackData, prefix="pv"):
    action: str  # "send" or "cancel"
    token: str


class JobAction(CallbackData, prefix="job"):
    """The owner's choice about what a stopped job left unsent."""

    action: str  # "resume" or "cancel"
    job: int


def waiting_job_keyboard(job_id: int, lang: Lang) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(lang, "button_job_resume"),
                    callback_data=JobAction(action="resume", job=job_id).pack(),
                ),
                InlineKeyboardButton(
                    text=t(lang, "button_job_cancel"),
                    callback_data=JobAction(action="cancel", job=job_id).pack(),
                ),
            ]
        ]
    )


def limit_text(hit: LimitHit, lang: Lang) -> str:
    seconds = int(hit.reset_in.total_seconds()) + 1
    wait = wait_text(lang, seconds)
    minute = hit.window <= timedelta(minutes=1)
    window = t(lang, "per_minute") if minute else t(lang, "per_day")
    what = t(lang, "limit_sends" if minute else "limit_sms")
    return t(lang, "limit_hit", limit=hit.limit, what=what, window=window, wait=wait)


def origin_of(user: UserRecord, chat_id: int | None, lang: Lang) -> Origin:
    return Origin(
        source="telegram",
        user_id=user.user_id,
        user_name=user.name or None,
        chat_id=chat_id,
        lang=lang,
    )


def create_send_router() -> Router:
    router = Router(name="send")

    async def start_send(
        message: Message,
        lang: Lang,
        user: UserRecord,
        deps: SendDeps,
        state: FSMContext,
        provider: str | None,
        phone: str,
        text: str,
    ) -> None:
        try:
            prepared = deps.sender.prepare(phone, text, provider)
        except InvalidInput as exc:
            await message.answer(input_error(exc, lang))
            return
        hit = await deps.limiter.check(user.user_id)
        if hit is not None:
            await message.answer(limit_text(hit, lang))
            return
        await state.clear()
        if deps.options.confirmation:
            opened = await deps.previews.open(
                prepared, user_id=user.user_id, chat_id=message.chat.id
            )
            await show_preview(message, lang, opened)
            return
        key = f"tg:{message.chat.id}:{message.message_id}"
        try:
            outcome = await deps.sender.send(
                prepared,
                origin_of(user, message.chat.id, lang),
                idempotency_key=key,
                quotas=await deps.limiter.quotas(user.user_id),
            )
        except LimitExceeded as exc:  # the authoritative check, atomic with the record
            await message.answer(limit_text(exc.hit, lang))
            return
        await deliver_outcome(message, outcome, lang, deps)

    @router.message(Command("send"))
    async def cmd_send(
        message: Message,
        command: CommandObject,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
        state: FSMContext,
        in_flight: InFlightMiddleware,
    ) -> None:
        sender = send_deps.sender
        args = parse_send_args(command.args, sender.gateways.names)
        if args.ambiguous:  # never guess which number was meant
            await message.answer(input_error(AmbiguousPhone(args.phone, args.readings), lang))
            return
        entries = args.entries
        if not entries and args.phone[:1].isalpha():  # a contact's or a group's name
            entries = (args.phone,)
        if entries:
            job = JobRequest(message, lang, user, send_deps, state, in_flight)
            unsure = await name_may_go_on(send_deps, command.args or "", entries[-1], args.text)
            await start_entries(job, args.provider, entries, args.text, unsure=unsure)
            return
        if not args.phone:
            await state.set_state(SendFlow.phone)
            # a fresh flow: nothing of an earlier one (a list at its text step) is kept
            await state.set_data({"provider": args.provider, "member_since": _member_since(user)})
            await message.answer(t(lang, "ask_phone"))
            return
        if not args.text:
            try:
                sender.gateways.get(args.provider)
                number = sender.recipient(args.phone)
            except InvalidInput as exc:
                await message.answer(input_error(exc, lang))
                return
            await state.set_state(SendFlow.text)
            await state.set_data(
                {"provider": args.provider, "phone": number, "member_since": _member_since(user)}
            )
            await message.answer(t(lang, "ask_text", phone=number))
            return
        await start_send(
            message, lang, user, send_deps, state, args.provider, args.phone, args.text
        )

    @router.message(SendFlow.phone, F.text, ~F.text.startswith("/"))
    async def flow_phone(
        message: Message,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
        state: FSMContext,
        in_flight: InFlightMiddleware,
    ) -> None:
        if not await _flow_still_theirs(message, lang, user, state):
            return
        typed = (message.text or "").strip()
        if any(sep in typed for sep in ",;\n") or typed[:1].isalpha():
            # a list, or a contact's or a group's name
            data = await state.get_data()
            job = JobRequest(message, lang, user, send_deps, state, in_flight)
            await start_entries(job, data.get("provider"), tuple(split_entries(typed)), "")
            return
        try:
            number = send_deps.sender.recipient(message.text or "")
        except InvalidInput as exc:
            await message.answer(input_error(exc, lang))
            return
        await state.update_data(phone=number, recipients=None)
        await state.set_state(SendFlow.text)
        await message.answer(t(lang, "ask_text", phone=number))

    @router.message(SendFlow.text, F.text, ~F.text.startswith("/"))
    async def flow_text(
        message: Message,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
        state: FSMContext,
        in_flight: InFlightMiddleware,
    ) -> None:
        if not await _flow_still_theirs(message, lang, user, state):
            return
        data = await state.get_data()
        if data.get("recipients"):  # several, or from the book: asked for the text
            recipients = [Recipient(str(n), name, "") for n, name in data["recipients"]]
            job = JobRequest(message, lang, user, send_deps, state, in_flight)
            await send_many(
                job,
                data.get("provider"),
                recipients,
                message.text or "",
                data.get("removed", ""),
                must_confirm=bool(data.get("refused")) or bool(data.get("unsure")),
            )
            return
        await start_send(
            message,
            lang,
            user,
            send_deps,
            state,
            data.get("provider"),
            "+" + str(data.get("phone", "")),
            message.text or "",
        )

    # outside any flow or within /send's own: another flow may take files of its own
    @router.message(StateFilter(None, SendFlow.phone, SendFlow.text), F.document)
    async def on_document(
        message: Message,
        bot: Bot,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
        state: FSMContext,
        in_flight: InFlightMiddleware,
    ) -> None:
        """A ``.txt`` or ``.csv`` list of recipients, the text as its caption (or asked
        for when there is none), in or out of the guided flow."""
        if await state.get_state() is not None and not await _flow_still_theirs(
            message, lang, user, state
        ):
            return
        try:
            listed = await _read_document(message, bot)
        except DocumentRefused as exc:
            reason = t(lang, exc.key, **exc.params)
            await message.answer(t(lang, "invalid_input", reason=Html(reason)))
            return
        resolver = send_deps.recipients
        if listed.header and await resolver.names_someone(listed.header):
            # a contact's or a group's name: the first recipient, not a header
            listed = DocumentEntries([listed.header, *listed.entries])
        note = t(lang, "doc_header_skipped", row=listed.header) if listed.header else ""
        provider = (await state.get_data()).get("provider") if await state.get_state() else None
        job = JobRequest(message, lang, user, send_deps, state, in_flight)
        await start_entries(
            job,
            provider,
            tuple(listed.entries),
            (message.caption or "").strip(),
            note=note,
            unsure=listed.header is not None,  # the skipped first row may be a recipient
        )

    @router.message(SendFlow.phone, ~F.text)
    @router.message(SendFlow.text, ~F.text)
    async def flow_not_text(message: Message, lang: Lang) -> None:
        await message.answer(t(lang, "need_text_message"))

    @router.callback_query(PreviewAction.filter(F.action == "send"))
    async def on_send(
        query: CallbackQuery,
        callback_data: PreviewAction,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
        in_flight: InFlightMiddleware,
    ) -> None:
        target = query.message if isinstance(query.message, Message) else None
        result = await send_deps.previews.confirm(
            callback_data.token,
            user.user_id,
            origin_of(user, None, lang),  # the chat is the preview's
        )
        if result.kind is PreviewKind.STARTED and result.job is not None:
            await safe_answer(query, t(lang, "sending"))
            if target is None and query.bot is not None and result.chat_id is not None:
                try:  # the preview cannot be edited: answer in its chat instead
                    target = await query.bot.send_message(
                        result.chat_id, t(lang, "bulk_sending", count=len(result.job.records))
                    )
                except TelegramAPIError as exc:
                    log.warning("job #%s: could not reply: %s", result.job.job.id, exc)
            await answer_job(
                target, result.job, lang, send_deps, in_flight, query.bot, result.chat_id
            )
            return
        if result.kind is not PreviewKind.STARTED or result.started is None:
            await refuse_preview(query, result, lang)
            return
        await safe_answer(query, t(lang, "sending"))
        if target is not None:
            await safe_edit(target, target.html_text + "\n\n" + t(lang, "sending"))
        outcome = await result.started.outcome()
        text = send_outcome(outcome, lang)
        shown = outcome.record.state
        if target is not None and await safe_edit(target, text):
            await record_reply(send_deps, outcome, target.chat.id, target.message_id, shown)
        elif query.bot is not None and result.chat_id is not None:
            try:
                sent = await query.bot.send_message(result.chat_id, text)
            except TelegramAPIError as exc:
                log.warning("send #%s: could not reply: %s", outcome.record.id, exc)
            else:
                await record_reply(send_deps, outcome, sent.chat.id, sent.message_id, shown)
        send_deps.tracker.wake()

    @router.callback_query(JobAction.filter(F.action == "resume"))
    async def on_resume(
        query: CallbackQuery,
        callback_data: JobAction,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
        job_deps: JobDeps,
    ) -> None:
        try:
            started = await send_deps.sender.resume(callback_data.job, user.user_id)
        except JobNotYours:
            await safe_answer(query, t(lang, "job_not_yours"), show_alert=True)
            return
        except InvalidInput as exc:  # its gateway is no longer configured here
            await safe_answer(query, t(lang, "job_gateway_gone"), show_alert=True)
            if isinstance(query.message, Message):
                await safe_edit(query.message, input_error(exc, lang), query.message.reply_markup)
            return
        target = query.message if isinstance(query.message, Message) else None
        if not started.records:
            await safe_answer(query, t(lang, "job_nothing_left"), show_alert=True)
            if target is not None:
                await safe_edit(target, t(lang, "job_nothing_left"))
            return
        await safe_answer(query, t(lang, "sending"))
        if started.job.total > 1:
            # A job of many goes on in the background, in this one message.
            if query.bot is not None:  # always, for an update the dispatcher feeds
                chat_id = target.chat.id if target is not None else user.user_id
                job_deps.follow(
                    query.bot, chat_id, target.message_id if target else None, started, lang
                )
            return
        if target is not None:
            await safe_edit(target, t(lang, "sending"))
        outcome = (await started.outcomes())[0]
        if target is not None and await safe_edit(target, send_outcome(outcome, lang)):
            await record_reply(
                send_deps, outcome, target.chat.id, target.message_id, outcome.record.state
            )
        send_deps.tracker.wake()

    @router.callback_query(JobAction.filter(F.action == "cancel"))
    async def on_job_cancel(
        query: CallbackQuery,
        callback_data: JobAction,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
    ) -> None:
        try:
            cancelled = await send_deps.sender.cancel(callback_data.job, user.user_id)
        except JobNotYours:
            await safe_answer(query, t(lang, "job_not_yours"), show_alert=True)
            return
        from handlers.jobs import report_keyboard  # handlers.jobs imports this module

        text = t(lang, "job_cancelled", count=len(cancelled))
        await safe_answer(query, t(lang, "cancelled"))
        if isinstance(query.message, Message):  # the job's CSV stays to be had
            await safe_edit(
                query.message,
                text if cancelled else t(lang, "job_nothing_left"),
                report_keyboard(callback_data.job, lang),
            )

    @router.callback_query(PreviewAction.filter(F.action == "cancel"))
    async def on_cancel(
        query: CallbackQuery,
        callback_data: PreviewAction,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
    ) -> None:
        result = await send_deps.previews.cancel(callback_data.token, user.user_id)
        if result.kind is not PreviewKind.CANCELLED or not result.now:
            await refuse_preview(query, result, lang)
            return
        await safe_answer(query, t(lang, "cancelled"))
        if isinstance(query.message, Message):
            await safe_edit(query.message, t(lang, "preview_cancelled_text"))

    return router


@dataclass(frozen=True, slots=True)
class JobRequest:
    """Who asked for a send of several recipients, and where to answer."""

    message: Message
    lang: Lang
    user: UserRecord
    deps: SendDeps
    state: FSMContext
    in_flight: InFlightMiddleware


async def start_entries(
    job: JobRequest,
    provider: str | None,
    entries: Sequence[str],
    text: str,
    *,
    note: str = "",
    unsure: bool = False,
) -> None:
    """Entries (numbers, names, groups) -> recipients; then the text is asked for, or
    the send goes on. Nothing is dropped silently: what was removed or refused is
    said with the next answer. ``unsure``: what was meant may differ from what was
    read (a preview is shown, whatever the settings)."""
    message, lang, deps = job.message, job.lang, job.deps
    resolver = deps.recipients
    try:
        resolution = await resolver.resolve(entries)
    except InvalidInput as exc:  # TooManyRecipients: nothing is cut silently
        await message.answer(input_error(exc, lang))
        return
    if not resolution.recipients:
        if len(resolution.refused) == 1 and not note:  # one entry: answered as before
            await message.answer(input_error(resolution.refused[0].error, lang))
        else:
            told = Html(removed_text(resolution, lang) + note)
            await message.answer(t(lang, "bulk_nobody", removed=told))
        return
    removed = removed_text(resolution, lang) + note
    if not text:
        try:
            deps.sender.gateways.get(provider)
        except InvalidInput as exc:
            await message.answer(input_error(exc, lang))
            return
        await job.state.set_state(SendFlow.text)
        await job.state.set_data(
            {
                "provider": provider,
                "recipients": [[r.number, r.name] for r in resolution.recipients],
                "removed": removed,
                "refused": len(resolution.refused),
                "unsure": unsure,
                "member_since": _member_since(job.user),
            }
        )
        count = len(resolution.recipients)
        await message.answer(t(lang, "bulk_ask_text", count=count, removed=Html(removed)))
        return
    await send_many(
        job,
        provider,
        resolution.recipients,
        text,
        removed,
        must_confirm=bool(resolution.refused) or unsure,
    )


async def name_may_go_on(deps: SendDeps, typed: str, last: str, text: str) -> bool:
    """Whether the text may hold more of the recipients: a name typed last before the
    text on the same line (``/send Petr Ivanov, oncall Disk full`` reads ``Petr`` and
    the text ``Ivanov, oncall Disk full``), when that line of the text goes on like a
    list (a comma or a semicolon), or the name and the text's first words name someone
    in the book. Then the send is shown for a tap: never sent to whom was not meant."""
    line = text.partition("\n")[0].strip()
    if not line or looks_like_number(last):
        return False
    if not typed.partition("\n")[0].rstrip().endswith(line):  # the text starts below
        return False
    if any(sep in line for sep in ",;"):
        return True
    book = deps.recipients.book
    if book is None:
        return False
    words = line.split()[:3]
    keys = {name_key(" ".join([last, *words[:count]])) for count in range(1, len(words) + 1)}
    keys = {key for key in keys if key.isprintable()}  # never odd bytes to the database
    return bool(keys) and bool(await book.lookup(keys))


async def send_many(
    job: JobRequest,
    provider: str | None,
    recipients: Sequence[Recipient],
    text: str,
    removed: str,
    *,
    must_confirm: bool,
) -> None:
    """One text to several recipients (or one from the book): a preview to tap when
    asked for, when there are more than BULK_CONFIRM_OVER, or when an entry was
    refused (what was meant is then unsure); else one job at once."""
    message, lang, deps, user = job.message, job.lang, job.deps, job.user
    try:
        prepared = deps.sender.prepare(recipients[0].number, text, provider, international=True)
    except InvalidInput as exc:
        await message.answer(input_error(exc, lang))
        return
    hit = await deps.limiter.check(user.user_id, len(recipients))  # the day counts each SMS
    if hit is not None:
        if hit.window > timedelta(minutes=1) and len(recipients) > hit.limit:
            # more than the whole day's budget: no wait frees enough of it
            text = t(lang, "limit_list_too_big", count=len(recipients), limit=hit.limit)
            await message.answer(text)
            return
        await message.answer(limit_text(hit, lang))
        return
    await job.state.clear()
    total = prepared.text.parts * len(recipients)
    balance = await deps.previews.last_balance(prepared.provider)
    if balance_covers(balance, total) is False:
        # never started when the known balance cannot pay for it: no Send button
        body = bulk_preview_text(lang, prepared, recipients, balance, removed)
        body += t(lang, "bulk_balance_too_low", balance=_balance_text(lang, balance), total=total)
        await message.answer(body)
        return
    options = deps.options
    if options.confirmation or must_confirm or len(recipients) > options.bulk_confirm_over:
        opened = await deps.previews.open(
            prepared, user_id=user.user_id, chat_id=message.chat.id, recipients=recipients
        )
        await show_bulk_preview(message, lang, opened, removed)
        return
    try:
        started = await deps.sender.submit(
            [r.number for r in recipients],
            prepared,
            origin_of(user, message.chat.id, lang),
            idempotency_key=f"tg:{message.chat.id}:{message.message_id}",
            quotas=await deps.limiter.quotas(user.user_id),
            names={r.number: r.name for r in recipients if r.name},
        )
    except LimitExceeded as exc:  # the authoritative check, atomic with the record
        await message.answer(limit_text(exc.hit, lang))
        return
    except InvalidInput as exc:
        await message.answer(input_error(exc, lang))
        return
    reply: Message | None
    try:
        reply = await message.answer(t(lang, "bulk_sending", count=len(started.records)))
    except TelegramAPIError as exc:  # the job goes on; its rows are in /history
        log.warning("job #%s: could not reply: %s", started.job.id, exc)
        reply = None
    await answer_job(reply, started, lang, deps, job.in_flight, message.bot, message.chat.id)


async def answer_job(
    target: Message | None,
    started: JobStarted,
    lang: Lang,
    deps: SendDeps,
    in_flight: InFlightMiddleware,
    bot: Bot | None = None,
    chat_id: int | None = None,
) -> None:
    """The chat's answer to a job that has started. ``target`` is the bot's message to
    edit (the tapped preview, or the reply saying it is sending; None when there is
    none). A job of several recipients is followed in that one message: a progress bar
    with Stop, then the summary with Report (``handlers.jobs.follow_job``). A job of one
    gets that send's own answer, kept up to date by the tracker. Returns at once: the
    waiting runs in a task the shutdown waits for, so the chat stays usable meanwhile."""
    if started.duplicate:  # a repeated request: nothing was sent again
        log.info("job #%s: repeated request, nothing sent again", started.job.id)
    if len(started.records) > 1:
        where = target.chat.id if target is not None else chat_id
        if bot is None or where is None:  # no chat to show it in: it runs all the same
            log.warning("job #%s: no chat to follow it in", started.job.id)
            return
        deps.jobs.follow(bot, where, target.message_id if target else None, started, lang)
        return
    if target is not None:
        await safe_edit(target, t(lang, "bulk_sending", count=len(started.records)))
    in_flight.track(
        asyncio.create_task(_finish_send(target, started, lang, deps), name=f"job-{started.job.id}")
    )


async def _finish_send(
    target: Message | None, started: JobStarted, lang: Lang, deps: SendDeps
) -> None:
    """A job of one recipient: that send's own answer edited into ``target``."""
    outcomes = await started.outcomes()
    deps.tracker.wake()
    if target is None or not outcomes:
        return
    outcome = outcomes[0]
    shown = outcome.record.state
    if await safe_edit(target, send_outcome(outcome, lang)) and not outcome.duplicate:
        await record_reply(deps, outcome, target.chat.id, target.message_id, shown)


def _balance_text(lang: Lang, balance: Balance | None) -> str:
    if balance is None:
        return t(lang, "balance_unknown")
    return amount_with_unit(lang, balance.amount, balance.unit)


def _listed(lang: Lang, items: list[str], sep: str) -> str:
    """At most LIST_SHOWN items (escaped HTML each) and LIST_CHARS characters, then
    "and K more": a reply stays far below Telegram's 4096 characters."""
    shown: list[str] = []
    size = 0
    for item in items[:LIST_SHOWN]:
        size += len(item) + len(sep)
        if shown and size > LIST_CHARS:
            break
        shown.append(item)
    if len(items) > len(shown):
        shown.append(t(lang, "bulk_more", count=len(items) - len(shown)))
    return sep.join(shown)


def _short(entry: str) -> str:
    """An entry as typed, on one line and cut to a length a list can show."""
    flat = " ".join(entry.split())
    return flat if len(flat) <= ENTRY_CHARS else flat[: ENTRY_CHARS - 1] + "…"


def removed_text(resolution: Resolution, lang: Lang) -> str:
    """The duplicates removed and the entries refused, and why (HTML, may be "")."""
    text = ""
    if resolution.duplicates:
        items = [
            t(lang, "bulk_duplicate_item", entry=_short(d.entry), first=_short(d.first))
            for d in resolution.duplicates
        ]
        text += t(
            lang,
            "bulk_duplicates",
            count=len(resolution.duplicates),
            items=Html(_listed(lang, items, ", ")),
        )
    if resolution.refused:
        items = [
            t(
                lang,
                "bulk_refused_item",
                entry=_short(f"{r.entry} ({r.name})" if r.name else r.entry),
                reason=Html(entry_reason(r.error, lang)),
            )
            for r in resolution.refused
        ]
        text += t(
            lang,
            "bulk_refused",
            count=len(resolution.refused),
            items=Html(_listed(lang, items, "\n")),
        )
    return text


def bulk_preview_text(
    lang: Lang,
    prepared: PreparedSend,
    recipients: Sequence[Recipient],
    balance: Balance | None,
    removed: str,
) -> str:
    """The preview of one text to several recipients: how many and who, what was
    removed and refused, parts per message and in all, the gateway, the balance."""
    balance_text = esc(_balance_text(lang, balance))
    if balance is not None and balance.unit != PARTS_UNIT:
        balance_text += t(lang, "bulk_balance_other_unit")
    who = [
        t(lang, "bulk_named", name=_short(r.name), number=Html(f"<code>+{esc(r.number)}</code>"))
        if r.name
        else f"<code>+{esc(r.number)}</code>"
        for r in recipients
    ]
    listed = t(lang, "bulk_recipients", recipients=Html(_listed(lang, who, ", ")))
    return t(
        lang,
        "bulk_preview",
        count=len(recipients),
        gateway=prepared.provider,
        parts=prepared.text.parts,
        encoding=prepared.text.encoding,
        chars=prepared.text.chars,
        total=prepared.text.parts * len(recipients),
        balance=Html(balance_text),
        removed=Html(listed + removed),
        text=Html(f"<blockquote>{esc(prepared.text.text)}</blockquote>"),
    )


async def show_bulk_preview(
    message: Message, lang: Lang, opened: OpenedPreview, removed: str
) -> None:
    body = bulk_preview_text(lang, opened.prepared, opened.recipients, opened.balance, removed)
    await message.answer(body, reply_markup=preview_keyboard(opened.token, lang))


async def _read_document(message: Message, bot: Bot) -> DocumentEntries:
    """Fetch and read a list file; raises ``DocumentRefused``."""
    document = message.document
    if document is None or not is_list_file(document.file_name):
        raise DocumentRefused("doc_wrong_type")
    if document.file_size is not None and document.file_size > MAX_DOCUMENT_BYTES:
        raise DocumentRefused("doc_too_big", limit=MAX_DOCUMENT_BYTES // 1024)
    try:
        buffer = await bot.download(document, destination=io.BytesIO(), timeout=30)
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not fetch document %s: %s", document.file_id, exc)
        raise DocumentRefused("doc_download_failed") from None
    data = buffer.getvalue() if isinstance(buffer, io.BytesIO) else b""
    return read_entries(document.file_name or "", data)


async def ask_text_for(
    state: FSMContext, user: UserRecord, number: str, provider: str | None = None
) -> None:
    """Enter the guided /send at its text step, for ``number`` (already checked by the
    send policy): the next plain message of the user is the text to send to it."""
    await state.set_state(SendFlow.text)
    await state.set_data(
        {"provider": provider, "phone": number, "member_since": _member_since(user)}
    )


def _member_since(user: UserRecord) -> str:
    return user.added_at.isoformat()


async def _flow_still_theirs(
    message: Message, lang: Lang, user: UserRecord, state: FSMContext
) -> bool:
    """A step-by-step /send begun before the user was removed (and let in again, from
    the bot or the command line) is ended, as a deny ends their previews: the number
    kept for it is never used. Told as to any text outside a flow."""
    data = await state.get_data()
    if data.get("member_since") == _member_since(user):
        return True
    await state.clear()
    await message.answer(t(lang, "not_a_command"))
    return False


async def show_preview(message: Message, lang: Lang, opened: OpenedPreview) -> None:
    prepared, balance = opened.prepared, opened.balance
    balance_text = (
        amount_with_unit(lang, balance.amount, balance.unit)
        if balance
        else t(lang, "balance_unknown")
    )
    body = t(
        lang,
        "preview",
        phone=prepared.recipient,
        gateway=prepared.provider,
        parts=prepared.text.parts,
        encoding=prepared.text.encoding,
        chars=prepared.text.chars,
        balance=balance_text,
        text=Html(f"<blockquote>{esc(prepared.text.text)}</blockquote>"),
    )
    await message.answer(body, reply_markup=preview_keyboard(opened.token, lang))


def preview_keyboard(token: str, lang: Lang) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(lang, "button_send"),
                    callback_data=PreviewAction(action="send", token=token).pack(),
                ),
                InlineKeyboardButton(
                    text=t(lang, "button_cancel"),
                    callback_data=PreviewAction(action="cancel", token=token).pack(),
                ),
            ]
        ]
    )


async def refuse_preview(query: CallbackQuery, result: PreviewResult, lang: Lang) -> None:
    """Tell why a tap on a preview sent nothing (every kind but STARTED)."""
    target = query.message if isinstance(query.message, Message) else None
    match result.kind:
        case PreviewKind.NOT_YOURS:
            await safe_answer(query, t(lang, "preview_not_yours"), show_alert=True)
        case PreviewKind.LIMIT if result.hit is not None:
            await safe_answer(query, limit_text(result.hit, lang), show_alert=True)
        case PreviewKind.INVALID if result.error is not None:
            await safe_answer(query, t(lang, "preview_cancelled"))
            if target is not None:
                await safe_edit(target, input_error(result.error, lang))
        case PreviewKind.USED if result.record is not None:  # a repeated confirmation
            record = result.record
            text = t(lang, "duplicate", id=record.id, state=state_name(lang, record.state))
            await safe_answer(query, text, show_alert=True)
        case PreviewKind.USED:
            text = t(lang, "preview_used", id=result.message_id or "?")
            await safe_answer(query, text, show_alert=True)
        case PreviewKind.CANCELLED:
            await safe_answer(query, t(lang, "preview_cancelled"), show_alert=True)
        case _:  # expired (or gone)
            if result.now and target is not None:
                await safe_edit(target, t(lang, "preview_expired"))
            await safe_answer(query, t(lang, "preview_expired"), show_alert=True)


async def safe_answer(query: CallbackQuery, text: str, show_alert: bool = False) -> None:
    """Answer a button tap; a tap too old to answer must not stop the work behind it."""
    try:
        await query.answer(text, show_alert=show_alert)
    except TelegramAPIError as exc:
        log.info("could not answer callback %s: %s", query.id, exc)


async def safe_edit(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Edit the bot's message (dropping its buttons unless given); False if Telegram refused."""
    try:
        await message.edit_text(text, reply_markup=reply_markup)
    except TelegramAPIError as exc:
        log.info("could not edit message %s: %s", message.message_id, exc)
        return False
    return True


async def deliver_outcome(
    message: Message, outcome: SendOutcome, lang: Lang, deps: SendDeps
) -> None:
    deps.tracker.wake()
    try:
        reply = await message.answer(send_outcome(outcome, lang))
    except TelegramAPIError as exc:
        # The send is recorded whatever happens here, and is never repeated because
        # a reply failed: the sender finds it in /history.
        log.warning(
            "send #%s (%s): could not reply: %s", outcome.record.id, outcome.record.state, exc
        )
        return
    if not outcome.duplicate:
        await record_reply(deps, outcome, reply.chat.id, reply.message_id, outcome.record.state)


async def record_reply(
    deps: SendDeps, outcome: SendOutcome, chat_id: int, message_id: int, shown: MessageState
) -> None:
    """Remember which message answers the send and which state it shows, so that every
    later change (whoever stores it) edits it once. When the database is refusing
    writes, the tracker simply cannot edit this answer later: nothing else is lost."""
    await deps.replies.remember(outcome.record.id, chat_id, message_id, shown)
