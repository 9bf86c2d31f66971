"""/start, /help, /cancel and the answer to anything else."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from handlers.texts import Html, Lang, esc, t
from services.gateways import Gateways
from services.records import UserRecord

log = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096


async def answer_lines(
    message: Message, lines: list[str], limit: int = TELEGRAM_TEXT_LIMIT - 96
) -> None:
    """Answer with as many messages as needed to stay under Telegram's length limit,
    never splitting a line (each line is short and holds its own markup)."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > limit:
            await message.answer("\n".join(chunk))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        await message.answer("\n".join(chunk))


def help_text(lang: Lang, user: UserRecord, gateways: Gateways) -> str:
    others = [name for name in gateways.names if name != gateways.default]
    also = t(lang, "help_other_gateways", names=", ".join(others)) if others else ""
    text = t(
        lang,
        "help",
        gateways=Html(esc(gateways.default) + also),
        admin=Html(t(lang, "help_admin") if user.is_admin else ""),
    )
    text += t(lang, "help_contacts")
    if user.is_admin:
        text += t(lang, "help_contacts_admin")
    if gateways.default == "sandbox":
        text += t(lang, "sandbox_note")
    return text


def create_common_router() -> Router:
    router = Router(name="common")

    @router.message(CommandStart())
    @router.message(Command("help"))
    async def cmd_help(message: Message, lang: Lang, user: UserRecord, gateways: Gateways) -> None:
        await message.answer(help_text(lang, user, gateways))

    @router.message(Command("cancel"))
    async def cmd_cancel(message: Message, lang: Lang, state: FSMContext) -> None:
        if await state.get_state() is None:
            await message.answer(t(lang, "nothing_to_cancel"))
            return
        await state.clear()
        await message.answer(t(lang, "cancelled"))

    return router


def create_fallback_router() -> Router:
    """Last in line: a clear answer to anything no other handler took."""
    router = Router(name="fallback")

    @router.message()
    async def anything_else(message: Message, lang: Lang) -> None:
        if message.chat.type != "private":
            return
        if (message.text or "").lstrip().startswith("/"):
            await message.answer(t(lang, "unknown_command"))
        else:  # plain text (or a photo, a sticker…) is not a command: say what the bot does
            await message.answer(t(lang, "not_a_command"))

    @router.callback_query()
    async def any_other_button(query: CallbackQuery, lang: Lang) -> None:
        # Data no handler understands (an old keyboard, a forged tap): answered, or the
        # phone keeps spinning; nothing is done.
        try:
            await query.answer(t(lang, "button_invalid"), show_alert=True)
        except TelegramAPIError as exc:  # a tap too old to answer
            log.info("could not answer callback %s: %s", query.id, exc)

    return router
