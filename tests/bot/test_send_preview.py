"""/send with SEND_CONFIRMATION on: a preview with "Send" and "Cancel" buttons."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage.db import to_db_time, utcnow
from tests.bot.conftest import (
    ADMIN,
    PHONE,
    USER,
    BotHarness,
    HarnessFactory,
    buttons,
    is_alert,
    plain,
)


async def _confirming(start_bot: HarnessFactory, **overrides: object) -> BotHarness:
    return await start_bot(send_confirmation=True, **overrides)


async def test_preview_shows_number_gateway_parts_and_balance(
    start_bot: HarnessFactory,
) -> None:
    harness = await _confirming(start_bot)

    preview = await harness.say(ADMIN, "/send +7 (912) 345-67-89 Привет, мир")

    text = plain(preview)
    assert "Кому: +79123456789" in text
    assert "Шлюз: smsrent" in text
    assert "Частей: 1 (UCS-2, 11 симв.)" in text
    assert "Баланс: неизвестен" in text
    assert text.endswith("Привет, мир")
    assert len(buttons(preview)) == 2
    await harness.settle()
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    assert await harness.core.store.messages.get(1) is None


async def test_send_button_sends_exactly_once(start_bot: HarnessFactory) -> None:
    harness = await _confirming(start_bot)
    preview = await harness.say(ADMIN, f"/send {PHONE} Server is down")
    send, _cancel = buttons(preview)

    answer = await harness.press(ADMIN, preview, send)
    assert answer.params["text"] == "⏳ Отправляю…"
    done = await harness.api.wait_for_message(ADMIN, lambda m: "#1 отправлено" in plain(m))

    assert done.message_id == preview.message_id  # the preview became the answer
    assert "+79123456789" in plain(done)
    assert "Остаток: 499 SMS" in plain(done)
    assert buttons(done) == []
    assert harness.requests("smsrent") == 1
    assert harness.gateways.requests_for("smsrent")[0].form["msg"] == "Server is down"
    await harness.settle()
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert (record.state, record.reply_message_id) == ("sent", preview.message_id)

    second = await harness.press(ADMIN, preview, send)

    assert "уже обработано (#1, принято шлюзом)" in second.params["text"]
    assert is_alert(second.params)
    await harness.settle()
    assert harness.requests("smsrent") == 1
    assert len(harness.gateways.sent) == 1

    # the next preview shows the balance the send reported
    following = await harness.say(ADMIN, f"/send {PHONE} again")
    assert "Баланс: 499 SMS" in plain(following)


async def test_cancel_button_sends_nothing(start_bot: HarnessFactory) -> None:
    harness = await _confirming(start_bot)
    preview = await harness.say(ADMIN, f"/send {PHONE} never mind")
    send, cancel = buttons(preview)

    answer = await harness.press(ADMIN, preview, cancel)
    assert answer.params["text"] == "Отменено."
    edited = await harness.api.wait_for_message(ADMIN, lambda m: m.edits != [])
    assert plain(edited) == "✖️ Отменено. SMS не отправлено."
    assert buttons(edited) == []

    late = await harness.press(ADMIN, preview, send)

    assert late.params["text"] == "Эта отправка отменена."
    await harness.settle()
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    assert await harness.core.store.messages.get(1) is None


async def test_someone_elses_preview_cannot_be_pressed(start_bot: HarnessFactory) -> None:
    harness = await _confirming(start_bot)
    await harness.core.store.users.upsert(USER, name="Ivan", is_admin=False, added_by=ADMIN)
    preview = await harness.say(ADMIN, f"/send {PHONE} mine")
    send, cancel = buttons(preview)

    for data in (send, cancel):
        answer = await harness.press(USER, preview, data)
        assert answer.params["text"] == (
            "Эту кнопку может нажать только тот, кто готовил сообщение."
        )
        assert is_alert(answer.params)

    await harness.settle()
    assert harness.requests("smsrent") == 0
    assert harness.api.messages[(ADMIN, preview.message_id)].edits == []
    # still open for its author
    await harness.press(ADMIN, preview, send)
    await harness.api.wait_for_message(ADMIN, lambda m: "#1 отправлено" in plain(m))
    assert harness.requests("smsrent") == 1
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.user_id == ADMIN


async def test_expired_preview_never_sends(start_bot: HarnessFactory) -> None:
    harness = await _confirming(start_bot, preview_ttl_seconds=10)
    preview = await harness.say(ADMIN, f"/send {PHONE} too late")
    send, _cancel = buttons(preview)
    past = to_db_time(utcnow() - timedelta(seconds=1))
    async with harness.core.db.transaction() as conn:
        await conn.execute("UPDATE previews SET expires_at = ?", (past,))

    answer = await harness.press(ADMIN, preview, send)

    assert answer.params["text"] == "Время подтверждения истекло. Наберите /send заново."
    assert is_alert(answer.params)
    edited = await harness.api.wait_for_message(ADMIN, lambda m: m.edits != [])
    assert plain(edited) == "Время подтверждения истекло. Наберите /send заново."
    again = await harness.press(ADMIN, preview, send)
    assert "истекло" in again.params["text"]
    await harness.settle()
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    assert await harness.core.store.messages.get(1) is None


async def test_preview_escapes_markup_and_the_gateway_gets_it_verbatim(
    start_bot: HarnessFactory,
) -> None:
    harness = await _confirming(start_bot)
    text = "Tom & Jerry <b>bold</b> 🙂"

    preview = await harness.say(ADMIN, f"/send smska {PHONE} {text}")

    assert "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt; 🙂" in preview.text
    assert plain(preview).endswith(text)
    assert "Шлюз: smska" in plain(preview)
    await harness.press(ADMIN, preview, buttons(preview)[0])
    await harness.api.wait_for_message(ADMIN, lambda m: "#1 отправлено" in plain(m))
    assert [r.form["Message"] for r in harness.gateways.requests_for("smska")] == [text]
    assert all(call.status == 200 for call in harness.api.calls_of("editMessageText"))
    assert all(call.status == 200 for call in harness.api.calls_of("sendMessage"))


async def test_preview_in_english(start_bot: HarnessFactory) -> None:
    harness = await _confirming(start_bot)

    preview = await harness.say(ADMIN, f"/send {PHONE} hello", lang="en")

    text = plain(preview)
    assert "Send this SMS?" in text
    assert "To: +79123456789" in text
    assert "Parts: 1 (GSM-7, 5 chars)" in text
    assert "Balance: not known" in text
    answer = await harness.press(ADMIN, preview, buttons(preview)[1], lang="en")
    assert answer.params["text"] == "Cancelled."


async def test_double_tap_while_sending_sends_once(start_bot: HarnessFactory) -> None:
    harness = await _confirming(start_bot)
    preview = await harness.say(ADMIN, f"/send {PHONE} tap tap")
    send = buttons(preview)[0]
    harness.gateways.hold = asyncio.Event()  # the gateway keeps the first request waiting

    harness.api.press_button(ADMIN, ADMIN, preview.message_id, send)
    harness.api.press_button(ADMIN, ADMIN, preview.message_id, send)
    second = await harness.api.wait_for_call(
        "answerCallbackQuery", lambda c: c.params.get("text") != "⏳ Отправляю…"
    )
    harness.gateways.hold.set()
    await harness.api.wait_for_message(ADMIN, lambda m: "#1 отправлено" in plain(m))
    await harness.settle()

    # The second tap finds the send recorded with the first one (the claim and the
    # record are one transaction): it is told so, and nothing is sent again.
    assert second.params["text"].startswith("Это сообщение уже обработано (#1, ")
    assert is_alert(second.params)
    assert harness.requests("smsrent") == 1
    assert await harness.core.store.messages.get(2) is None


async def test_status_as_reply_to_a_confirmed_send(start_bot: HarnessFactory) -> None:
    harness = await _confirming(start_bot)
    preview = await harness.say(ADMIN, f"/send smska {PHONE} confirmed")
    await harness.press(ADMIN, preview, buttons(preview)[0])
    await harness.api.wait_for_message(ADMIN, lambda m: "#1 отправлено" in plain(m))
    await harness.settle()

    status = await harness.say(ADMIN, "/status", reply_to=preview.message_id)

    assert plain(status).startswith("#1 → +79123456789 через smska\nСостояние: ✅ доставлено")
