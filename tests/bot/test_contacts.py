"""/contacts over the dispatcher harness: the list and its pages (an old or forged page
is answered), add and del for admins only, and a shared contact card that asks for the
text, sends to its number, and (for admins) saves it to the book."""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.bot.conftest import ADMIN, PHONE, USER, BotHarness, HarnessFactory, buttons, plain
from tests.fakes.botapi import SentMessage

_card_ids = itertools.count(50_000)


def share_card(
    harness: BotHarness,
    user_id: int,
    phone: str,
    first_name: str,
    last_name: str | None = None,
    *,
    lang: str = "ru",
) -> int:
    """Queue a contact card shared by ``user_id`` in their private chat; its message id."""
    contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
    if last_name is not None:
        contact["last_name"] = last_name
    message_id = next(_card_ids)
    sender = {"id": user_id, "is_bot": False, "first_name": "User", "language_code": lang}
    harness.api.add_raw_update(
        {
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private", "first_name": "User"},
                "from": sender,
                "contact": contact,
            }
        }
    )
    return message_id


async def card_reply(harness: BotHarness, user_id: int, *args: Any, **kwargs: Any) -> SentMessage:
    before = harness.snapshot(user_id)
    share_card(harness, user_id, *args, **kwargs)
    return await harness.changed_since(user_id, before)


async def press_and_see(
    harness: BotHarness, user_id: int, message: SentMessage, data: str, *, new: bool = False
) -> SentMessage:
    """Press a button; the bot's next new or edited message in that chat (``new``: a
    new message, not an edit of the one pressed)."""
    before = harness.snapshot(user_id)
    await harness.press(user_id, message, data)
    if new:
        return await harness.changed_since(user_id, before, lambda m: m.message_id not in before)
    return await harness.changed_since(user_id, before)


async def _fill(harness: BotHarness, count: int) -> None:
    for i in range(count):
        await harness.core.contacts.add(ADMIN, f"Name{i:02}", f"791234567{i:02}", ["all"])


async def test_the_list_pages_with_buttons(harness: BotHarness) -> None:
    await _fill(harness, 25)
    first = await harness.say(ADMIN, "/contacts")
    text = plain(first)
    assert "Контакты (25)" in text
    assert "«Name00» +79123456700 · «all»" in text
    assert "«Name19»" in text
    assert "«Name20»" not in text
    assert "«all» — 25" in text
    assert "Страница 1 из 2" in text
    assert buttons(first) == ["ctp:1"]
    second = await press_and_see(harness, ADMIN, first, "ctp:1")
    assert second.message_id == first.message_id
    assert "«Name24»" in plain(second)
    assert "«Name00»" not in plain(second)
    assert "Страница 2 из 2" in plain(second)
    assert buttons(second) == ["ctp:0"]


async def test_an_old_or_forged_page_is_answered(harness: BotHarness) -> None:
    await _fill(harness, 21)
    first = await harness.say(ADMIN, "/contacts")
    for forged in ("ctp:7", "ctp:-1", "ctp:99999999999999999999999999"):
        answer = await harness.press(ADMIN, first, forged)
        assert answer.params.get("text") == "Такой страницы уже нет: показываю последнюю."
    await harness.settle()
    shown = harness.bot_messages(ADMIN)[-1]
    assert "Страница 2 из 2" in plain(shown)
    answer = await harness.press(ADMIN, first, "ctp:abc")  # not even a number
    assert answer.params.get("text")  # answered, not left spinning
    await harness.settle()


async def test_an_empty_book_says_so(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, "/contacts", lang="en")
    assert "The address book is empty." in plain(reply)
    assert "Add one: /contacts add Petr" in plain(reply)


async def test_admin_adds_updates_and_removes(harness: BotHarness) -> None:
    added = await harness.say(ADMIN, "/contacts add Пётр Иванов +7 912 345-67-80 oncall ops")
    assert plain(added) == "✅ Контакт добавлен: «Пётр Иванов» +79123456780 · «oncall», «ops»"
    changed = await harness.say(ADMIN, '/contacts add "пётр иванов" 79123456781 oncall')
    assert plain(changed) == "✅ Контакт изменён: «пётр иванов» +79123456781 · «oncall»"
    clash = await harness.say(ADMIN, "/contacts add oncall 79123456782")
    assert "«oncall» — название группы" in plain(clash)
    assert "Ничего не изменено." in plain(clash)
    gateway = await harness.say(ADMIN, "/contacts add smska 79123456782", lang="en")
    assert "«smska» is the name of a gateway" in plain(gateway)
    bad_phone = await harness.say(ADMIN, "/contacts add Anna 12")
    assert "Ничего не изменено." in plain(bad_phone)
    usage = await harness.say(ADMIN, "/contacts add Anna")
    assert "Как пользоваться" in plain(usage)
    removed = await harness.say(ADMIN, "/contacts del ПЁТР ИВАНОВ")
    assert plain(removed).startswith("🗑 Контакт удалён: «пётр иванов»")
    again = await harness.say(ADMIN, "/contacts del Пётр Иванов")
    assert "Контакта «Пётр Иванов» нет" in plain(again)
    assert await harness.core.contacts.export() == []
    audit = await harness.core.store.audit.recent(10)
    assert [(e.user_id, e.action) for e in audit[:3]] == [
        (ADMIN, "contact_del"),
        (ADMIN, "contact_update"),
        (ADMIN, "contact_add"),
    ]


