"""Who may use the bot: refusals for strangers (every kind of update) and admin commands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiogram.types import User

from handlers.middlewares import telegram_name
from storage.db import to_db_time, utcnow
from tests.bot.conftest import (
    ADMIN,
    PHONE,
    STRANGER,
    USER,
    BotHarness,
    HarnessFactory,
    buttons,
    is_alert,
    plain,
)


async def test_stranger_message_is_refused_with_their_id(harness: BotHarness) -> None:
    reply = await harness.say(STRANGER, f"/send {PHONE} hello")

    text = plain(reply)
    assert str(STRANGER) in text
    assert f"/allow {STRANGER}" in text
    await harness.settle()
    assert len(harness.bot_messages(STRANGER)) == 1
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    assert await harness.core.store.messages.get(1) is None
    denied = await harness.core.store.audit.recent(action="denied")
    assert [(entry.user_id, entry.detail) for entry in denied] == [
        (STRANGER, f"message: /send {PHONE} hello")
    ]


async def test_stranger_edited_message_is_refused(harness: BotHarness) -> None:
    before = harness.snapshot(STRANGER)
    harness.api.edit_text(STRANGER, 7, f"/send smska {PHONE} edited")
    reply = await harness.changed_since(STRANGER, before)

    assert f"/allow {STRANGER}" in plain(reply)
    await harness.settle()
    assert len(harness.bot_messages(STRANGER)) == 1
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    denied = await harness.core.store.audit.recent(action="denied")
    assert len(denied) == 1
    assert denied[0].user_id == STRANGER
    assert denied[0].detail.startswith("edited_message")


async def test_stranger_button_press_is_refused_with_an_alert(start_bot: HarnessFactory) -> None:
    harness = await start_bot(send_confirmation=True)
    preview = await harness.say(ADMIN, f"/send {PHONE} secret plan")
    send_data = buttons(preview)[0]

    answer = await harness.press(STRANGER, preview, send_data)

    assert str(STRANGER) in answer.params["text"]
    assert is_alert(answer.params)
    await harness.settle()
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    assert harness.bot_messages(STRANGER) == []
    denied = await harness.core.store.audit.recent(action="denied")
    assert len(denied) == 1
    assert denied[0].user_id == STRANGER
    assert denied[0].detail == f"callback_query: {send_data}"
    # the preview is untouched and still works for its author
    assert buttons(preview) == buttons(harness.api.messages[(ADMIN, preview.message_id)])
    await harness.press(ADMIN, preview, send_data)
    await harness.api.wait_for_message(ADMIN, lambda m: "#1" in plain(m))
    assert harness.requests("smsrent") == 1


async def test_allow_lets_a_user_in_and_deny_takes_them_out(harness: BotHarness) -> None:
    refused = await harness.say(USER, "/balance")
    assert f"/allow {USER}" in plain(refused)
    assert harness.requests("smska") == 0  # a stranger's /balance never reaches a gateway

    added = await harness.say(ADMIN, f"/allow {USER} Ivan Petrov")
    assert plain(added) == f"✅ {USER} (Ivan Petrov) добавлен."
    user = await harness.core.store.users.get(USER)
    assert user is not None
    assert (user.name, user.is_admin, user.added_by) == ("Ivan Petrov", False, ADMIN)

    balance = await harness.say(USER, "/balance")
    assert "Баланс" in plain(balance)
    assert harness.requests("smska") == 1  # smska is asked for its balance

    removed = await harness.say(ADMIN, f"/deny {USER}")
    assert plain(removed) == f"🗑 {USER} удалён."
    assert await harness.core.store.users.get(USER) is None
    again = await harness.say(USER, "/balance")
    assert f"/allow {USER}" in plain(again)

    actions = [(e.action, e.user_id) for e in await harness.core.store.audit.recent()]
    assert ("allow", ADMIN) in actions
    assert ("deny", ADMIN) in actions
    assert harness.requests("smska") == 1
    assert harness.gateways.sent == {}


async def test_allow_admin_and_users_list(harness: BotHarness) -> None:
    await harness.say(ADMIN, f"/allow {USER} Ivan")
    made = await harness.say(ADMIN, "/allow 333 admin")
    assert "333" in plain(made)
    assert "как администратор" in plain(made)
    third = await harness.core.store.users.get(333)
    assert third is not None
    assert third.is_admin

    listing = plain(await harness.say(ADMIN, "/users"))

    lines = listing.splitlines()
    assert lines[0] == "👥 Пользователи"
    assert f"{ADMIN} User 👑" in lines  # the name Telegram gave at the first message
    assert "333 👑" in lines
    assert f"{USER} Ivan" in lines
    # the new admin may manage users too
    done = await harness.say(333, f"/deny {USER}")
    assert plain(done) == f"🗑 {USER} удалён."


async def test_the_last_admin_cannot_be_removed(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, f"/deny {ADMIN}")

    assert plain(reply) == "Нельзя удалить или понизить последнего администратора."
    admin = await harness.core.store.users.get(ADMIN)
    assert admin is not None
    assert admin.is_admin
    still = await harness.say(ADMIN, "/users")
    assert f"{ADMIN} User 👑" in plain(still)


async def test_non_admin_gets_admins_only(harness: BotHarness) -> None:
    await harness.core.store.users.upsert(USER, name="Ivan", is_admin=False, added_by=ADMIN)

    for command in ("/allow 444 Eve", "/deny 111", "/users", "/limits 222 9 9"):
        reply = await harness.say(USER, command)
        assert plain(reply) == "Эта команда только для администраторов.", command

    assert await harness.core.store.users.get(444) is None
    assert await harness.core.store.users.get(ADMIN) is not None
    user = await harness.core.store.users.get(USER)
    assert user is not None
    assert (user.per_minute, user.per_day) == (None, None)


async def test_allow_usage_on_bad_arguments(harness: BotHarness) -> None:
    for command in ("/allow", "/allow abc", "/allow -5 Bob"):
        reply = await harness.say(ADMIN, command)
        assert "/allow 123456789" in plain(reply), command
    unknown = await harness.say(ADMIN, "/deny 555")
    assert plain(unknown) == "555 нет в списке."
    assert [u.user_id for u in await harness.core.store.users.list()] == [ADMIN]


async def test_stranger_in_a_group_is_audited_but_not_answered(harness: BotHarness) -> None:
    group = -100123
    harness.api.send_text(STRANGER, f"/send {PHONE} from the group", chat_id=group)
    await harness.settle()

    assert harness.bot_messages(group) == []
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    denied = await harness.core.store.audit.recent(action="denied")
    assert [(e.user_id, e.detail) for e in denied] == [
        (STRANGER, f"message: /send {PHONE} from the group")
    ]


# ------------------------------------------------------ ADMIN_IDS seed, deny sticks


async def test_a_denied_admin_from_admin_ids_stays_denied_after_a_restart(
    start_bot: HarnessFactory, tmp_path: Path
) -> None:
    database = tmp_path / "shared.sqlite3"
    first = await start_bot(admin_ids=[ADMIN, 333], database_path=database)
    seeded = await first.core.store.users.get(333)
    assert seeded is not None
    assert seeded.is_admin
    assert plain(await first.say(ADMIN, "/deny 333")) == "🗑 333 удалён."

    second = await start_bot(admin_ids=[ADMIN, 333], database_path=database)
    # Telegram numbers updates on after a restart; both fake APIs start at the same id.
    async with second.core.db.transaction() as conn:
        await conn.execute("DELETE FROM processed_updates")

    assert await second.core.store.users.get(333) is None
    refused = await second.say(333, "/users")
    assert "/allow 333" in plain(refused)
    audit = [(e.user_id, e.action, e.detail) for e in await second.core.store.audit.recent()]
    assert (ADMIN, "deny", "333") in audit
    assert (None, "admin", "333 (ADMIN_IDS)") in audit  # the seed, once
    assert [a for a in audit if a[1] == "admin" and a[2].startswith("333")] == [
        (None, "admin", "333 (ADMIN_IDS)")
    ]


async def test_a_new_id_in_admin_ids_is_made_admin_at_start(
    start_bot: HarnessFactory, tmp_path: Path
) -> None:
    database = tmp_path / "shared.sqlite3"
    await start_bot(admin_ids=[ADMIN], database_path=database)
    second = await start_bot(admin_ids=[ADMIN, 444], database_path=database)
    async with second.core.db.transaction() as conn:
        await conn.execute("DELETE FROM processed_updates")

    listing = plain(await second.say(444, "/users"))
    assert "444 User 👑" in listing.splitlines()


# ------------------------------------------------- a deny ends the user's previews


async def test_a_preview_made_before_a_deny_cannot_be_confirmed_after_re_adding(
    start_bot: HarnessFactory,
) -> None:
    harness = await start_bot(send_confirmation=True)
    await harness.say(ADMIN, f"/allow {USER} Ivan")
    preview = await harness.say(USER, f"/send {PHONE} before the deny")
    send_data, cancel_data = buttons(preview)
    assert plain(await harness.say(ADMIN, f"/deny {USER}")) == f"🗑 {USER} удалён."
    await harness.say(ADMIN, f"/allow {USER} Ivan")

    answer = await harness.press(USER, preview, send_data)

    assert answer.params["text"] == "Эта отправка отменена."
    again = await harness.press(USER, preview, cancel_data)
    assert again.params["text"] == "Эта отправка отменена."
    await harness.settle()
    assert harness.gateways.requests == []
    assert await harness.core.store.messages.get(1) is None
    # a preview made after coming back works as usual
    fresh = await harness.say(USER, f"/send {PHONE} after")
    await harness.press(USER, fresh, buttons(fresh)[0])
    await harness.api.wait_for_message(USER, lambda m: "#1" in plain(m))
    assert harness.requests("smsrent") == 1


# --------------------------------------------------- strangers: once an hour, counted


async def test_a_stranger_is_answered_once_an_hour_and_counted_in_one_row(
    start_bot: HarnessFactory,
) -> None:
    harness = await start_bot(send_confirmation=True)
    preview = await harness.say(ADMIN, f"/send {PHONE} admin's")
    first = await harness.say(STRANGER, "/start")
    assert f"/allow {STRANGER}" in plain(first)

    for n in range(20):
        harness.api.send_text(STRANGER, f"/send {PHONE} spam {n}")
    for data in (*buttons(preview), "junk"):
        harness.api.press_button(STRANGER, ADMIN, preview.message_id, data)
    harness.api.send_text(STRANGER, "in a group", chat_id=-100555)
    await harness.settle()

    assert len(harness.bot_messages(STRANGER)) == 1
    calls = harness.api.calls_of("answerCallbackQuery")
    assert len(calls) == 3  # every tap answered, or the button keeps spinning
    assert [c.params.get("text") for c in calls] == [None, None, None]
    denied = await harness.core.store.audit.recent(limit=100, action="denied")
    assert [(e.user_id, e.detail) for e in denied] == [(STRANGER, "message: /start")]
    row = await harness.core.store.strangers.get(STRANGER)
    assert row is not None
    assert (row.count, row.last_detail) == (25, "message: in a group")
    assert harness.gateways.requests == []

    # an hour later the stranger is answered again
    async with harness.core.db.transaction() as conn:
        await conn.execute(
            "UPDATE strangers SET last_answered_at = ? WHERE user_id = ?",
            (to_db_time(utcnow() - timedelta(hours=1, seconds=1)), STRANGER),
        )
    later = await harness.say(STRANGER, "/help")
    assert f"/allow {STRANGER}" in plain(later)
    assert len(harness.bot_messages(STRANGER)) == 2

    listing = plain(await harness.say(ADMIN, "/users")).splitlines()
    assert "🚷 Недавние посторонние (ID, сколько раз, когда последний раз)" in listing
    [line] = [x for x in listing if x.startswith(f"{STRANGER} — ")]
    assert line.startswith(f"{STRANGER} — 26 раз, 20")
    english = plain(await harness.say(ADMIN, "/users", lang="en")).splitlines()
    assert any(x.startswith(f"{STRANGER} — 26 times, ") for x in english)


async def test_a_strangers_first_tap_gets_an_alert_with_their_id(harness: BotHarness) -> None:
    message = await harness.say(ADMIN, "/help")

    answer = await harness.press(STRANGER, message, "pv:send:whatever")

    assert is_alert(answer.params)
    assert str(STRANGER) in answer.params["text"]
    second = await harness.press(STRANGER, message, "pv:send:whatever")
    assert second.params.get("text") is None


async def test_letting_a_stranger_in_clears_them_from_the_strangers(harness: BotHarness) -> None:
    await harness.say(STRANGER, "/start")
    await harness.say(ADMIN, f"/allow {STRANGER} Eve")

    assert await harness.core.store.strangers.get(STRANGER) is None
    listing = plain(await harness.say(ADMIN, "/users"))
    assert "Недавние посторонние" not in listing


# ------------------------------------------------------------ buttons nobody handles


async def test_a_button_with_data_nobody_understands_is_answered(harness: BotHarness) -> None:
    message = await harness.say(ADMIN, "/help")

    for data in ("junk", "pv:explode:token", "pv:send", ""):
        answer = await harness.press(ADMIN, message, data)
        assert answer.params["text"] == "Эта кнопка больше не действует. Ничего не сделано.", data
        assert is_alert(answer.params)
    english = await harness.press(ADMIN, message, "junk", lang="en")
    assert english.params["text"] == "This button is no longer valid. Nothing was done."
    await harness.settle()
    assert harness.gateways.requests == []


# ---------------------------------------------------------- names from Telegram


async def test_an_admin_without_a_name_takes_their_telegram_name(harness: BotHarness) -> None:
    before = harness.snapshot(ADMIN)
    harness.api.send_text(ADMIN, "/users", first_name="  Анна\n  Каренина\u202e ")
    listing = plain(await harness.changed_since(ADMIN, before))

    assert f"{ADMIN} Анна Каренина 👑" in listing.splitlines()
    admin = await harness.core.store.users.get(ADMIN)
    assert admin is not None
    assert admin.name == "Анна Каренина"
    # stored once: a later Telegram name does not replace it
    harness.api.send_text(ADMIN, "/help", first_name="Someone Else")
    await harness.settle()
    admin = await harness.core.store.users.get(ADMIN)
    assert admin is not None
    assert admin.name == "Анна Каренина"


async def test_a_name_an_admin_set_is_never_overwritten(harness: BotHarness) -> None:
    await harness.say(ADMIN, f"/allow {USER} Ivan")
    await harness.say(ADMIN, "/allow 333")
    before = harness.snapshot(USER)
    harness.api.send_text(USER, "/help", first_name="Hacker")
    await harness.changed_since(USER, before)
    before = harness.snapshot(333)
    harness.api.send_text(333, "/help", first_name="Ы" * 100)
    await harness.changed_since(333, before)

    user = await harness.core.store.users.get(USER)
    third = await harness.core.store.users.get(333)
    assert user is not None
    assert third is not None
    assert user.name == "Ivan"
    assert third.name == "Ы" * 64


def test_telegram_name_falls_back_to_the_username() -> None:
    assert telegram_name(User(id=1, is_bot=False, first_name="Ann", last_name="Lee")) == "Ann Lee"
    assert telegram_name(User(id=1, is_bot=False, first_name=" ", username="ann")) == "@ann"
    assert telegram_name(User(id=1, is_bot=False, first_name="")) == ""
