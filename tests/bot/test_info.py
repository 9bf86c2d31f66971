"""/balance, /status, /history and the reply language."""

from __future__ import annotations

import pytest

from tests.bot.conftest import (
    ADMIN,
    PHONE,
    STRANGER,
    USER,
    BotHarness,
    HarnessFactory,
    plain,
)
from tests.fakes.botapi import SentMessage
from tests.fakes.gateways import SMSKA_AUTH_FAILED, Behaviour

OTHER_PHONE = "79031234567"


async def _allow_user(harness: BotHarness) -> None:
    await harness.core.store.users.upsert(USER, name="Ivan", is_admin=False, added_by=ADMIN)


# ---------------------------------------------------------------------------- /balance


async def test_balance_lists_both_gateways(harness: BotHarness) -> None:
    before = plain(await harness.say(ADMIN, "/balance"))

    assert before.splitlines() == [
        "💰 Баланс",
        "smsrent: пока неизвестен — шлюз сообщает баланс только при отправке",
        "smska: 7464 кредита",
    ]

    await harness.say(ADMIN, f"/send {PHONE} hi")
    after = plain(await harness.say(ADMIN, "/balance"))

    lines = after.splitlines()
    assert lines[1].startswith("smsrent: 499 SMS (по последней отправке #1, ")
    assert lines[2] == "smska: 7464 кредита"
    assert harness.requests("smsrent") == 1  # /balance never sends to smsrent


@pytest.mark.parametrize(
    ("fault", "shown"),
    [
        (Behaviour.HTTP_500, "smska: ❌ "),
        (SMSKA_AUTH_FAILED, "smska: ❌ шлюз smska не принял логин или ключ — проверьте настройки"),
    ],
    ids=["http-500", "auth"],
)
async def test_failing_smska_does_not_hide_smsrent(
    harness: BotHarness, fault: Behaviour | str, shown: str
) -> None:
    await harness.say(ADMIN, f"/send {PHONE} hi")
    if isinstance(fault, Behaviour):
        harness.gateways.queue_behaviour("smska", fault)
    else:
        harness.gateways.queue_answer("smska", fault)

    text = plain(await harness.say(ADMIN, "/balance"))

    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("smsrent: 499 SMS")
    assert lines[2].startswith(shown)
    assert "Traceback" not in text


async def test_balance_in_english(harness: BotHarness) -> None:
    text = plain(await harness.say(ADMIN, "/balance", lang="en-GB"))

    assert text.splitlines() == [
        "💰 Balance",
        "smsrent: not known yet — the gateway reports it only with a send",
        "smska: 7464 credits",
    ]


# ---------------------------------------------------------------------------- /status


async def test_status_by_number_gateway_id_and_reply(harness: BotHarness) -> None:
    sent = await harness.say(ADMIN, f"/send smska {PHONE} track me")
    await harness.settle()
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.gateway_id is not None
    gid = record.gateway_id

    def status_reply(message: SentMessage) -> bool:
        return message.message_id != sent.message_id

    by_number = plain(await harness.say(ADMIN, "/status 1", until=status_reply))
    assert by_number.startswith(
        "#1 → +79123456789 через smska\nСостояние: ✅ доставлено (4 DELIVRD)"
    )
    assert f"ID: {gid}" in by_number

    by_gid = plain(await harness.say(ADMIN, f"/status {gid}", until=status_reply))
    assert by_gid.startswith("#1 → +79123456789 через smska")

    by_reply = plain(
        await harness.say(ADMIN, "/status", reply_to=sent.message_id, until=status_reply)
    )
    assert by_reply.startswith("#1 → +79123456789 через smska")

    queries = [r for r in harness.gateways.requests_for("smska") if r.form.get("Action")]
    assert [(q.form["Action"], q.form["BatchId"]) for q in queries] == [("query", gid)] * 3
    stored = await harness.core.store.messages.get(1)
    assert stored is not None
    assert stored.state == "delivered"


async def test_status_of_smsrent_says_there_is_no_delivery_status(harness: BotHarness) -> None:
    await harness.say(ADMIN, f"/send {PHONE} hi")

    text = plain(await harness.say(ADMIN, "/status #1"))

    assert text.startswith("#1 → +79123456789 через smsrent\nСостояние: принято шлюзом")
    assert text.endswith("ℹ️ smsrent не сообщает статус доставки.")
    assert harness.requests("smsrent") == 1


