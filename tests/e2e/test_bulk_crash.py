"""End to end: a bulk send through the real bot process (a file of numbers sent to the
bot), killed with SIGKILL while the fake gateway holds its first requests, then
restarted. The owner is asked with the job's counts; Resume sends exactly the rows that
were still queued; nobody gets the SMS twice and every row tells the truth."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from storage.db import Database
from storage.messages import MessageRepository
from storage.models import MessageState
from tests.e2e.test_bot_process import ADMIN, BotProcess, world  # noqa: F401 - the fixture
from tests.fakes.botapi import FakeBotApi
from tests.fakes.gateways import FakeGateways

NUMBERS = [f"7912345670{i}" for i in range(6)]
SLOTS = 2


async def test_kill_9_mid_bulk_then_resume_sends_only_the_queued(
    world: tuple[FakeBotApi, FakeGateways, Path],  # noqa: F811 - the fixture
) -> None:
    api, gateways, db_path = world
    bot = BotProcess(api, gateways, db_path)
    bot.env.update(
        {"SEND_CONFIRMATION": "false", "BULK_CONFIRM_OVER": "100", "SMSKA_CONCURRENCY": str(SLOTS)}
    )
    await bot.start()
    gateways.hold = asyncio.Event()  # the gateway holds the first requests in flight
    api.send_document(
        ADMIN,
        "oncall.txt",
        ("\n".join(NUMBERS) + "\n").encode(),
        caption="Disk full on db1",
        language_code="en",
    )
    await gateways.wait_for_requests(SLOTS, timeout=30)
    await asyncio.sleep(0.3)  # no third request while both slots are held
    assert len(gateways.requests_for("smska")) == SLOTS
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    gateways.hold.set()

    await bot.start()
    try:
        question = await api.wait_for_message(
            ADMIN, lambda m: bool(m.reply_markup) and "waiting to be sent 4" in m.text, timeout=30
        )
        assert "unknown whether sent 2" in question.text
        async with Database(db_path) as db:
            rows = await MessageRepository(db).of_job(1)
        states = Counter(r.state for r in rows)
        assert states == {MessageState.UNKNOWN: SLOTS, MessageState.QUEUED: 4}, states

        buttons = [b for row in (question.reply_markup or {})["inline_keyboard"] for b in row]
        (resume,) = [b["callback_data"] for b in buttons if "resume" in b["callback_data"]]
        api.press_button(ADMIN, ADMIN, question.message_id, resume, language_code="en")
        await gateways.wait_for_requests(len(NUMBERS), timeout=30)
        await api.wait_for_message(
            ADMIN, lambda m: m.message_id == question.message_id and "is done" in m.text
        )
        await asyncio.sleep(0.5)  # nothing more goes out

        sent_to = Counter(sms.to for sms in gateways.sent.values())
        assert sorted(sent_to) == sorted(NUMBERS)
        assert set(sent_to.values()) == {1}  # each recipient reached once
        async with Database(db_path) as db:
            rows = await MessageRepository(db).of_job(1)
        states = Counter(r.state for r in rows)
        assert states[MessageState.UNKNOWN] == SLOTS
        assert states[MessageState.SENT] + states[MessageState.DELIVERED] == 4, states
        # the unknown rows are the two the killed process had asked for
        held = {r.recipient for r in rows if r.state is MessageState.UNKNOWN}
        assert len(held) == SLOTS
    finally:
        assert await bot.stop() == 0
