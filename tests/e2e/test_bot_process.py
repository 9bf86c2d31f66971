"""End to end: the real bot process (``python -m bot``) against the fake Bot API
and the fake gateways, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.messages import MessageRepository
from storage.models import MessageState
from tests.fakes.botapi import FakeBotApi, SentMessage
from tests.fakes.gateways import FakeGateways

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 111
USER = 222
STRANGER = 333
START_TIMEOUT = 60.0  # importing aiogram alone takes seconds on a busy machine


class BotProcess:
    def __init__(self, api: FakeBotApi, gateways: FakeGateways, db_path: Path) -> None:
        self.api = api
        self.gateways = gateways
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SMS", "BOT_", "TELEGRAM_"))
            },
            "BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "ADMIN_IDS": str(ADMIN),
            "SMSRENT_URL": gateways.smsrent_url,
            "SMSRENT_PROJECT_ID": "1234",
            "SMSRENT_SECRET_KEY": "test-skey",
            "SMSRENT_SENDER": "TestSender",
            "SMSKA_URL": gateways.smska_url,
            "SMSKA_API_KEY": "test",
            "SMSKA_API_PASSWORD": "test-password",
            "SMSKA_SENDER": "TestSender",
            "DEFAULT_PROVIDER": "smska",
            "DATABASE_PATH": str(db_path),
            "STATUS_POLL_FIRST_SECONDS": "0.3",
            "HTTP_READ_TIMEOUT": "30",
            "LOG_LEVEL": "DEBUG",
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = db_path.parent / "bot.log"

    async def start(self) -> None:
        commands_before = len(self.api.calls_of("setMyCommands"))
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        log.close()
        LIVE.append(self.proc)
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while len(self.api.calls_of("setMyCommands")) <= commands_before:
            if self.proc.returncode is not None:
                raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{self.logs()}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the bot did not start:\n{self.logs()}")
            await asyncio.sleep(0.05)
        # Polling has begun once getUpdates is called after the command menu.
        await self.api.wait_for_call("getUpdates", timeout=START_TIMEOUT)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout=30)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def say(self, user: int, text: str, *, lang: str = "en") -> SentMessage:
        before = {m.message_id for m in self.api.messages_to(user)}
        self.api.send_text(user, text, language_code=lang)
        return await self.api.wait_for_message(
            user, lambda m: m.message_id not in before, timeout=15
        )


LIVE: list[asyncio.subprocess.Process] = []


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[FakeBotApi, FakeGateways, Path]]:
    async with FakeBotApi() as api, FakeGateways(delivery_after=0.5) as gateways:
        try:
            yield api, gateways, tmp_path / "smsbot.sqlite3"
        finally:
            # A failed test must not leave a bot process behind.
            while LIVE:
                proc = LIVE.pop()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


async def confirm_send(bot: BotProcess, user: int, command: str) -> SentMessage:
    preview = await bot.say(user, command)
    assert preview.reply_markup is not None, preview.text
    send_button = preview.reply_markup["inline_keyboard"][0][0]["callback_data"]
    bot.api.press_button(user, user, preview.message_id, send_button, language_code="en")
    return await bot.api.wait_for_message(
        user, lambda m: m.message_id == preview.message_id and "#" in m.text, timeout=15
    )


async def test_whole_product_over_a_restart(
    world: tuple[FakeBotApi, FakeGateways, Path],
) -> None:
    api, gateways, db_path = world
    bot = BotProcess(api, gateways, db_path)
    await bot.start()
    try:
        # A stranger is refused, and nothing reaches a gateway.
        refusal = await bot.say(STRANGER, "/send 79123456789 hello")
        assert str(STRANGER) in refusal.text
        assert f"/allow {STRANGER}" in refusal.text
        assert gateways.requests == []

        # The admin (from ADMIN_IDS) allows a user.
        allowed = await bot.say(ADMIN, f"/allow {USER} Bob")
        assert str(USER) in allowed.text and "Bob" in allowed.text

        # The user sends through each gateway, confirming with the button.
        via_smska = await confirm_send(bot, USER, "/send smska 79123456789 Disk <full> & 100%")
        assert "#1" in via_smska.text and "smska" in via_smska.text
        via_smsrent = await confirm_send(bot, USER, "/send smsrent +7 912 345-67-89 Привет")
        assert "#2" in via_smsrent.text and "smsrent" in via_smsrent.text
        assert [
            r.form["Message"] for r in gateways.requests_for("smska") if "Message" in r.form
        ] == ["Disk <full> & 100%"]
        assert [r.form["msg"] for r in gateways.requests_for("smsrent")] == ["Привет"]

        # Delivery tracking edits the smska answer.
        await api.wait_for_message(
            USER,
            lambda m: m.message_id == via_smska.message_id and "delivered" in m.text,
            timeout=15,
        )

        status = await bot.say(USER, "/status 1")
        assert "delivered" in status.text and "DELIVRD" in status.text
        no_status = await bot.say(USER, "/status 2")
        assert "offers no delivery status" in no_status.text

        balance = await bot.say(USER, "/balance")
        assert "smska" in balance.text and "smsrent" in balance.text
        assert "499" in balance.text  # smsrent: the balance its send reported

        # The stranger's later attempts still reach no gateway; within the hour they are
        # not answered again, but a tap is always answered (silently), never left spinning.
        sends_so_far = len(gateways.requests)
        taps_so_far = {id(c) for c in api.calls_of("answerCallbackQuery")}
        api.send_text(STRANGER, "/balance", language_code="en")
        api.press_button(STRANGER, STRANGER, refusal.message_id, "pv:send:x", language_code="en")
        tap = await api.wait_for_call(
            "answerCallbackQuery",
            lambda c: id(c) not in taps_so_far,
            timeout=15,
        )
        assert not tap.params.get("text")
        strangers = await bot.say(ADMIN, "/users")
        assert f"<code>{STRANGER}</code> — 3 times, " in strangers.text
        assert len(api.messages_to(STRANGER)) == 1
        assert len(gateways.requests) == sends_so_far
    finally:
        assert await bot.stop() == 0

    # After a restart the history is still there.
    await bot.start()
    try:
        history = await bot.say(USER, "/history")
        assert "#1" in history.text and "#2" in history.text
        assert "Disk &lt;full&gt; &amp; 100%" in history.text
    finally:
        assert await bot.stop() == 0
    assert "test-skey" not in bot.logs() and "test-password" not in bot.logs()
    assert api.token not in bot.logs()


async def test_kill_9_during_a_send_leaves_an_unknown_record_and_tells_the_sender(
    world: tuple[FakeBotApi, FakeGateways, Path],
) -> None:
    api, gateways, db_path = world
    bot = BotProcess(api, gateways, db_path)
    bot.env["SEND_CONFIRMATION"] = "false"
    await bot.start()
    gateways.hold = asyncio.Event()  # the gateway holds the request in flight
    api.send_text(ADMIN, "/send 79123456789 in flight when killed", language_code="en")
    await gateways.wait_for_requests(1, timeout=15)
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    gateways.hold.set()

    async with Database(db_path) as db:
        record = await MessageRepository(db).get(1)
    assert record is not None and record.state == MessageState.SENDING

    await bot.start()
    try:
        notice = await api.wait_for_message(ADMIN, lambda m: "restarted while sending #1" in m.text)
        assert "may or may not" in notice.text
        async with Database(db_path) as db:
            record = await MessageRepository(db).get(1)
        assert record is not None and record.state == MessageState.UNKNOWN
        # Never retried automatically.
        await asyncio.sleep(1.0)
        assert len(gateways.requests_for("smska")) == 1
    finally:
        assert await bot.stop() == 0


async def test_sigterm_lets_a_send_in_flight_finish_and_record_its_result(
    world: tuple[FakeBotApi, FakeGateways, Path],
) -> None:
    api, gateways, db_path = world
    bot = BotProcess(api, gateways, db_path)
    bot.env["SEND_CONFIRMATION"] = "false"
    await bot.start()
    gateways.hold = asyncio.Event()
    api.send_text(ADMIN, "/send 79123456789 finishing on shutdown", language_code="en")
    await gateways.wait_for_requests(1, timeout=15)
    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    gateways.hold.set()  # the gateway answers while the bot is stopping
    assert await bot.stop() == 0
    async with Database(db_path) as db:
        record = await MessageRepository(db).get(1)
    assert record is not None and record.state == MessageState.SENT, bot.logs()
    assert record.gateway_id


async def test_kill_9_after_a_send_tap_leaves_a_true_record_and_no_stuck_preview(
    world: tuple[FakeBotApi, FakeGateways, Path],
) -> None:
    """The tap's claim of the preview and the send's record are one transaction: a
    kill -9 after the tap leaves the record (told at the next start), and a later tap on
    the same preview says what became of it instead of "already being sent" for ever."""
    api, gateways, db_path = world
    bot = BotProcess(api, gateways, db_path)
    await bot.start()
    api.send_text(ADMIN, "/send 79123456789 tapped, then killed", language_code="en")
    preview = await api.wait_for_message(ADMIN, lambda m: bool(m.reply_markup))
    send = str((preview.reply_markup or {})["inline_keyboard"][0][0]["callback_data"])
    gateways.hold = asyncio.Event()  # the gateway holds the request in flight
    api.press_button(ADMIN, ADMIN, preview.message_id, send, language_code="en")
    await gateways.wait_for_requests(1, timeout=15)
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    gateways.hold.set()

    await bot.start()
    try:
        notice = await api.wait_for_message(ADMIN, lambda m: "restarted while sending #1" in m.text)
        assert "may or may not" in notice.text
        seen = {id(call) for call in api.calls_of("answerCallbackQuery")}
        api.press_button(ADMIN, ADMIN, preview.message_id, send, language_code="en")
        answer = await api.wait_for_call(
            "answerCallbackQuery", lambda c: id(c) not in seen, timeout=15
        )
        assert "already handled (#1, ⚠️ unknown whether it went out)" in str(answer.params["text"])
        async with Database(db_path) as db:
            record = await MessageRepository(db).get(1)
        assert record is not None and record.state == MessageState.UNKNOWN
        assert len(gateways.requests_for("smska")) == 1  # never sent again
    finally:
        assert await bot.stop() == 0
