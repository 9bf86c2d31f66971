"""Fault injection: the guarantees that keep an SMS from going out twice, a record
from being lost, and a stranger from reaching any handler.

Counts are small by default; ``SMSBOT_FAULT_SCALE=10 uv run pytest tests/bot/test_faults.py``
runs them larger. docs/faults.md lists every fault, how it is injected here and
what the user sees.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from handlers.middlewares import AccessMiddleware
from services.access import Access
from storage.audit import AuditLog
from storage.db import Database
from storage.models import MessageState
from storage.strangers import StrangerRepository
from storage.users import UserRepository
from tests.bot.conftest import ADMIN, PHONE, STRANGER, BotHarness, HarnessFactory, buttons, plain

SCALE = max(1, int(os.environ.get("SMSBOT_FAULT_SCALE", "1")))

COMMANDS = [
    "/start",
    "/help",
    "/send",
    f"/send {PHONE} hi",
    f"/send smska {PHONE} hi",
    "/balance",
    "/status 1",
    "/status",
    "/history",
    "/history 5",
    "/cancel",
    "/allow 999 admin",
    f"/allow {STRANGER} admin",
    "/deny 111",
    "/users",
    "/limits 111 0 0",
    "hello",
    PHONE,
    "/unknown",
]
CALLBACKS = ["pv:send:AAAAAAAAAAAAAAAA", "pv:cancel:AAAAAAAAAAAAAAAA", "pv:send:", "garbage", ""]


@pytest.fixture
async def debug_bot(
    start_bot: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Callable[..., Any]]:
    """``start_bot`` with every logger at DEBUG; after the test, no secret may appear in
    anything logged during the whole fault scenario."""
    harnesses: list[BotHarness] = []

    async def start(**overrides: Any) -> BotHarness:
        harness = await start_bot(**overrides)
        caplog.set_level(logging.DEBUG)
        for name in ("httpx", "httpcore", "aiogram", "aiohttp", "aiosqlite"):
            caplog.set_level(logging.DEBUG, logger=name)
        harnesses.append(harness)
        return harness

    yield start
    for harness in harnesses:
        settings = harness.settings
        secrets = [s for s in settings.secret_values() if s]
        secrets.append(settings.bot_token.get_secret_value() if settings.bot_token else "")
        for record in caplog.records:
            text = record.getMessage() + (record.exc_text or "")
            for secret in filter(None, secrets):
                assert secret not in text, f"a secret leaked in a {record.name} log record"


# --------------------------------------------------------------------- no double send


async def test_a_reply_that_fails_never_causes_a_second_sms(debug_bot: Callable[..., Any]) -> None:
    harness: BotHarness = await debug_bot()
    harness.api.fail_next["sendMessage"] = 500
    update_id = harness.api.send_text(ADMIN, f"/send {PHONE} reply will fail")
    await harness.settle()
    assert harness.requests("smsrent") == 1
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.state == MessageState.SENT
    # Telegram delivers the same update again (as after a lost acknowledgement).
    harness.api.add_raw_update(_same_update(harness, update_id))
    await harness.settle()
    assert harness.requests("smsrent") == 1
    history = await harness.say(ADMIN, "/history")
    assert "#1" in plain(history)


def _same_update(harness: BotHarness, update_id: int) -> dict[str, Any]:
    for call in harness.api.calls_of("getUpdates"):
        for update in call.result or []:
            if isinstance(update, dict) and update.get("update_id") == update_id:
                return dict(update)
    raise AssertionError(f"update {update_id} was never delivered")


async def test_simultaneous_taps_on_one_preview_send_once(debug_bot: Callable[..., Any]) -> None:
    harness: BotHarness = await debug_bot(send_confirmation=True)
    preview = await harness.say(ADMIN, f"/send {PHONE} tap tap tap")
    send = buttons(preview)[0]
    for _ in range(5 * SCALE):
        harness.api.press_button(ADMIN, ADMIN, preview.message_id, send)
    await harness.settle()
    assert harness.requests("smsrent") == 1
    answers = [str(c.params.get("text")) for c in harness.api.calls_of("answerCallbackQuery")]
    assert sum("Отправляю" in a for a in answers) == 1, answers


async def test_a_send_with_unknown_outcome_is_never_retried_nor_failed_over(
    debug_bot: Callable[..., Any],
) -> None:
    from tests.fakes.gateways import Behaviour

    harness: BotHarness = await debug_bot(failover=["smska"], http_read_timeout=0.5)
    harness.gateways.queue_behaviour("smsrent", Behaviour.SLOW)
    reply = await harness.say(ADMIN, f"/send {PHONE} slow one", timeout=10)
    assert "неизвестен" in plain(reply)
    await harness.settle()
    assert harness.requests("smsrent") == 1
    assert harness.requests("smska") == 0
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.state == MessageState.UNKNOWN


async def test_failover_after_a_refusal_tells_who_delivered(debug_bot: Callable[..., Any]) -> None:
    harness: BotHarness = await debug_bot(failover=["smska"])
    harness.gateways.queue_answer("smsrent", "Balance is empty")
    reply = await harness.say(ADMIN, f"/send {PHONE} failover", lang="en")
    text = plain(reply)
    assert "sent via smska" in text
    assert "Tried smsrent first" in text
    assert harness.requests("smsrent") == 1
    assert harness.requests("smska") == 1


# ------------------------------------------------------------------------ concurrency


async def test_fifty_users_sending_at_once(debug_bot: Callable[..., Any]) -> None:
    users = 50 * SCALE
    harness: BotHarness = await debug_bot(default_provider="smska", sends_per_minute=0)
    harness.gateways.latency = 0.02
    ids = list(range(5000, 5000 + users))
    for user_id in ids:
        await harness.core.store.users.upsert(
            user_id, name=f"u{user_id}", is_admin=False, added_by=ADMIN
        )
    for user_id in ids:
        harness.api.send_text(user_id, f"/send {PHONE} from {user_id}")
    await harness.settle(timeout=30 * SCALE)
    assert harness.requests("smska") == users
    rows = await harness.core.db.fetchall("SELECT id, user_id, state FROM messages")
    assert len(rows) == users
    assert sorted(r["user_id"] for r in rows) == ids
    assert {r["state"] for r in rows} == {"sent"}
    for user_id in ids:
        answers = harness.bot_messages(user_id)
        assert len(answers) == 1, (user_id, [m.text for m in answers])
        assert "отправлено через smska" in plain(answers[0])


# ----------------------------------------------------------------------------- access


async def test_a_stranger_reaches_no_handler_with_any_command_or_button(
    debug_bot: Callable[..., Any],
) -> None:
    harness: BotHarness = await debug_bot(send_confirmation=True)
    preview = await harness.say(ADMIN, f"/send {PHONE} admin's preview")
    callbacks = [*CALLBACKS, *buttons(preview)]
    rng = random.Random(4)
    inputs = COMMANDS * SCALE + [
        rng.choice(COMMANDS) + " " + _noise(rng) for _ in range(10 * SCALE)
    ]
    for text in inputs:
        harness.api.send_text(STRANGER, text)
    for data in callbacks:
        harness.api.press_button(STRANGER, ADMIN, preview.message_id, data)
    harness.api.edit_text(STRANGER, 1, f"/send {PHONE} edited")
    await harness.settle()
    assert harness.gateways.requests == []
    # One refusal with their id per hour, as a message or an alert; every tap is
    # answered (or the button keeps spinning), the others silently.
    answers = harness.bot_messages(STRANGER)
    assert all(str(STRANGER) in m.text and "/allow" in m.text for m in answers)
    calls = harness.api.calls_of("answerCallbackQuery")
    assert len(calls) == len(callbacks)
    alerts = [c for c in calls if c.params.get("text")]
    assert all(str(STRANGER) in str(c.params.get("text")) for c in alerts)
    assert len(answers) + len(alerts) == 1
    assert await harness.core.store.users.get(STRANGER) is None
    denied = await harness.core.store.audit.recent(limit=1000, action="denied")
    assert len(denied) == 1
    stranger = await harness.core.store.strangers.get(STRANGER)
    assert stranger is not None
    assert stranger.count == len(inputs) + len(callbacks) + 1
    # The admin's preview is untouched: the stranger's taps did nothing to it.
    assert (
        await harness.core.store.previews.get(buttons(preview)[0].split(":")[2])
    ).state == "open"  # type: ignore[union-attr]


def _noise(rng: random.Random) -> str:
    alphabet = "абв abc 0123456789 +-()<>&\"'\u200f\u202e\x07\t\n🙂"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))


# ------------------------------------------------------------------------ bad input


def _bad_inputs(rng: random.Random, count: int) -> list[str]:
    pieces = [
        "\u200f",
        "\u202e",
        "\x00",
        "\x1b[31m",
        "\t",
        "\n",
        "<b>",
        "</i>",
        "&amp;",
        "&",
        "🙂",
        "👨‍👩‍👧",
        "ю",
        "Ω",
        "\ufeff",
        "+7",
        "8 (912)",
        "345-67-89",
        "79123456789",
        "+44 20 7946 0958",
        "12345",
        "0",
        "-1",
        "9" * 30,
        "'; DROP TABLE messages; --",
        "%s%n",
        "{0}",
        "{text}",
    ]
    commands = [
        "/send",
        "/send smska",
        "/send nosuchgateway",
        "/status",
        "/history",
        "/limits",
        "/allow",
        "/deny",
        "/balance",
        "",
    ]
    out = [f"/send {PHONE} " + "x" * 10_000, "/send " + "9" * 5000, "/history 999999999999999"]
    while len(out) < count:
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        out.append(f"{rng.choice(commands)} {body}".strip() or "?")
    return out


async def test_arbitrary_text_always_gets_a_clear_answer_and_never_a_gateway_request(
    debug_bot: Callable[..., Any],
) -> None:
    harness: BotHarness = await debug_bot(send_confirmation=True)
    inputs = _bad_inputs(random.Random(7), 60 * SCALE)
    for text in inputs:
        before = len(harness.bot_messages(ADMIN))
        harness.api.send_text(ADMIN, text)
        await harness.settle()
        after = harness.bot_messages(ADMIN)
        assert len(after) > before, f"no answer to {text[:80]!r}"
        assert all("Traceback" not in m.text and "Exception" not in m.text for m in after[before:])
        await harness.say(ADMIN, "/cancel")  # leave any guided flow it started
    assert harness.gateways.requests == [] or all(
        "Action" in r.form
        for r in harness.gateways.requests  # only /balance's queries
    )
    rows = await harness.core.db.fetchall("SELECT COUNT(*) AS n FROM messages")
    assert rows[0]["n"] == 0


# -------------------------------------------------- access middleware, property-based


@pytest.mark.parametrize("seed", range(3))
async def test_access_middleware_never_calls_the_handler_for_strangers(
    tmp_path: Any, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused: list[int] = []

    async def record_refusal(self: AccessMiddleware, event: Any, user: User, data: Any) -> None:
        refused.append(user.id)

    # The refusal's reply is covered at dispatcher level; here only who got through counts.
    monkeypatch.setattr(AccessMiddleware, "_refuse", record_refusal)
    async with Database(tmp_path / "access.sqlite3") as db:
        users = UserRepository(db)
        await users.ensure_admin(ADMIN)
        middleware = AccessMiddleware(Access(users, AuditLog(db), StrangerRepository(db)))
        rng = random.Random(seed)
        reached: list[int] = []

        async def handler(event: Any, data: dict[str, Any]) -> None:
            reached.append(data["event_from_user"].id)

        for n in range(100 * SCALE):
            user_id = rng.choice([ADMIN, STRANGER, rng.randint(1, 10**10)])
            update, sender = _random_update(rng, n, user_id)
            await middleware(handler, update, {"event_from_user": sender})
            expected = [ADMIN] if user_id == ADMIN else []
            assert reached == expected, (user_id, update.event_type)
            assert refused == ([] if user_id == ADMIN else [user_id])
            reached.clear()
            refused.clear()


def _random_update(rng: random.Random, n: int, user_id: int) -> tuple[Update, User]:
    user = User(
        id=user_id, is_bot=False, first_name="X", language_code=rng.choice(["ru", "en", None])
    )
    chat = Chat(id=user_id, type="private")
    text = rng.choice(COMMANDS) + " " + _noise(rng)
    message = Message(
        message_id=n + 1,
        date=datetime(2026, 1, 1, tzinfo=UTC),
        chat=chat,
        from_user=user,
        text=text,
    )
    if rng.random() < 0.4:
        query = CallbackQuery(
            id=str(n),
            from_user=user,
            chat_instance="1",
            data=rng.choice(CALLBACKS),
            message=message,
        )
        return Update(update_id=n, callback_query=query), user
    if rng.random() < 0.2:
        return Update(update_id=n, edited_message=message), user
    return Update(update_id=n, message=message), user


# --------------------------------------------------------------- late Telegram answers


async def test_a_tap_too_old_to_answer_still_sends_once_and_replies(
    debug_bot: Callable[..., Any],
) -> None:
    harness: BotHarness = await debug_bot(send_confirmation=True)
    preview = await harness.say(ADMIN, f"/send {PHONE} late tap")
    harness.api.fail_next["answerCallbackQuery"] = 400  # "query is too old"
    harness.api.press_button(ADMIN, ADMIN, preview.message_id, buttons(preview)[0])
    await harness.settle()
    assert harness.requests("smsrent") == 1
    edited = harness.api.messages[(ADMIN, preview.message_id)]
    assert "#1" in plain(edited)
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert record.reply_message_id == preview.message_id


async def test_senders_without_an_answer_are_told_at_start(start_bot: HarnessFactory) -> None:
    from bot.telegram import TelegramNotifier
    from storage.db import utcnow

    harness = await start_bot()
    harness.api.fail_next["sendMessage"] = 500
    harness.api.send_text(ADMIN, f"/send {PHONE} the answer is lost", language_code="en")
    await harness.settle()
    assert harness.bot_messages(ADMIN) == []
    # What on_startup does at the next start:
    notifier = TelegramNotifier(harness.bot, harness.core.store.messages)
    pending = await harness.core.store.messages.unreported(since=utcnow() - timedelta(days=2))
    assert [r.id for r in pending] == [1]
    assert await notifier.report_unreported(pending) == 1
    told = harness.bot_messages(ADMIN)
    assert len(told) == 1
    assert "did not reach you" in plain(told[0])
    assert "#1 sent via smsrent" in plain(told[0])
    assert await harness.core.store.messages.unreported(since=utcnow() - timedelta(days=2)) == []
    assert harness.requests("smsrent") == 1
