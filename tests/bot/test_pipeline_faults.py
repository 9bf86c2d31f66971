"""Faults of the send pipeline through the real dispatcher: a database that refuses the
result, state changes stored by someone else, and the sandbox's delivery."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.core import open_core
from bot.settings import load_settings
from storage.messages import NewJob
from storage.models import MessageRecord, MessageState
from tests.bot.conftest import ADMIN, PHONE, USER, BotHarness, HarnessFactory, plain
from tests.fakes.botapi import SentMessage

TRACKING = {"status_poll_first_seconds": 0.1, "status_poll_max_seconds": 0.2}


async def wait_until(check: object, timeout: float = 5.0) -> None:
    assert callable(check)
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_a_result_the_database_refuses_is_told_as_sent_and_written_later(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Disk full after the gateway accepted: the sender reads that it went out (with the
    gateway's id) and that the record is behind, never "failed" or "internal error"."""
    original = harness.core.store.messages.mark_sent
    failures = 2

    async def full_disk(*args: object, **kwargs: object) -> MessageRecord:
        nonlocal failures
        if failures:
            failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        record: MessageRecord = await original(*args, **kwargs)  # type: ignore[arg-type]
        return record

    monkeypatch.setattr(harness.core.store.messages, "mark_sent", full_disk)
    reply = plain(await harness.say(ADMIN, f"/send smska {PHONE} disk is full"))
    assert reply.startswith("✅ #1 отправлено через smska"), reply
    assert "не удалось сохранить в базе данных (database or disk is full)" in reply
    assert "не отправлено" not in reply and "Внутренняя ошибка" not in reply
    (sent,) = harness.gateways.sent.values()
    assert sent.msg_id in reply
    assert await harness.core.sender.drain(10.0)
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert (record.state, record.gateway_id) == (MessageState.SENT, sent.msg_id)
    assert any("could not be written" in r.getMessage() for r in caplog.records)
    caplog.clear()  # the logged ERROR is the point of this test, not a crash


async def test_a_state_stored_by_another_process_edits_the_answer_once(
    harness: BotHarness,
) -> None:
    """/status on the command line (another process) stores "delivered" and "rejected":
    the bot's answers follow once each, and the rejection is told once."""
    answer_ok = await harness.say(ADMIN, f"/send smska {PHONE} one")
    answer_bad = await harness.say(
        ADMIN, f"/send smska {PHONE} two", until=lambda m: "#2" in plain(m)
    )
    first, second = (
        (await harness.core.store.messages.get(1)),
        (await harness.core.store.messages.get(2)),
    )
    assert first is not None and second is not None
    assert first.gateway_id is not None and second.gateway_id is not None
    harness.gateways.set_status(first.gateway_id, 4, "DELIVRD")
    harness.gateways.set_status(second.gateway_id, 5, "REJECTD")
    async with open_core(harness.core.settings) as cli:  # another process, same database
        for record in (first, second):
            assert (await cli.status.check(record)).changed

    def edits(message: SentMessage) -> list[str]:
        return [plain(m) for m in harness.bot_messages(ADMIN) if m.message_id == message.message_id]

    await wait_until(lambda: "доставлено (4 DELIVRD)" in edits(answer_ok)[0])
    await wait_until(lambda: "отклонено (5 REJECTD)" in edits(answer_bad)[0])
    await wait_until(
        lambda: any(
            "#2" in plain(m) and "не доставлено" in plain(m) for m in harness.bot_messages(ADMIN)
        )
    )
    await asyncio.sleep(1.5)  # several tracker rounds: nothing is repeated
    assert len(answer_ok.edits) == 1
    assert len(answer_bad.edits) == 1
    notices = [m for m in harness.bot_messages(ADMIN) if "не доставлено" in plain(m)]
    assert len(notices) == 1


