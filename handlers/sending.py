"""/send: one line, or a guided flow; a preview with "Send" and "Cancel" buttons."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from handlers.parsing import parse_send_args
from handlers.render import input_error, send_outcome
from handlers.texts import Html, Lang, amount_with_unit, esc, state_name, t, wait_text
from services.domain import AmbiguousPhone, InvalidInput
from services.limits import LimitExceeded, LimitHit, RateLimiter
from services.previews import OpenedPreview, PreviewKind, PreviewResult, PreviewService
from services.records import MessageState, UserRecord
from services.replies import Replies
from services.sending import JobNotYours, Origin, SendOutcome, SendService
from services.status import DeliveryTracker

if TYPE_CHECKING:  # handlers.jobs imports this module
    from handlers.jobs import JobDeps

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendOptions:
    confirmation: bool


@dataclass(frozen=True, slots=True)
class SendDeps:
    """What the send handlers need, injected as one object (``send_deps``)."""

    sender: SendService
    limiter: RateLimiter
    previews: PreviewService
    replies: Replies
    tracker: DeliveryTracker
    options: SendOptions


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
    window = t(lang, "per_minute") if hit.window <= timedelta(minutes=1) else t(lang, "per_day")
    return t(lang, "limit_hit", limit=hit.limit, window=window, wait=wait)


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
    ) -> None:
        sender = send_deps.sender
        args = parse_send_args(command.args, sender.gateways.names)
        if args.ambiguous:  # never guess which number was meant
            await message.answer(input_error(AmbiguousPhone(args.phone, args.readings), lang))
            return
        if not args.phone:
            await state.set_state(SendFlow.phone)
            await state.update_data(provider=args.provider, member_since=_member_since(user))
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
            await state.update_data(
                provider=args.provider, phone=number, member_since=_member_since(user)
            )
            await message.answer(t(lang, "ask_text", phone=number))
            return
        await start_send(
            message, lang, user, send_deps, state, args.provider, args.phone, args.text
        )

    @router.message(SendFlow.phone, F.text, ~F.text.startswith("/"))
    async def flow_phone(
        message: Message, lang: Lang, user: UserRecord, send_deps: SendDeps, state: FSMContext
    ) -> None:
        if not await _flow_still_theirs(message, lang, user, state):
            return
        try:
            number = send_deps.sender.recipient(message.text or "")
        except InvalidInput as exc:
            await message.answer(input_error(exc, lang))
            return
        await state.update_data(phone=number)
        await state.set_state(SendFlow.text)
        await message.answer(t(lang, "ask_text", phone=number))

    @router.message(SendFlow.text, F.text, ~F.text.startswith("/"))
    async def flow_text(
        message: Message,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
        state: FSMContext,
    ) -> None:
        if not await _flow_still_theirs(message, lang, user, state):
            return
        data = await state.get_data()
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
    ) -> None:
        target = query.message if isinstance(query.message, Message) else None
        result = await send_deps.previews.confirm(
            callback_data.token,
            user.user_id,
            origin_of(user, None, lang),  # the chat is the preview's
        )
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
        if started.job.total > 1 and query.bot is not None:
            # A job of many goes on in the background, in this one message.
            chat_id = target.chat.id if target is not None else user.user_id
            job_deps.follow(
                query.bot, chat_id, target.message_id if target else None, started, lang
            )
            return
        if target is not None:
            await safe_edit(target, t(lang, "sending"))
        outcomes = await started.outcomes()
        if len(outcomes) == 1:
            text = send_outcome(outcomes[0], lang)
        else:
            text = job_summary(outcomes, lang)
        if target is not None and await safe_edit(target, text) and len(outcomes) == 1:
            outcome = outcomes[0]
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
        text = t(lang, "job_cancelled", count=len(cancelled))
        await safe_answer(query, t(lang, "cancelled"))
        if isinstance(query.message, Message):
            await safe_edit(query.message, text if cancelled else t(lang, "job_nothing_left"))

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


def job_summary(outcomes: list[SendOutcome], lang: Lang) -> str:
    """One line for the results of many recipients."""
    counts = {"sent": 0, "failed": 0, "unknown": 0}
    for outcome in outcomes:
        state = outcome.record.state
        key = "failed" if state == "failed" else "unknown" if state == "unknown" else "sent"
        counts[key] += 1
    return t(lang, "job_summary", **counts)


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
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(lang, "button_send"),
                    callback_data=PreviewAction(action="send", token=opened.token).pack(),
                ),
                InlineKeyboardButton(
                    text=t(lang, "button_cancel"),
                    callback_data=PreviewAction(action="cancel", token=opened.token).pack(),
                ),
            ]
        ]
    )
    await message.answer(body, reply_markup=keyboard)


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
