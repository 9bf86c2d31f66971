"""Who may use the bot: refusals for strangers (every kind of update) and admin commands."""

from __future__ import annotations

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
    assert await harness.core.messages.get(1) is None
    denied = await harness.core.audit.recent(action="denied")
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
    denied = await harness.core.audit.recent(action="denied")
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
    denied = await harness.core.audit.recent(action="denied")
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
    user = await harness.core.users.get(USER)
    assert user is not None
    assert (user.name, user.is_admin, user.added_by) == ("Ivan Petrov", False, ADMIN)

    balance = await harness.say(USER, "/balance")
    assert "Баланс" in plain(balance)
    assert harness.requests("smska") == 1  # smska is asked for its balance

    removed = await harness.say(ADMIN, f"/deny {USER}")
    assert plain(removed) == f"🗑 {USER} удалён."
    assert await harness.core.users.get(USER) is None
    again = await harness.say(USER, "/balance")
    assert f"/allow {USER}" in plain(again)

    actions = [(e.action, e.user_id) for e in await harness.core.audit.recent()]
    assert ("allow", ADMIN) in actions
    assert ("deny", ADMIN) in actions
    assert harness.requests("smska") == 1
    assert harness.gateways.sent == {}


async def test_allow_admin_and_users_list(harness: BotHarness) -> None:
    await harness.say(ADMIN, f"/allow {USER} Ivan")
    made = await harness.say(ADMIN, "/allow 333 admin")
    assert "333" in plain(made)
    assert "как администратор" in plain(made)
    third = await harness.core.users.get(333)
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
    admin = await harness.core.users.get(ADMIN)
    assert admin is not None
    assert admin.is_admin
    still = await harness.say(ADMIN, "/users")
    assert f"{ADMIN} User 👑" in plain(still)


async def test_non_admin_gets_admins_only(harness: BotHarness) -> None:
    await harness.core.users.upsert(USER, name="Ivan", is_admin=False, added_by=ADMIN)

    for command in ("/allow 444 Eve", "/deny 111", "/users", "/limits 222 9 9"):
        reply = await harness.say(USER, command)
        assert plain(reply) == "Эта команда только для администраторов.", command

    assert await harness.core.users.get(444) is None
    assert await harness.core.users.get(ADMIN) is not None
    user = await harness.core.users.get(USER)
    assert user is not None
    assert (user.per_minute, user.per_day) == (None, None)


async def test_allow_usage_on_bad_arguments(harness: BotHarness) -> None:
    for command in ("/allow", "/allow abc", "/allow -5 Bob"):
        reply = await harness.say(ADMIN, command)
        assert "/allow 123456789" in plain(reply), command
    unknown = await harness.say(ADMIN, "/deny 555")
    assert plain(unknown) == "555 нет в списке."
    assert [u.user_id for u in await harness.core.users.list()] == [ADMIN]


async def test_stranger_in_a_group_is_audited_but_not_answered(harness: BotHarness) -> None:
    group = -100123
    harness.api.send_text(STRANGER, f"/send {PHONE} from the group", chat_id=group)
    await harness.settle()

    assert harness.bot_messages(group) == []
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    denied = await harness.core.audit.recent(action="denied")
    assert [(e.user_id, e.detail) for e in denied] == [
        (STRANGER, f"message: /send {PHONE} from the group")
    ]
