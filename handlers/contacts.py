"""/contacts: the team's address book (every user reads it; admins add and remove), and
a contact card shared to the bot, which starts a send to its number (admins may also
save it to the book)."""

from __future__ import annotations

import contextlib
import logging
import re
import shlex
from collections import OrderedDict

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from handlers.render import input_error
from handlers.sending import SendDeps, SendFlow, ask_text_for, safe_answer, safe_edit
from handlers.texts import Html, Lang, t
from services.contacts import (
    MAX_CONTACT_NAME,
    BadName,
    ContactBook,
    ContactExists,
    ContactRecord,
    NameTaken,
    NoSuchContact,
    TooManyGroups,
)
from services.domain import InvalidInput
from services.recipients import looks_like_number
from services.records import UserRecord

log = logging.getLogger(__name__)

#: contacts on one page of /contacts
PAGE_SIZE = 20
#: groups shown under the contacts (the rest are counted)
GROUPS_SHOWN = 30
#: contact cards remembered for their "Save to contacts" button
CARDS_KEPT = 1000

_ADD = frozenset({"add", "добавить"})
_DEL = frozenset({"del", "delete", "rm", "удалить"})
_LIST = frozenset({"list", "список"})


class ContactsPage(CallbackData, prefix="ctp"):
    page: int  # from 0


class SaveCard(CallbackData, prefix="cts"):
    message: int  # the id of the card's message, in the chat of the button


def contact_error(error: InvalidInput, lang: Lang) -> str:
    """Why a change to the book was refused, in ``lang``; a number's refusal reads as
    it does for a send (but says nothing was changed)."""
    if isinstance(error, BadName):
        reason = t(lang, f"contact_bad_{error.reason}", name=error.name, limit=MAX_CONTACT_NAME)
    elif isinstance(error, NameTaken):
        key = "contact_name_is_contact" if error.as_group else "contact_name_is_group"
        reason = t(lang, key, name=error.name)
    elif isinstance(error, ContactExists):
        reason = t(lang, "contact_exists", name=error.name, phone=error.phone)
    elif isinstance(error, TooManyGroups):
        reason = t(lang, "contact_too_many_groups", limit=error.limit, count=error.count)
    elif isinstance(error, NoSuchContact):
        reason = t(lang, "contact_not_found", name=error.name)
    else:
        sent = input_error(error, lang)  # "❌ reason\nNothing was sent."
        reason = sent.removeprefix("❌ ").rsplit("\n", 1)[0]
    return t(lang, "contact_refused", reason=Html(reason))


def contact_line(contact: ContactRecord, lang: Lang) -> str:
    groups = ", ".join(t(lang, "contacts_group", name=g) for g in contact.groups)
    suffix = t(lang, "contacts_line_groups", groups=Html(groups)) if groups else ""
    return t(lang, "contacts_line", name=contact.name, phone=contact.phone, groups=Html(suffix))


def parse_add(args: str) -> tuple[str, str, list[str]] | None:
    """``Petr Ivanov +7 912 345-67-80 oncall ops`` -> name, phone, groups: the name is
    every word before the number (or one quoted word), the number its run of
    number-like words, the groups what follows. None: not of that shape."""
    try:
        words = shlex.split(args)
    except ValueError:  # an unclosed quote
        return None
    at = next((i for i, w in enumerate(words) if looks_like_number(w)), None)
    if not at:  # no number, or no name before it
        return None
    end = at
    while end < len(words) and looks_like_number(words[end]):
        end += 1
    return " ".join(words[:at]), " ".join(words[at:end]), words[end:]


def parse_name(args: str) -> str:
    try:
        return " ".join(shlex.split(args))
    except ValueError:
        return args.strip()


def card_name(first: str | None, last: str | None) -> str:
    """A contact card's name, fit to be a contact's name: its separators become blanks."""
    raw = " ".join(p for p in (first, last) if p)
    return " ".join(re.sub(r"[,;\r\n]", " ", raw).split())[:MAX_CONTACT_NAME]


