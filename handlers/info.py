"""/balance, /status and /history."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from handlers.common import answer_lines
from handlers.jobs import JobDeps, answer_job_status, job_history_line, job_ref
from handlers.parsing import parse_int
from handlers.render import error_reason, fmt_time, status_text
from handlers.texts import TEXTS, Html, Lang, amount_with_unit, esc, state_name, t
from services.balance import BalanceService
from services.records import UserRecord
from services.status import DeliveryTracker, LookupKind, ReplyTo, StatusService

HISTORY_DEFAULT = 10
HISTORY_MAX = 50


def source_name(lang: Lang, source: str) -> str:
    """Who sent a message that has no Telegram user: the command line, an alert."""
    key = f"source_{source}"
    return t(lang, key) if key in TEXTS else source


def create_info_router() -> Router:
    router = Router(name="info")

    @router.message(Command("balance"))
    async def cmd_balance(message: Message, lang: Lang, balance_service: BalanceService) -> None:
        lines = [t(lang, "balance_title")]
        for line in await balance_service.all():
            if line.balance is not None:
                b = line.balance
                note = t(lang, "balance_sandbox") if b.simulated else ""
                if b.source == "last_send":
                    note += t(
                        lang, "balance_from_send", id=line.from_message or "?", at=fmt_time(b.at)
                    )
                lines.append(
                    t(
                        lang,
                        "balance_line",
                        gateway=line.provider,
                        amount=amount_with_unit(lang, b.amount, b.unit),
                        note=Html(note),
                    )
                )
            elif line.error is not None:
                lines.append(
                    t(
                        lang,
                        "balance_error",
                        gateway=line.provider,
                        reason=Html(error_reason(line.error, lang)),
                    )
                )
            else:
                lines.append(t(lang, "balance_none_yet", gateway=line.provider))
        await message.answer("\n".join(lines))

    @router.message(Command("status"))
    async def cmd_status(
        message: Message,
        command: CommandObject,
        lang: Lang,
        user: UserRecord,
        status_service: StatusService,
        tracker: DeliveryTracker,
        job_deps: JobDeps,
    ) -> None:
        ref = (command.args or "").strip()
        job_id = job_ref(ref)
        if job_id is not None:  # /status J12: a job (/status 12 stays a message)
            await answer_job_status(message, job_id, lang, user, job_deps)
            return
        reply = message.reply_to_message
        found = await status_service.lookup(
            ref,
            reply=None if reply is None else ReplyTo(message.chat.id, reply.message_id),
            viewer=user,
        )
        if found.kind is LookupKind.INVALID:
            await message.answer(t(lang, "status_usage"))
            return
        if found.check is None:  # not found, or another user's send: the same answer
            shown = ref if ref or reply is None else f"#{reply.message_id}"
            await message.answer(t(lang, "status_not_found", ref=shown[:64]))
            return
        check = found.check
        await message.answer(status_text(check, lang))
        if check.changed:
            tracker.wake()  # the answer about the send itself shows the new state too

    @router.message(Command("history"))
    async def cmd_history(
        message: Message,
        command: CommandObject,
        lang: Lang,
        user: UserRecord,
        job_deps: JobDeps,
    ) -> None:
        limit = HISTORY_DEFAULT
        if command.args:
            parsed = parse_int(command.args)
            if parsed is None or not 1 <= parsed <= HISTORY_MAX:
                await message.answer(t(lang, "history_usage"))
                return
            limit = parsed
        jobs = await job_deps.jobs.recent_jobs(None if user.is_admin else user.user_id, limit=limit)
        if not jobs:
            await message.answer(t(lang, "history_empty"))
            return
        lines = [t(lang, "history_title")]
        for line in jobs:
            job = line.progress.job
            who = ""
            if user.is_admin:
                who = f" · {esc(job.user_name or job.user_id or source_name(lang, job.source))}"
            r = line.first
            if r is None or line.progress.total > 1:  # a job of several: one line
                lines.append(job_history_line(line, lang, who))
                continue
            preview = r.text if len(r.text) <= 40 else r.text[:39] + "…"
            lines.append(
                f"#{r.id} {esc(fmt_time(r.created_at))} → +{esc(r.recipient)} "
                f"({esc(r.provider)}): {esc(state_name(lang, r.state))}{who}\n"
                f"    {esc(' '.join(preview.split()))}"
            )
        await answer_lines(message, lines)

    return router
