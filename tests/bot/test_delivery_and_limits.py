"""Delivery tracking, update de-duplication, Telegram flood control and send limits."""

from __future__ import annotations

import copy
import re
import time

from tests.bot.conftest import ADMIN, PHONE, USER, BotHarness, HarnessFactory, is_alert, plain

TRACKING = {"status_poll_first_seconds": 0.1, "status_poll_max_seconds": 0.2}


async def test_delivery_edits_the_answer(start_bot: HarnessFactory) -> None:
    harness = await start_bot(gateway_options={"delivery_after": 0.3}, **TRACKING)

    reply = await harness.say(ADMIN, f"/send smska {PHONE} track me")
    assert "#1 отправлено через smska" in plain(reply)
    assert "доставлено" not in plain(reply)

    delivered = await harness.api.wait_for_message(
        ADMIN, lambda m: m.message_id == reply.message_id and "доставлено" in plain(m)
    )

    assert plain(delivered).endswith("\nСостояние: ✅ доставлено (4 DELIVRD)")
    assert plain(delivered).startswith("✅ #1 отправлено через smska на +79123456789")
    assert len(harness.bot_messages(ADMIN)) == 1  # edited, no new message
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.state == "delivered"
    assert record.next_check_at is None  # final: tracking stops
    sends = [r for r in harness.gateways.requests_for("smska") if not r.form.get("Action")]
    assert len(sends) == 1


async def test_rejected_delivery_tells_the_sender(start_bot: HarnessFactory) -> None:
    harness = await start_bot(gateway_options={"delivery_after": 60.0}, **TRACKING)
    reply = await harness.say(ADMIN, f"/send smska {PHONE} doomed")
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.gateway_id is not None
    harness.gateways.set_status(record.gateway_id, 5, "REJECTD")

    notice = await harness.api.wait_for_message(ADMIN, lambda m: "не доставлено" in plain(m))

    assert notice.message_id != reply.message_id
    assert plain(notice) == "❗ SMS #1 на +79123456789 не доставлено: ❌ отклонено (5 REJECTD)."
    edited = harness.api.messages[(ADMIN, reply.message_id)]
    assert plain(edited).endswith("Состояние: ❌ отклонено (5 REJECTD)")
    stored = await harness.core.store.messages.get(1)
    assert stored is not None
    assert stored.state == "rejected"


async def test_redelivered_update_is_handled_once(harness: BotHarness) -> None:
    update_id = harness.api.send_text(ADMIN, f"/send {PHONE} only once")
    raw = copy.deepcopy(harness.api.pending_updates[-1])
    assert raw["update_id"] == update_id
    await harness.api.wait_for_message(ADMIN, lambda m: "#1" in plain(m))
    await harness.settle()

    harness.api.add_raw_update(raw)
    await harness.settle()

    assert harness.requests("smsrent") == 1
    assert len(harness.bot_messages(ADMIN)) == 1  # not even a second answer
    assert await harness.core.store.messages.get(2) is None


async def test_same_message_in_a_new_update_is_not_sent_twice(harness: BotHarness) -> None:
    """Telegram never does this, but a message handled twice must not send twice."""
    harness.api.send_text(ADMIN, f"/send {PHONE} only once")
    raw = copy.deepcopy(harness.api.pending_updates[-1])
    await harness.api.wait_for_message(ADMIN, lambda m: "#1" in plain(m))
    await harness.settle()

    before = harness.snapshot(ADMIN)
    harness.api.add_raw_update({"message": raw["message"]})  # a new update_id
    again = await harness.changed_since(ADMIN, before)

    assert "уже обработано (#1" in plain(again)
    assert harness.requests("smsrent") == 1


async def test_flood_control_wait_then_reply(harness: BotHarness) -> None:
    harness.api.retry_after["sendMessage"] = 1
    started = time.monotonic()

    reply = await harness.say(ADMIN, f"/send {PHONE} despite flood control")

    assert time.monotonic() - started >= 1.0
    assert "#1 отправлено" in plain(reply)
    assert [c.status for c in harness.api.calls_of("sendMessage")] == [429, 200]
    assert harness.requests("smsrent") == 1
    await harness.settle()
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.reply_message_id == reply.message_id


async def test_per_minute_limit(start_bot: HarnessFactory) -> None:
    harness = await start_bot(sends_per_minute=2)
    await harness.say(ADMIN, f"/send {PHONE} one")
    await harness.say(ADMIN, f"/send {PHONE} two")

    third = plain(await harness.say(ADMIN, f"/send {PHONE} three"))

    match = re.fullmatch(
        r"⏳ Лимит: не больше 2 отправок в минуту\. Можно снова через (\d+) с\. Ничего не отправлено\.",
        third,
    )
    assert match is not None, third
    assert 50 <= int(match.group(1)) <= 61
    assert harness.requests("smsrent") == 2
    assert await harness.core.store.messages.get(3) is None

    shown = plain(await harness.say(ADMIN, f"/limits {ADMIN} 5 200"))
    assert shown == (
        f"Лимиты {ADMIN}: отправок за минуту — 2 из 5, SMS за сутки — 2 из 200. "
        "Отправка группе из 50 человек — одна отправка и 50 SMS."
    )
    assert plain(await harness.say(ADMIN, f"/limits {ADMIN}")) == shown

    fourth = plain(await harness.say(ADMIN, f"/send {PHONE} four"))
    assert "#3 отправлено" in fourth
    assert harness.requests("smsrent") == 3