async def page_text(
    book: ContactBook, page: int, lang: Lang, *, admin: bool
) -> tuple[str, InlineKeyboardMarkup | None, bool]:
    """Page ``page`` (from 0) of the book, its buttons, and whether ``page`` was out of
    range (then the last page is shown)."""
    total = (await book.page(0, 0)).total
    pages = max(1, -(-total // PAGE_SIZE))
    gone = not 0 <= page < pages
    page = min(max(page, 0), pages - 1)
    if total == 0:
        text = t(lang, "contacts_empty")
        if admin:
            text += t(lang, "contacts_empty_admin")
        return text, None, gone
    window = await book.page(page * PAGE_SIZE, PAGE_SIZE)
    lines = [t(lang, "contacts_title", total=window.total)]
    lines += [contact_line(c, lang) for c in window.contacts]
    groups = await book.groups()
    if groups:
        lines.append(t(lang, "contacts_groups_title"))
        lines += [
            t(lang, "contacts_group_size", name=g.name, size=g.size) for g in groups[:GROUPS_SHOWN]
        ]
        if len(groups) > GROUPS_SHOWN:
            lines.append(t(lang, "contacts_more_groups", count=len(groups) - GROUPS_SHOWN))
    keyboard = None
    if pages > 1:
        lines.append(t(lang, "contacts_page", page=page + 1, pages=pages))
        row = []
        if page > 0:
            row.append(
                InlineKeyboardButton(
                    text=t(lang, "button_contacts_prev"),
                    callback_data=ContactsPage(page=page - 1).pack(),
                )
            )
        if page < pages - 1:
            row.append(
                InlineKeyboardButton(
                    text=t(lang, "button_contacts_next"),
                    callback_data=ContactsPage(page=page + 1).pack(),
                )
            )
        keyboard = InlineKeyboardMarkup(inline_keyboard=[row])
    return "\n".join(lines), keyboard, gone


async def _ack(query: CallbackQuery) -> None:
    """Stop the button's spinner (the answer comes as a message or an edit)."""
    try:
        await query.answer()
    except TelegramAPIError as exc:
        log.info("could not answer callback %s: %s", query.id, exc)


def create_contacts_router() -> Router:
    router = Router(name="contacts")
    cards: OrderedDict[tuple[int, int], tuple[str, str]] = OrderedDict()

    @router.message(Command("contacts"))
    async def cmd_contacts(
        message: Message,
        command: CommandObject,
        lang: Lang,
        user: UserRecord,
        contact_book: ContactBook,
    ) -> None:
        args = (command.args or "").strip()
        action, _, rest = args.partition(" ")
        action = action.lower()
        if not args or action in _LIST:
            text, keyboard, _ = await page_text(contact_book, 0, lang, admin=user.is_admin)
            await message.answer(text, reply_markup=keyboard)
            return
        if action not in _ADD | _DEL:
            await message.answer(t(lang, "contacts_usage"))
            return
        if not user.is_admin:
            await message.answer(t(lang, "admin_only"))
            return
        try:
            if action in _ADD:
                parsed = parse_add(rest)
                if parsed is None:
                    await message.answer(t(lang, "contacts_usage"))
                    return
                name, phone, groups = parsed
                record, created = await contact_book.add(user.user_id, name, phone, groups)
                key = "contact_added" if created else "contact_updated"
            else:
                name = parse_name(rest)
                if not name:
                    await message.answer(t(lang, "contacts_usage"))
                    return
                record = await contact_book.delete(user.user_id, name)
                key = "contact_removed"
        except InvalidInput as exc:
            await message.answer(contact_error(exc, lang))
            return
        await message.answer(t(lang, key, line=Html(contact_line(record, lang))))

    @router.callback_query(ContactsPage.filter())
    async def on_page(
        query: CallbackQuery,
        callback_data: ContactsPage,
        lang: Lang,
        user: UserRecord,
        contact_book: ContactBook,
    ) -> None:
        text, keyboard, gone = await page_text(
            contact_book, callback_data.page, lang, admin=user.is_admin
        )
        if gone:
            await safe_answer(query, t(lang, "contacts_page_gone"), show_alert=True)
        else:
            await _ack(query)
        if isinstance(query.message, Message):
            await safe_edit(query.message, text, keyboard)

    @router.message(F.contact)
    async def on_card(
        message: Message,
        lang: Lang,
        user: UserRecord,
        send_deps: SendDeps,
        state: FSMContext,
    ) -> None:
        card = message.contact
        assert card is not None
        try:
            # Telegram gives a card's number in international form, "+" or not
            number = send_deps.sender.recipient(card.phone_number, international=True)
        except InvalidInput as exc:
            await message.answer(input_error(exc, lang))
            return
        provider = None
        if await state.get_state() == SendFlow.phone.state:  # /send smska, then a card
            provider = (await state.get_data()).get("provider")
        await ask_text_for(state, user, number, provider)
        keyboard = None
        if user.is_admin:
            cards[(message.chat.id, message.message_id)] = (
                card_name(card.first_name, card.last_name),
                number,
            )
            while len(cards) > CARDS_KEPT:
                cards.popitem(last=False)
            button = InlineKeyboardButton(
                text=t(lang, "button_save_contact"),
                callback_data=SaveCard(message=message.message_id).pack(),
            )
            keyboard = InlineKeyboardMarkup(inline_keyboard=[[button]])
        await message.answer(t(lang, "ask_text", phone=number), reply_markup=keyboard)

    @router.callback_query(SaveCard.filter())
    async def on_save(
        query: CallbackQuery,
        callback_data: SaveCard,
        lang: Lang,
        user: UserRecord,
        contact_book: ContactBook,
    ) -> None:
        if not user.is_admin:
            await safe_answer(query, t(lang, "admin_only"), show_alert=True)
            return
        target = query.message if isinstance(query.message, Message) else None
        card = cards.get((target.chat.id, callback_data.message)) if target else None
        if target is None or card is None:
            await safe_answer(query, t(lang, "contact_save_gone"), show_alert=True)
            return
        name, number = card
        try:
            # ``number`` is international digits: given with its "+", it is never
            # re-read as a Russian national number
            record, _ = await contact_book.add(user.user_id, name, "+" + number, replace=False)
        except ContactExists as exc:
            await _ack(query)
            if exc.phone == number:
                text = t(lang, "contact_same", name=exc.name, phone=number)
            else:
                text = contact_error(exc, lang)
            await target.answer(text)
            return
        except InvalidInput as exc:
            await _ack(query)
            await target.answer(contact_error(exc, lang))
            return
        cards.pop((target.chat.id, callback_data.message), None)
        await _ack(query)
        with contextlib.suppress(TelegramAPIError):  # the button is spent
            await target.edit_reply_markup(reply_markup=None)
        await target.answer(t(lang, "contact_saved", line=Html(contact_line(record, lang))))

    return router
