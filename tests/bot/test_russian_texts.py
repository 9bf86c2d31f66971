"""Russian replies carry no English words: every text, every rendered result and error,
and every reply of a real session; plain text and unknown commands get their own answers;
/status of a message whose gateway is no longer configured says so in both languages."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.core import open_core
from handlers.render import (
    error_reason,
    input_error,
    recorded_outcome,
    send_outcome,
    status_text,
    stored_reason,
)
from handlers.texts import STATE_NAMES, TEXTS, amount_with_unit, command_menu, state_name, t
from providers import errors as e
from providers.base import DeliveryState, DeliveryStatus
from services.domain import InvalidPhone, InvalidText
from services.gateways import UnknownProvider
from services.kinds import ErrorKind
from services.sending import FailedAttempt, Origin, SendOutcome
from services.status import StatusCheck
from storage.models import MessageRecord, MessageState
from tests.bot.conftest import (
    ADMIN,
    PHONE,
    STRANGER,
    USER,
    BotHarness,
    HarnessFactory,
    buttons,
    plain,
)
from tests.core.conftest import gateway_settings

#: Latin words a Russian reply may carry: names (gateways, Telegram), abbreviations
#: used as they are in Russian (SMS, ID, IP, UTC, GSM-7, UCS-2) and the gateways' own
#: status names, quoted as the gateway gives them.
ALLOWED = frozenset(
    {
        "smsrent",
        "smska",
        "sandbox",
        "Telegram",
        "SMS",
        "ID",
        "IP",
        "UTC",
        "GSM",
        "UCS",
        "NUL",
        "UTF",
        "WINDOWS",
        "DELIVRD",
        "ACCEPTD",
        "REJECTD",
        "EXPIRED",
        # the fake Telegram user's own first name, which the bot shows as the user's name
        "User",
    }
)
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def english_words(html_text: str) -> list[str]:
    """Latin words of a reply outside the allow-list. Quoted data is left out:
    ``<code>`` (numbers, ids, command examples, a gateway's raw answer),
    ``<blockquote>`` and «…» (the user's own text and input) and /commands."""
    text = re.sub(r"<code>.*?</code>", " ", html_text, flags=re.S)
    text = re.sub(r"<blockquote>.*?</blockquote>", " ", text, flags=re.S)
    text = re.sub(r"«[^»]*»", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"/[a-z_]+", " ", text)
    return [w for w in _LATIN.findall(text) if w not in ALLOWED]


def _record(**changes: Any) -> MessageRecord:
    at = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    values: dict[str, Any] = {
        "id": 7,
        "created_at": at,
        "updated_at": at,
        "source": "telegram",
        "user_id": USER,
        "user_name": "Иван",
        "lang": "ru",
        "chat_id": USER,
        "reply_message_id": 3,
        "recipient": PHONE,
        "text": "Сервер недоступен",
        "encoding": "UCS-2",
        "parts": 1,
        "provider": "smska",
        "state": MessageState.SENT,
        "gateway_id": "90a11r3gkj624ffa9",
        "error_kind": None,
        "error_text": None,
        "balance_after": Decimal(7463),
        "balance_unit": "credits",
        "simulated": False,
        "idempotency_key": None,
        "status_code": None,
        "status_name": None,
        "next_check_at": None,
        "checks": 0,
        "notified": True,
    }
    values.update(changes)
    return MessageRecord(**values)


def _errors() -> Iterator[e.ProviderError]:
    """One of every error the gateways raise, with the details that are shown."""
    for cls in (
        e.AuthenticationFailed,
        e.InvalidSignature,
        e.InsufficientFunds,
        e.InvalidRecipient,
        e.InvalidSender,
        e.InvalidRequest,
        e.MessageNotFound,
        e.GatewayRefused,
    ):
        yield cls("smsrent", "refused in English", raw="Error: something")
    yield e.AccessDenied("smsrent", "ip not allowed", ip="203.0.113.5")
    yield e.AccessDenied("smsrent", "project not allowed")
    yield e.GatewayInternalError("smsrent", "internal", code="17")
    yield e.ProtocolError("smska", "cannot read the answer", raw="<html>oops</html>")
    yield e.ProtocolError("smska", "cannot read the answer")
    yield e.UnsupportedOperation("smsrent", "delivery status")
    yield e.GatewayNotConfigured("smska")
    yield e.NotSent("smska", "could not connect (ConnectError)")
    yield e.OutcomeUnknown("smska", "read timeout", raw="partial answer")
    yield e.OutcomeUnknown("smska", "read timeout")
    yield e.TransportError("smska", "transport failed")
    yield e.ProviderError("smska", "something in English")


def _texts() -> Iterator[tuple[str, str]]:
    # Every template, with neutral values in its blanks.
    for key, texts in TEXTS.items():
        names = [f for _, f, _, _ in string.Formatter().parse(texts["ru"]) if f]
        params = dict.fromkeys(names, "1")
        params.update({k: "smska" for k in ("gateway", "failed", "gateways", "name") if k in names})
        yield f"TEXTS[{key}]", t("ru", key, **params)
    for state in STATE_NAMES:
        yield f"state {state}", state_name("ru", state)
    for command, description in command_menu("ru"):
        yield f"menu {command}", description
    for unit in ("credits", "SMS"):
        for amount in (Decimal(1), Decimal(3), Decimal(7463), Decimal("2.5"), Decimal(11)):
            yield f"amount {amount} {unit}", amount_with_unit("ru", amount, unit)
    # Every error, as a reason and inside each answer that carries one.
    for error in _errors():
        name = type(error).__name__
        yield f"reason {name}", error_reason(error, "ru")
        failed = _record(state=MessageState.FAILED, gateway_id=None, balance_after=None)
        yield f"failed {name}", send_outcome(SendOutcome(failed, error=error), "ru")
        unknown = _record(state=MessageState.UNKNOWN, gateway_id=None, balance_after=None)
        yield f"unknown {name}", send_outcome(SendOutcome(unknown, error=error), "ru")
        sent = _record(provider="smsrent", balance_unit="SMS", balance_after=Decimal(498))
        attempt = FailedAttempt("smska", error)
        yield (
            f"failover {name}",
            send_outcome(SendOutcome(sent, failed_attempts=(attempt,)), "ru"),
        )
        yield f"status {name}", status_text(StatusCheck(_record(), None, error=error), "ru")
        # What was stored of it, read back later (history, a late answer).
        for state in (MessageState.FAILED, MessageState.UNKNOWN):
            stored = _record(state=state, error_kind=name, error_text=str(error))
            yield f"stored {state} {name}", stored_reason(stored, "ru")
            yield f"recorded {state} {name}", recorded_outcome(stored, "ru")
    for kind in (*ErrorKind, "InvalidText", "SomethingNew", None):
        for state in (MessageState.FAILED, MessageState.UNKNOWN):
            stored = _record(state=state, error_kind=kind, error_text="English detail")
            yield f"stored {state} {kind}", stored_reason(stored, "ru")
    # Sent, delivered and the rest, live and sandbox, with each unit.
    for state in MessageState:
        for simulated, unit in ((False, "credits"), (False, "SMS"), (True, "SMS")):
            record = _record(
                state=state,
                simulated=simulated,
                balance_unit=unit,
                provider="sandbox" if simulated else "smska",
                status_code="4",
                status_name="DELIVRD",
            )
            yield f"sent {state} {unit}", send_outcome(SendOutcome(record), "ru")
            yield f"duplicate {state}", send_outcome(SendOutcome(record, duplicate=True), "ru")
            status = DeliveryStatus(
                "smska",
                record.gateway_id or "",
                DeliveryState.DELIVERED,
                "4",
                "DELIVRD",
                record.created_at,
            )
            yield f"status {state}", status_text(StatusCheck(record, status), "ru")
    # Bad input.
    for invalid in (
        InvalidPhone("", "The phone number is empty."),
        InvalidPhone("12ab", "Not a phone number."),
        InvalidText("The message text is empty."),
        InvalidText("The message text contains a NUL character."),
        InvalidText("The message is too long: 9 characters, at most 8.", length=9, limit=8),
        InvalidText(
            "The message is too long for smsrent.", length=200, limit=160, provider="smsrent"
        ),
        InvalidText("Cannot encode.", char="€", provider="smsrent", encoding="WINDOWS-1251"),
        UnknownProvider("nosuch", ["smsrent", "smska"]),
    ):
        yield f"input {invalid!r}", input_error(invalid, "ru")


@pytest.mark.parametrize(("where", "text"), list(_texts()), ids=lambda v: str(v)[:60])
def test_every_rendered_russian_text_is_russian(where: str, text: str) -> None:
    assert english_words(text) == [], f"{where}: {text!r}"


def test_units_are_said_in_russian() -> None:
    assert amount_with_unit("ru", Decimal(7463), "credits") == "7463 кредита"
    assert amount_with_unit("ru", Decimal(7465), "credits") == "7465 кредитов"
    assert amount_with_unit("ru", Decimal(21), "credits") == "21 кредит"
    assert amount_with_unit("ru", Decimal(11), "credits") == "11 кредитов"
    assert amount_with_unit("ru", Decimal(999), "SMS") == "999 SMS"
    assert amount_with_unit("en", Decimal(7463), "credits") == "7463 credits"


async def test_a_whole_russian_session_has_no_english(start_bot: HarnessFactory) -> None:
    """Every reply a user and an admin get in a session touching every command."""
    harness = await start_bot(send_confirmation=True)
    await harness.core.store.users.upsert(USER, name="Иван", is_admin=False, added_by=ADMIN)
    # A send from the command line shows in the admin's /history.
    prepared = harness.core.sender.prepare(PHONE, "из скрипта", "smska")
    await harness.core.sender.send(prepared, Origin(source="cli"))
    for text in (
        "/start",
        "/help",
        "/balance",
        f"/send smska {PHONE} Сервер недоступен",
        "/status 1",
        "/status 999",
        "/status",
        "/history",
        "/history 500",
        "/users",
        f"/limits {USER}",
        "/limits",
        "/allow",
        f"/allow {USER} Иван",
        "/deny",
        "/deny 424242",
        f"/deny {ADMIN}",
        "/send 12ab Привет",
        f"/send nosuch {PHONE} Привет",
        f"/send {PHONE}",
        "/send",
        "/cancel",
        "/cancel",
        "просто текст",
        "/nosuchcommand",
    ):
        await harness.say(ADMIN, text)
    preview = await harness.say(ADMIN, f"/send {PHONE} Проверка")
    await harness.press(ADMIN, preview, buttons(preview)[0])
    await harness.press(ADMIN, preview, buttons(preview)[0] if buttons(preview) else "x")
    await harness.say(USER, "/help")
    await harness.say(USER, "/users")
    await harness.say(STRANGER, "/start")
    await harness.settle()

    replies = _all_replies(harness, ADMIN) + _all_replies(harness, USER)
    replies += _all_replies(harness, STRANGER)
    assert any("кредит" in text for text in replies)  # the balance of smska was shown
    assert any("командная строка" in text for text in replies)  # the CLI send in /history
    found = {text: english_words(text) for text in replies if english_words(text)}
    assert found == {}


def _all_replies(harness: BotHarness, chat_id: int) -> list[str]:
    messages = harness.bot_messages(chat_id)
    texts = [m.text for m in messages] + [edit for m in messages for edit in m.edits]
    texts += [
        str(call.params["text"])
        for call in harness.api.calls_of("answerCallbackQuery")
        if call.params.get("text")
    ]
    return texts


@pytest.mark.parametrize(
    ("lang", "plain_answer", "command_answer"),
    [
        ("ru", "Я отправляю SMS", "Не понимаю эту команду"),
        ("en", "I send SMS", "I don't know that command"),
    ],
)
async def test_plain_text_is_not_called_an_unknown_command(
    harness: BotHarness, lang: str, plain_answer: str, command_answer: str
) -> None:
    text = plain(await harness.say(ADMIN, "hello there", lang=lang))
    assert text.startswith(plain_answer)
    assert "/send 79123456789" in text and "/help" in text
    unknown = plain(await harness.say(ADMIN, "/frobnicate", lang=lang))
    assert unknown.startswith(command_answer)
    assert harness.requests("smsrent") == harness.requests("smska") == 0


async def test_help_names_each_gateway_once(harness: BotHarness) -> None:
    ru = plain(await harness.say(ADMIN, "/help"))
    assert ru.splitlines()[0] == "Я отправляю SMS через шлюз smsrent (также: smska)."
    en = plain(await harness.say(ADMIN, "/help", lang="en"))
    assert en.splitlines()[0] == "I send SMS through the gateway smsrent (also: smska)."


async def test_help_with_one_gateway_has_no_repeat(start_bot: HarnessFactory) -> None:
    harness = await start_bot(smsrent_project_id=None, smsrent_secret_key=None, smsrent_sender=None)
    text = plain(await harness.say(ADMIN, "/help"))
    assert text.splitlines()[0] == "Я отправляю SMS через шлюз smska."
    assert "(smska)" not in text


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", "Шлюз smska здесь не настроен, поэтому я его не спрашивал: показано последнее"),
        ("en", "smska is not configured here, so it was not asked: this is the last known"),
    ],
)
async def test_status_of_a_message_whose_gateway_is_no_longer_configured(
    start_bot: HarnessFactory, lang: str, expected: str
) -> None:
    later = await start_bot(smska_api_key=None, smska_api_password=None, smska_sender=None)
    # Sent through smska while it was configured (same database).
    settings = gateway_settings(later.gateways, later.settings.database_path)
    async with open_core(settings) as core:
        prepared = core.sender.prepare(PHONE, "Сервер недоступен", "smska")
        outcome = await core.sender.send(
            prepared, Origin(source="telegram", user_id=ADMIN, chat_id=ADMIN)
        )
    assert outcome.record.state is MessageState.SENT
    assert later.requests("smska") == 1

    text = plain(await later.say(ADMIN, "/status 1", lang=lang))

    assert expected in text
    assert "#1" in text
    assert "offers no delivery status" not in text
    assert "не сообщает статус" not in text
    assert later.requests("smska") == 1  # the send only: smska was not asked