async def test_limit_is_checked_again_at_the_tap(start_bot: HarnessFactory) -> None:
    harness = await start_bot(send_confirmation=True, sends_per_minute=1)
    first = await harness.say(ADMIN, f"/send {PHONE} one")
    second = await harness.say(ADMIN, f"/send {PHONE} two")  # both previews shown
    first_send = str((first.reply_markup or {})["inline_keyboard"][0][0]["callback_data"])
    second_send = str((second.reply_markup or {})["inline_keyboard"][0][0]["callback_data"])

    await harness.press(ADMIN, first, first_send)
    await harness.api.wait_for_message(ADMIN, lambda m: "#1 отправлено" in plain(m))
    refused = await harness.press(ADMIN, second, second_send)

    assert "Лимит: не больше 1 отправок в минуту" in refused.params["text"]
    await harness.settle()
    assert harness.requests("smsrent") == 1


async def test_limits_for_a_user(harness: BotHarness) -> None:
    await harness.core.store.users.upsert(USER, name="Ivan", is_admin=False, added_by=ADMIN)

    reply = plain(await harness.say(ADMIN, f"/limits {USER} 1 -"))
    assert reply == (
        f"Лимиты {USER}: отправок за минуту — 0 из 1, SMS за сутки — 0 из 200. "
        "Отправка группе из 50 человек — одна отправка и 50 SMS."
    )

    await harness.say(USER, f"/send {PHONE} one")
    refused = plain(await harness.say(USER, f"/send {PHONE} two"))
    assert refused.startswith("⏳ Лимит: не больше 1 отправок в минуту.")
    assert harness.requests("smsrent") == 1
    # the admin's own default limit is untouched
    assert "#2 отправлено" in plain(await harness.say(ADMIN, f"/send {PHONE} admin"))

    usage = plain(await harness.say(ADMIN, f"/limits {USER} x 5"))
    assert usage.startswith("Напишите /limits 123456789 5 200")


async def test_limit_holds_for_sends_arriving_together(start_bot: HarnessFactory) -> None:
    """Three /send messages fetched in one getUpdates batch (a quick typist, or the backlog
    after a restart) are handled concurrently: the limit of 2 a minute must still hold.

    Was a real bug (handlers/sending.py, start_send): the limit was checked
    (``RateLimiter.check``) before the send is recorded (``MessageRepository.create``),
    with awaits in between and no lock, so concurrent sends all pass the check.
    """
    harness = await start_bot(sends_per_minute=2)
    for n in (1, 2, 3):
        harness.api.send_text(ADMIN, f"/send {PHONE} burst {n}")
    await harness.settle()

    answers = [plain(m) for m in harness.bot_messages(ADMIN)]
    assert len(answers) == 3
    assert sum("отправлено через smsrent" in a for a in answers) == 2, answers
    assert sum(a.startswith("⏳ Лимит: не больше 2 отправок в минуту.") for a in answers) == 1
    assert harness.requests("smsrent") == 2


async def test_limit_holds_for_taps_arriving_together(start_bot: HarnessFactory) -> None:
    """Two previews confirmed at the same moment with a limit of 1 a minute: one is sent.

    Was a real bug (handlers/sending.py, on_send): the same check-then-send race as above;
    the limit is now enforced in the transaction that records the send.
    """
    harness = await start_bot(send_confirmation=True, sends_per_minute=1)
    first = await harness.say(ADMIN, f"/send {PHONE} one")
    second = await harness.say(ADMIN, f"/send {PHONE} two")
    for preview in (first, second):
        data = str((preview.reply_markup or {})["inline_keyboard"][0][0]["callback_data"])
        harness.api.press_button(ADMIN, ADMIN, preview.message_id, data)
    await harness.settle()

    answers = [c.params for c in harness.api.calls_of("answerCallbackQuery")]
    assert harness.requests("smsrent") == 1, answers
    # The limit is checked in the transaction that would claim the preview: the refused
    # tap gets the limit as an alert, and its preview stays open for a later tap.
    refusals = [a for a in answers if "Лимит: не больше 1 отправок в минуту" in str(a.get("text"))]
    assert len(refusals) == 1, answers
    assert is_alert(refusals[0])
    still_open = [m for m in (first, second) if m.reply_markup]
    assert len(still_open) == 1