async def test_a_user_reads_but_may_not_change(harness: BotHarness) -> None:
    await harness.core.users.allow(ADMIN, USER)
    await harness.core.contacts.add(ADMIN, "Petr", PHONE, ["oncall"])
    listed = await harness.say(USER, "/contacts")
    assert "«Petr» +79123456789 · «oncall»" in plain(listed)
    for command in ("/contacts add Anna 79123456781", "/contacts del Petr"):
        refused = await harness.say(USER, command)
        assert plain(refused) == "Эта команда только для администраторов."
    assert [c.name for c in await harness.core.contacts.export()] == ["Petr"]


async def test_a_contact_card_asks_for_the_text_and_sends_to_its_number(
    harness: BotHarness,
) -> None:
    await harness.core.users.allow(ADMIN, USER)
    asked = await card_reply(harness, USER, "+7 912 345-67-81", "Anna")
    assert plain(asked) == "Номер: +79123456781. Теперь пришлите текст сообщения."
    assert buttons(asked) == []  # no "Save" for a user who is not an admin
    sent = await harness.say(USER, "Server is down")
    assert "#1 отправлено через smsrent на +79123456781" in plain(sent)
    [request] = harness.gateways.requests_for("smsrent")
    assert (request.form["to"], request.form["msg"]) == ("79123456781", "Server is down")


async def test_a_card_with_a_number_the_policy_refuses_sends_nothing(harness: BotHarness) -> None:
    refused = await card_reply(harness, ADMIN, "12", "Short")
    assert "Ничего не отправлено." in plain(refused)
    after = await harness.say(ADMIN, "hello")
    assert "#" not in plain(after)
    assert harness.requests("smsrent") == 0


async def test_a_card_goes_to_the_preview_when_confirmation_is_on(
    start_bot: HarnessFactory,
) -> None:
    harness = await start_bot(send_confirmation=True)
    await card_reply(harness, ADMIN, "79123456781", "Anna")
    preview = await harness.say(ADMIN, "Server is down")
    assert "+79123456781" in plain(preview)
    assert any(data.startswith("pv:send:") for data in buttons(preview))
    assert harness.requests("smsrent") == 0


async def test_an_admin_saves_a_card_to_the_contacts(harness: BotHarness) -> None:
    asked = await card_reply(harness, ADMIN, "79123456781", "Anna", "Petrova")
    [save] = buttons(asked)
    saved = await press_and_see(harness, ADMIN, asked, save, new=True)
    assert plain(saved) == "💾 Сохранено в контакты: «Anna Petrova» +79123456781"
    contact = await harness.core.contacts.get("anna petrova")
    assert contact is not None
    assert contact.phone == "79123456781"
    # the flow still waits for the text: saving does not end it
    sent = await harness.say(ADMIN, "hi")
    assert "+79123456781" in plain(sent)
    # the same card again: already there; another number under that name: refused
    again = await card_reply(harness, ADMIN, "79123456781", "Anna", "Petrova")
    same = await press_and_see(harness, ADMIN, again, buttons(again)[0], new=True)
    assert "«Anna Petrova» с номером +79123456781 уже есть в контактах." in plain(same)
    other = await card_reply(harness, ADMIN, "79123456782", "ANNA", "petrova")
    refused = await press_and_see(harness, ADMIN, other, buttons(other)[0], new=True)
    assert "Ничего не изменено." in plain(refused)
    assert (await harness.core.contacts.get("anna petrova")).phone == "79123456781"  # type: ignore[union-attr]


async def test_saving_a_card_named_like_a_group_is_refused_clearly(harness: BotHarness) -> None:
    await harness.core.contacts.add(ADMIN, "Petr", PHONE, ["oncall"])
    asked = await card_reply(harness, ADMIN, "79123456781", "OnCall")
    refused = await press_and_see(harness, ADMIN, asked, buttons(asked)[0], new=True)
    assert "«OnCall» — название группы: так назвать контакт нельзя." in plain(refused)
    assert await harness.core.contacts.get("oncall") is None


async def test_a_stale_or_forged_save_button_is_answered(harness: BotHarness) -> None:
    asked = await card_reply(harness, ADMIN, "79123456781", "Anna")
    answer = await harness.press(ADMIN, asked, "cts:1")
    assert answer.params.get("text") == "Эта кнопка устарела: пришлите карточку контакта ещё раз."
    assert await harness.core.contacts.export() == []


async def test_help_and_menu_name_the_address_book(harness: BotHarness) -> None:
    await harness.core.users.allow(ADMIN, USER)
    user_help = plain(await harness.say(USER, "/help"))
    assert "/contacts — контакты и группы" in user_help
    assert "/contacts del" not in user_help
    admin_help = plain(await harness.say(ADMIN, "/help", lang="en"))
    assert "/contacts del Petr — remove a contact" in admin_help


async def test_any_arguments_get_a_clear_answer(harness: BotHarness) -> None:
    nasty = [
        '"',
        "'unclosed",
        "\x00",
        "\u202eevil 79123456789",
        "{0} {name} 79123456789",
        "<b>x</b> 79123456789 <i>",
        "x" * 5000 + " 79123456789",
        "Petr 79123456789 " + " ".join(f"g{i}" for i in range(50)),
        "79123456789",
        "Petr +",
        "Petr 79123456789 1234",
        "Petr 7912345678901234567890",
    ]
    for action in ("add", "del", "удалить", "edit"):
        for args in nasty:
            reply = await harness.say(ADMIN, f"/contacts {action} {args}")
            assert plain(reply).strip(), (action, args)
    # only the two lines that are good contacts went in; markup in a name stays text
    saved = {(c.name, c.groups) for c in await harness.core.contacts.export()}
    assert saved == {("{0} {name}", ()), ("<b>x</b>", ("<i>",))}
    assert "«<b>x</b>» +79123456789 · «<i>»" in plain(await harness.say(ADMIN, "/contacts list"))
