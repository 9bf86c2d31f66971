"""Every way a send can fail, as the person sees it: one clear message, no traceback,
the right record state, and never more than one request to the gateway."""

from __future__ import annotations

import pytest

from storage.models import MessageState
from tests.bot.conftest import ADMIN, PHONE, BotHarness, HarnessFactory, plain
from tests.fakes.gateways import (
    SMSKA_ARGUMENTS_INVALID,
    SMSKA_AUTH_FAILED,
    SMSKA_INVALID_MSISDN,
    SMSKA_NO_CREDITS,
    SMSKA_SENDER_NOT_VALID,
    SMSKA_SENT_ERROR,
    Behaviour,
)

TECHNICAL = ("Traceback", "Exception", "Error:", "httpx", "Timeout", "\n  File ")


def assert_human(text: str) -> None:
    for word in TECHNICAL:
        assert word not in text, f"{word!r} in {text!r}"


async def _send_and_fail(harness: BotHarness, gateway: str) -> str:
    reply = await harness.say(ADMIN, f"/send {gateway} {PHONE} test message")
    await harness.settle()
    assert len(harness.bot_messages(ADMIN)) == 1
    assert harness.requests(gateway) == 1
    return plain(reply)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (SMSKA_AUTH_FAILED, "шлюз smska не принял логин или ключ — проверьте настройки"),
        (SMSKA_SENT_ERROR, "внутренняя ошибка шлюза smska (код 3)"),
        (SMSKA_ARGUMENTS_INVALID, "шлюз smska счёл запрос неполным или неверным"),
        (SMSKA_NO_CREDITS, "на счёте smska закончились деньги или SMS"),
        (SMSKA_INVALID_MSISDN, "шлюз smska считает номер получателя неверным или недоступным"),
        (SMSKA_SENDER_NOT_VALID, "шлюз smska не принял имя отправителя"),
    ],
    ids=["1-auth", "3-sent-error", "4-arguments", "5-credits", "6-msisdn", "7-sender"],
)
async def test_smska_errors(harness: BotHarness, answer: str, reason: str) -> None:
    harness.gateways.queue_answer("smska", answer)

    text = await _send_and_fail(harness, "smska")

    assert text == f"❌ #1 не отправлено: {reason}\nНичего не ушло, деньги не списаны."
    assert_human(text)
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.state == MessageState.FAILED
    assert harness.gateways.sent == {}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Sign not valid", "шлюз smsrent не принял подпись запроса — проверьте ключ проекта"),
        (
            "Access denied! IP=1.2.3.4 is not valid!",
            "шлюз smsrent не пускает IP-адрес 1.2.3.4 — добавьте его в настройках проекта",
        ),
        ("Balance is empty", "на счёте smsrent закончились деньги или SMS"),
        ("Error gateway:17", "внутренняя ошибка шлюза smsrent (код 17)"),
        ("Access denied! Secret key is not valid!", "шлюз smsrent не принял логин или ключ"),
    ],
    ids=["sign", "ip", "balance", "gateway-code", "skey"],
)
async def test_smsrent_errors(harness: BotHarness, answer: str, reason: str) -> None:
    harness.gateways.queue_answer("smsrent", answer)

    text = await _send_and_fail(harness, "smsrent")

    assert text.startswith(f"❌ #1 не отправлено: {reason}")
    assert text.endswith("\nНичего не ушло, деньги не списаны.")
    assert_human(text)
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.state == MessageState.FAILED


@pytest.mark.parametrize("gateway", ["smsrent", "smska"])
@pytest.mark.parametrize(
    "behaviour",
    [Behaviour.GARBLED, Behaviour.SLOW, Behaviour.DROP, Behaviour.HTML_502, Behaviour.EMPTY],
    ids=lambda b: b.value,
)
async def test_outcome_unknown(
    start_bot: HarnessFactory, gateway: str, behaviour: Behaviour
) -> None:
    harness = await start_bot(http_read_timeout=0.5)
    harness.gateways.queue_behaviour(gateway, behaviour)

    text = await _send_and_fail(harness, gateway)

    assert text.startswith("⚠️ #1: результат неизвестен — ")
    assert "SMS могло уйти, а могло и нет." in text
    assert "может прийти дважды" in text
    assert_human(text)
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.state == MessageState.UNKNOWN
    # the bot does not try again on its own, nor on another gateway
    other = "smska" if gateway == "smsrent" else "smsrent"
    assert harness.requests(other) == 0
    status = await harness.say(ADMIN, "/status 1")
    assert "⚠️ неизвестно, ушло ли" in plain(status)
    assert harness.requests(gateway) == 1


async def test_refused_connection_means_not_sent(
    start_bot: HarnessFactory, refused_url: str
) -> None:
    harness = await start_bot(smska_url=refused_url)

    reply = await harness.say(ADMIN, f"/send smska {PHONE} test")

    text = plain(reply)
    assert text == (
        "❌ #1 не отправлено: не удалось подключиться к шлюзу smska\n"
        "Ничего не ушло, деньги не списаны."
    )
    await harness.settle()
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.state == MessageState.FAILED
    assert harness.gateways.requests == []


async def test_error_in_english(harness: BotHarness) -> None:
    harness.gateways.queue_answer("smska", SMSKA_NO_CREDITS)

    reply = await harness.say(ADMIN, f"/send smska {PHONE} hi", lang="en")

    assert plain(reply) == (
        "❌ #1 was not sent: the smska account has no money or SMS left\nNothing went out."
    )


async def test_text_smsrent_cannot_encode_is_refused_in_the_users_language(
    start_bot: HarnessFactory,
) -> None:
    """Was a real bug (handlers/render.py, input_error): a character the gateway's encoding
    cannot carry was refused with the English ``str(error)``."""
    harness = await start_bot(smsrent_encoding="WINDOWS-1251")

    reply = plain(await harness.say(ADMIN, f"/send {PHONE} Привет 🙂"))

    await harness.settle()
    assert harness.requests("smsrent") == 0
    assert reply.endswith("\nНичего не отправлено.")
    assert "🙂" in reply
    reason = reply.splitlines()[0]
    assert "cannot be sent" not in reason, reply
    assert "Символ" in reason, reply


async def test_text_too_long_for_smsrent_is_refused(harness: BotHarness) -> None:
    reply = plain(await harness.say(ADMIN, f"/send {PHONE} " + "я" * 200))

    assert reply == (
        "❌ Сообщение слишком длинное: 200 символов, максимум 160. (smsrent)\nНичего не отправлено."
    )
    await harness.settle()
    assert harness.requests("smsrent") == 0
    assert await harness.core.store.messages.get(1) is None