async def test_a_sandbox_send_shows_delivered(start_bot: HarnessFactory) -> None:
    harness = await start_bot(default_provider="sandbox", sandbox_delivery_seconds=0, **TRACKING)
    answer = await harness.say(ADMIN, f"/send sandbox {PHONE} try me")
    assert "принято тестовым шлюзом" in plain(answer)
    await wait_until(lambda: "Состояние: ✅ доставлено" in plain(answer))
    assert "на самом деле ничего не отправлено" in plain(answer)


async def test_a_database_refusing_every_write_is_said_plainly(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Disk full before anything was recorded (here: at the very first write of an
    update): one sentence that says so and that nothing was sent, never a generic
    "internal error"; no request reaches a gateway."""

    async def full_disk(update_id: int) -> bool:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(harness.core.store.updates, "first_time", full_disk)
    reply = plain(await harness.say(ADMIN, f"/send {PHONE} disk is full"))
    assert reply.startswith("⚠️ Бот сейчас не может записать данные в свою базу"), reply
    assert "ничего не отправлено" in reply
    assert harness.gateways.requests == []
    english = plain(await harness.say(ADMIN, "/balance", lang="en"))
    assert english.startswith("⚠️ The bot cannot write to its database right now"), english
    caplog.clear()  # the logged ERROR is the point of this test, not a crash


async def _left_by_a_stop(path: Path, *recipients: str) -> int:
    """A job the bot recorded and then stopped before sending (rows ``queued``)."""
    async with open_core(load_settings(_env_file=None, database_path=path)) as core:
        created = await core.store.messages.create_job(
            NewJob(
                source="telegram",
                recipients=recipients,
                text="left behind",
                encoding="GSM-7",
                parts=1,
                provider="smska",
                user_id=ADMIN,
                chat_id=ADMIN,
                lang="en",
            )
        )
    return created.job.id


async def test_after_a_stop_the_owner_chooses_to_send_what_was_left(
    start_bot: HarnessFactory, tmp_path: Path
) -> None:
    path = tmp_path / "stopped.sqlite3"
    await _left_by_a_stop(path, PHONE)
    harness = await start_bot(database_path=path)
    question = await harness.api.wait_for_message(ADMIN, lambda m: "restarted before" in m.text)
    assert "None of it went out" in plain(question)
    assert harness.requests("smska") == 0  # nothing is sent unasked
    resume, _cancel = [
        b["callback_data"] for b in (question.reply_markup or {})["inline_keyboard"][0]
    ]
    stranger = await harness.press(USER, question, str(resume), lang="en")
    assert stranger.params.get("text") != "⏳ Sending…"
    await harness.press(ADMIN, question, str(resume), lang="en")
    await harness.api.wait_for_message(ADMIN, lambda m: "sent via smska" in plain(m))
    assert harness.requests("smska") == 1
    again = await harness.press(ADMIN, question, str(resume), lang="en")
    assert "Nothing is left to send" in str(again.params.get("text"))
    await harness.settle()
    assert harness.requests("smska") == 1


async def test_after_a_stop_the_owner_may_drop_what_was_left(
    start_bot: HarnessFactory, tmp_path: Path
) -> None:
    path = tmp_path / "stopped.sqlite3"
    job_id = await _left_by_a_stop(path, PHONE, "79123456780")
    harness = await start_bot(database_path=path)
    question = await harness.api.wait_for_message(ADMIN, lambda m: "restarted before" in m.text)
    assert "and 1 more recipients" in plain(question)
    _resume, cancel = [
        b["callback_data"] for b in (question.reply_markup or {})["inline_keyboard"][0]
    ]
    await harness.press(ADMIN, question, str(cancel), lang="en")
    await harness.api.wait_for_message(ADMIN, lambda m: "2 SMS cancelled" in plain(m))
    rows = await harness.core.store.messages.of_job(job_id)
    assert [(r.state, r.error_kind) for r in rows] == [(MessageState.FAILED, "Cancelled")] * 2
    assert harness.gateways.requests == []