async def test_status_usage_and_not_found(harness: BotHarness) -> None:
    usage = plain(await harness.say(ADMIN, "/status"))
    assert usage.startswith("Напишите /status 42")
    missing = plain(await harness.say(ADMIN, "/status 42"))
    assert missing == "Сообщение «42» не найдено."
    reply_to_other = await harness.say(ADMIN, "/help")
    not_a_send = plain(await harness.say(ADMIN, "/status", reply_to=reply_to_other.message_id))
    assert "не найдено" in not_a_send


async def test_user_cannot_see_someone_elses_message(harness: BotHarness) -> None:
    await _allow_user(harness)
    await harness.say(ADMIN, f"/send smska {PHONE} admin's secret")
    await harness.settle()
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.gateway_id is not None
    queries_before = harness.requests("smska")

    by_number = plain(await harness.say(USER, "/status 1"))
    by_gid = plain(await harness.say(USER, f"/status {record.gateway_id}"))

    assert by_number == "Сообщение «1» не найдено."
    assert by_gid == f"Сообщение «{record.gateway_id}» не найдено."
    assert "+79123456789" not in by_number + by_gid
    assert harness.requests("smska") == queries_before

    own = await harness.say(USER, f"/send {OTHER_PHONE} mine")
    assert "#2" in plain(own)
    mine = plain(await harness.say(USER, "/status 2"))
    assert mine.startswith("#2 → +79031234567 через smsrent")


# --------------------------------------------------------------------------- /history


async def test_history_own_for_users_everyone_for_admins(harness: BotHarness) -> None:
    await _allow_user(harness)
    empty = plain(await harness.say(USER, "/history"))
    assert empty == "Отправок пока нет."

    await harness.say(USER, f"/send {PHONE} from ivan")
    await harness.say(ADMIN, f"/send smska {OTHER_PHONE} from admin")

    own = plain(await harness.say(USER, "/history"))
    assert own.splitlines()[0] == "🕘 Последние отправки"
    assert "from ivan" in own
    assert "from admin" not in own
    assert "#1 " in own
    assert "·" not in own

    everyone = plain(await harness.say(ADMIN, "/history"))
    lines = everyone.splitlines()
    assert lines[1].startswith("#2 ")
    # the admin from ADMIN_IDS is shown by the name Telegram gave at their first message
    assert lines[1].endswith(f"→ +{OTHER_PHONE} (smska): принято шлюзом · User")
    assert lines[2].strip() == "from admin"
    assert lines[3].startswith("#1 ")
    assert lines[3].endswith(f"→ +{PHONE} (smsrent): принято шлюзом · Ivan")
    assert lines[4].strip() == "from ivan"

    limited = plain(await harness.say(ADMIN, "/history 1"))
    assert "from admin" in limited
    assert "from ivan" not in limited
    usage = plain(await harness.say(ADMIN, "/history 0"))
    assert usage.startswith("Напишите /history")


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("ru", "ru"),
        ("de", "ru"),
        (None, "ru"),
    ],
)
async def test_language_follows_language_code(
    harness: BotHarness, lang: str | None, expected: str
) -> None:
    help_text = plain(await harness.say(ADMIN, "/help", lang=lang))
    sent = plain(await harness.say(ADMIN, f"/send {PHONE} hi", lang=lang))
    refused = plain(await harness.say(STRANGER, "/help", lang=lang))

    if expected == "en":
        assert help_text.startswith("I send SMS through the gateway smsrent")
        assert "For admins" in help_text
        assert sent.startswith("✅ #1 sent via smsrent to +79123456789\nGateway id: 100001")
        assert refused.startswith("⛔ You are not on this bot's list of users.")
        assert f"who can add you with /allow {STRANGER}" in refused
    else:
        assert help_text.startswith("Я отправляю SMS через шлюз smsrent")
        assert "Администратору" in help_text
        assert sent.startswith("✅ #1 отправлено через smsrent на +79123456789")
        assert refused.startswith("⛔ Вы не в списке пользователей этого бота.")
        assert f"командой /allow {STRANGER}" in refused


async def test_help_for_a_user_has_no_admin_part(start_bot: HarnessFactory) -> None:
    harness = await start_bot()
    await _allow_user(harness)

    text = plain(await harness.say(USER, "/start"))

    assert text.startswith("Я отправляю SMS")
    assert "Администратору" not in text
    assert "/allow" not in text
