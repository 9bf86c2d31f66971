"""Bulk jobs in the bot (issue 10): one progress message edited at a bounded pace with a
Stop button; a Stop that no request outruns; the summary and a Report (CSV) in the
same message; /history of a job as one line; /status J12; the restart question with
the job's counts, whose Resume sends only what stayed queued."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.core import open_core
from bot.settings import load_settings
from bot.telegram import TelegramNotifier
from handlers.jobs import follow_job, job_ref, progress_keyboard
from handlers.texts import Lang
from services.jobs import csv_safe
from services.sending import JobStarted, Origin
from storage.messages import NewJob
from storage.models import MessageState
from tests.bot.conftest import ADMIN, USER, BotHarness, HarnessFactory, buttons, is_alert, plain
from tests.bot.test_russian_texts import english_words
from tests.fakes.gateways import FakeGateways


def numbers(count: int) -> list[str]:
    return [f"7912345{index:04d}" for index in range(1, count + 1)]


def sends(fake: FakeGateways) -> list[str]:
    """The numbers of the send requests smska received (balance and status left out)."""
    return [r.form["MSISDN"] for r in fake.requests_for("smska") if not r.form.get("Action")]


async def submit(
    harness: BotHarness,
    recipients: list[str],
    *,
    user_id: int = ADMIN,
    names: dict[str, str] | None = None,
    text: str = "bulk hello",
) -> JobStarted:
    sender = harness.core.sender
    prepared = sender.prepare(recipients[0], text, "smska")
    origin = Origin(source="telegram", user_id=user_id, chat_id=user_id, lang="en")
    return await sender.submit(recipients, prepared, origin, names=names)


def follow(
    harness: BotHarness, started: JobStarted, *, lang: Lang = "en", interval: float = 0.2
) -> asyncio.Task[None]:
    """``follow_job`` as a handler would start it (the harness's bot, no message yet)."""
    chat = started.job.chat_id or ADMIN
    return asyncio.create_task(
        follow_job(harness.bot, chat, None, started, lang, harness.core.jobs, interval=interval)
    )


async def test_stop_mid_job_starts_no_request_after_it(start_bot: HarnessFactory) -> None:
    harness = await start_bot(smska_concurrency=2)
    await harness.say(ADMIN, f"/allow {USER} Ivan", lang="en")
    fake = harness.gateways
    fake.hold = asyncio.Event()  # the gateway keeps the first requests waiting
    recipients = numbers(10)
    started = await submit(harness, recipients)
    follower = follow(harness, started)
    await fake.wait_for_requests(2)
    progress = await harness.api.wait_for_message(ADMIN, lambda m: "Job" in plain(m))
    stop = buttons(progress)[0]

    stranger = await harness.press(USER, progress, stop, lang="en")
    assert is_alert(stranger.params)
    assert (await harness.core.jobs.progress(started.job.id)).stopped is False

    answer = await harness.press(ADMIN, progress, stop, lang="en")
    assert "Stopping" in str(answer.params.get("text"))
    fake.hold.set()  # the two in flight finish; nothing else may start
    await asyncio.wait_for(follower, 10)
    await asyncio.gather(*started.tasks)

    assert len(sends(fake)) == 2
    rows = await harness.core.store.messages.of_job(started.job.id)
    states = [r.state for r in rows]
    assert states.count(MessageState.SENT) == 2
    assert states.count(MessageState.QUEUED) == 8
    left = [r.recipient for r in rows if r.state == MessageState.QUEUED]
    summary = plain(progress)  # the same message, edited
    assert "was stopped" in summary
    assert "waiting for your choice: 8" in summary
    assert all(f"+{number}" in summary for number in left)
    data = buttons(progress)
    assert data[:2] == [f"job:resume:{started.job.id}", f"job:cancel:{started.job.id}"]
    assert data[2] == f"jobc:report:{started.job.id}"

    # Resume (the same button as after a restart) sends exactly the eight left.
    await harness.press(ADMIN, progress, data[0], lang="en")
    await harness.api.wait_for_message(ADMIN, lambda m: "is done" in plain(m))
    await harness.settle()
    assert sorted(sends(fake)) == sorted(recipients)  # each once
    final = await harness.core.jobs.progress(started.job.id)
    assert (final.sent, final.left, final.stopped) == (10, 0, False)


async def test_progress_edits_are_bounded(start_bot: HarnessFactory) -> None:
    harness = await start_bot(smska_concurrency=3, gateway_options={"latency": 0.03})
    loop = asyncio.get_running_loop()
    interval = 0.15
    started = await submit(harness, numbers(60))
    began = loop.time()
    await follow(harness, started, interval=interval)
    duration = loop.time() - began
    messages = [m for m in harness.bot_messages(ADMIN) if "Job" in plain(m)]
    assert len(messages) == 1  # ONE progress message
    edits = [
        c
        for c in harness.api.calls_of("editMessageText")
        if str(c.params.get("message_id")) == str(messages[0].message_id)
    ]
    assert len(edits) <= duration / interval + 2
    assert "is done: of 60, sent 60" in plain(messages[0])
    assert len(sends(harness.gateways)) == 60


async def test_report_rows_match_the_database(start_bot: HarnessFactory) -> None:
    harness = await start_bot()
    await harness.say(ADMIN, f"/allow {USER} Ivan", lang="en")
    recipients = numbers(4)
    names = {recipients[0]: '=HYPERLINK("http://x")', recipients[1]: "Иван Петров"}
    started = await submit(harness, recipients, names=names)
    await follow(harness, started)
    summary = await harness.api.wait_for_message(ADMIN, lambda m: "is done" in plain(m))
    report = buttons(summary)[-1]

    stranger = await harness.press(USER, summary, report, lang="en")
    assert is_alert(stranger.params)
    await harness.press(ADMIN, summary, report, lang="en")
    call = await harness.api.wait_for_call("sendDocument")
    upload: dict[str, Any] = call.params["document"]
    if isinstance(upload, str):  # attach://name
        upload = call.params[upload.removeprefix("attach://")]
    assert str(upload["filename"]).endswith(".csv")
    table = list(csv.reader(io.StringIO(bytes(upload["data"]).decode("utf-8-sig"))))
    rows = await harness.core.store.messages.of_job(started.job.id)
    assert table[0] == ["number", "name", "state", "gateway_id", "error"]
    assert table[1:] == [
        [
            r.recipient,
            csv_safe(r.recipient_name),
            str(r.state),
            r.gateway_id or "",
            r.error_text or "",
        ]
        for r in rows
    ]
    assert table[1][1] == '\'=HYPERLINK("http://x")'  # never run as a formula
    assert table[2][1] == "Иван Петров"
    assert [r[2] for r in table[1:]] == ["sent"] * 4


async def test_history_and_status_of_a_job(start_bot: HarnessFactory) -> None:
    harness = await start_bot()
    await harness.say(ADMIN, f"/allow {USER} Ivan", lang="en")
    await harness.say(ADMIN, "/send smska 79123456789 single", lang="en")
    started = await submit(harness, numbers(3))
    await follow(harness, started)
    job = started.job.id

    history = plain(await harness.say(ADMIN, "/history", lang="en"))
    lines = [line for line in history.splitlines() if f"J{job}" in line]
    assert len(lines) == 1, history
    assert "3 recipients (smska): sent 3, not sent 0, unknown 0, left 0" in lines[0]
    assert "#1 " in history  # the single send stays one line of its own
    russian = plain(await harness.say(ADMIN, "/history"))
    assert "получателей 3 (smska): отправлено 3" in russian

    for ref in (f"J{job}", f"job {job}", f"j{job}"):
        status = plain(await harness.say(ADMIN, f"/status {ref}", lang="en"))
        assert f"Job J{job}" in status
        assert "3 recipients" in status and "sent 3" in status
        assert status.count("accepted by the gateway") == 3
    other = plain(await harness.say(USER, f"/status J{job}", lang="en"))
    assert other == f"No job “J{job}” found."
    # /status 1 is still a message number
    assert "#1 " in plain(await harness.say(ADMIN, "/status 1", lang="en"))


async def test_status_of_a_job_lists_a_bounded_number_of_recipients(
    start_bot: HarnessFactory,
) -> None:
    harness = await start_bot()
    started = await submit(harness, numbers(25))
    await follow(harness, started)
    status = plain(await harness.say(ADMIN, f"/status J{started.job.id}", lang="en"))
    assert status.count("accepted by the gateway") == 20
    assert "… and 5 more" in status


def test_job_references() -> None:
    assert [job_ref(x) for x in ("J12", "j12", "job 12", "#J12", "JOB12")] == [12] * 5
    assert [job_ref(x) for x in ("12", "#12", "J", "Jx", "")] == [None] * 5


def test_csv_cells_never_start_a_formula() -> None:
    for risky in ("=1+1", "+7", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(risky) == "'" + risky
    assert csv_safe("Иван") == "Иван"
    assert csv_safe(None) == ""


async def test_restart_question_gives_the_job_counts(
    start_bot: HarnessFactory, tmp_path: Path
) -> None:
    """A job a stop interrupted: one sent, one failed, one ``sending`` (its outcome
    unknown now) and two still ``queued``. The owner is told the counts, and Resume
    sends only the queued ones, never the one that may have gone out."""
    path = tmp_path / "interrupted.sqlite3"
    recipients = numbers(5)
    async with open_core(load_settings(_env_file=None, database_path=path)) as core:
        repo = core.store.messages
        created = await repo.create_job(
            NewJob(
                source="telegram",
                recipients=tuple(recipients),
                text="left behind",
                encoding="GSM-7",
                parts=1,
                provider="smska",
                user_id=ADMIN,
                chat_id=ADMIN,
                lang="en",
            )
        )
        first, second, third, *_queued = created.messages
        for row in (first, second, third):
            await repo.mark_sending(row.id, provider="smska")
        await repo.mark_sent(
            first.id,
            provider="smska",
            gateway_id="g1",
            balance=None,
            balance_unit=None,
            simulated=False,
            next_check_at=None,
        )
        await repo.mark_failed(second.id, provider="smska", error_kind="X", error_text="no")
    harness = await start_bot(database_path=path)
    question = await harness.api.wait_for_message(ADMIN, lambda m: "restarted before" in m.text)
    text = plain(question)
    assert "Of 5: sent 1, not sent 1, unknown whether sent 1, waiting to be sent 2." in text
    await harness.press(ADMIN, question, buttons(question)[0], lang="en")
    await harness.api.wait_for_message(ADMIN, lambda m: "is done" in plain(m))
    await harness.settle()
    assert sorted(sends(harness.gateways)) == recipients[3:]
    assert "is done: of 5, sent 3, not sent 1, unknown whether sent 1" in plain(question)
    rows = await harness.core.store.messages.of_job(created.job.id)
    assert [r.state for r in rows] == [
        MessageState.SENT,
        MessageState.FAILED,
        MessageState.UNKNOWN,
        MessageState.SENT,
        MessageState.SENT,
    ]


async def test_a_finished_job_is_not_told_again_at_the_next_start(
    start_bot: HarnessFactory, tmp_path: Path
) -> None:
    """The summary told the owner about every recipient: a restart sends nothing
    more about them (no late answer per recipient)."""
    path = tmp_path / "shared.sqlite3"
    first = await start_bot(database_path=path)
    started = await submit(first, numbers(3))
    await follow(first, started)
    second = await start_bot(database_path=path)
    await second.settle()
    assert second.bot_messages(ADMIN) == []


async def test_a_job_interrupted_with_nothing_left_is_told_once_with_its_counts(
    start_bot: HarnessFactory, tmp_path: Path
) -> None:
    """A stop while a job's last requests were out: two rows sent (their summary never
    shown), two ``sending`` (unknown now). The owner gets ONE message with the counts
    and a Report, not one per recipient, and nothing is sent again."""
    path = tmp_path / "interrupted.sqlite3"
    async with open_core(load_settings(_env_file=None, database_path=path)) as core:
        repo = core.store.messages
        created = await repo.create_job(
            NewJob(
                source="telegram",
                recipients=tuple(numbers(4)),
                text="cut short",
                encoding="GSM-7",
                parts=1,
                provider="smska",
                user_id=ADMIN,
                chat_id=ADMIN,
                lang="en",
            )
        )
        for index, row in enumerate(created.messages):
            await repo.mark_sending(row.id, provider="smska")
            if index < 2:
                await repo.mark_sent(
                    row.id,
                    provider="smska",
                    gateway_id=f"g{index}",
                    balance=None,
                    balance_unit=None,
                    simulated=False,
                    next_check_at=None,
                )
    harness = await start_bot(database_path=path)
    await harness.settle()
    (told,) = harness.bot_messages(ADMIN)
    text = plain(told)
    assert f"restarted during job J{created.job.id}" in text
    assert "Of 4: sent 2, not sent 0, unknown whether sent 2, waiting to be sent 0." in text
    assert buttons(told) == [f"jobc:report:{created.job.id}"]
    assert harness.gateways.requests == []
    again = await start_bot(database_path=path)
    await again.settle()
    assert again.bot_messages(ADMIN) == []


async def test_a_progress_message_that_cannot_be_edited_is_replaced(
    start_bot: HarnessFactory,
) -> None:
    """The message to edit is gone (deleted by the user): the progress is sent anew,
    edited from then on, and the summary arrives."""
    harness = await start_bot()
    started = await submit(harness, numbers(3))
    await follow_job(harness.bot, ADMIN, 4242, started, "en", harness.core.jobs, interval=0.1)
    (shown,) = harness.bot_messages(ADMIN)
    assert "is done: of 3, sent 3" in plain(shown)
    job = await harness.core.jobs.progress(started.job.id)
    assert job.job.progress_message_id == shown.message_id
    usage = plain(await harness.say(ADMIN, "/status", lang="en"))
    assert "a job: /status J12" in usage


async def test_shutdown_mid_job_stops_its_follower_cleanly(start_bot: HarnessFactory) -> None:
    """The bot stops while a job's requests are held past the grace: the follower is
    waited for (bounded), then cancelled; nothing crashes and nothing is sent twice."""
    harness = await start_bot(smska_concurrency=1, shutdown_grace_seconds=0.5)
    harness.gateways.hold = asyncio.Event()
    started = await submit(harness, numbers(3))
    deps = harness.dp["job_deps"]
    follower = deps.follow(harness.bot, ADMIN, None, started, "en")
    await harness.gateways.wait_for_requests(1)
    await harness.api.wait_for_message(ADMIN, lambda m: "Job" in plain(m))
    await harness.dp.stop_polling()
    await asyncio.wait({follower}, timeout=30)
    assert follower.cancelled()
    assert deps.followers.running == 0
    harness.gateways.hold.set()
    await asyncio.gather(*started.tasks, return_exceptions=True)
    assert len(sends(harness.gateways)) <= 3
    assert len(set(sends(harness.gateways))) == len(sends(harness.gateways))


async def test_the_restart_question_retires_the_old_progress_messages_stop(
    start_bot: HarnessFactory,
) -> None:
    """The progress message a stopped run left keeps no Stop button once the owner is
    asked anew (found by the ids stored on the job)."""
    harness = await start_bot()
    repo = harness.core.store.messages
    created = await repo.create_job(
        NewJob(
            source="telegram",
            recipients=tuple(numbers(2)),
            text="left",
            encoding="GSM-7",
            parts=1,
            provider="smska",
            user_id=ADMIN,
            chat_id=ADMIN,
            lang="en",
        )
    )
    old = await harness.bot.send_message(
        ADMIN, "progress", reply_markup=progress_keyboard(created.job.id, "en")
    )
    await harness.core.jobs.remember_message(created.job.id, ADMIN, old.message_id)
    notifier = TelegramNotifier(harness.bot, repo)
    assert await notifier.ask_about_waiting(await harness.core.sender.waiting_jobs()) == 1
    (left,) = [m for m in harness.bot_messages(ADMIN) if m.message_id == old.message_id]
    assert buttons(left) == []
    question = harness.bot_messages(ADMIN)[-1]
    assert "Of 2: sent 0, not sent 0, unknown whether sent 0, waiting to be sent 2." in plain(
        question
    )


async def test_history_and_status_of_a_job_show_rows_a_killed_process_left_as_unknown(
    start_bot: HarnessFactory,
) -> None:
    """A command-line job whose process died mid-request: its rows are past their stale
    time; /history and /status J show them ``unknown``, never still going."""
    harness = await start_bot()
    repo = harness.core.store.messages
    created = await repo.create_job(
        NewJob(
            source="cli",
            recipients=tuple(numbers(2)),
            text="killed",
            encoding="GSM-7",
            parts=1,
            provider="smska",
            user_id=ADMIN,
        )
    )
    for row in created.messages:
        await repo.mark_sending(row.id, provider="smska", stale_after=timedelta(0))
    job = created.job.id
    history = plain(await harness.say(ADMIN, "/history", lang="en"))
    assert "sent 0, not sent 0, unknown 2, left 0" in history, history
    status = plain(await harness.say(ADMIN, f"/status J{job}", lang="en"))
    assert "unknown 2, left 0" in status, status


async def test_a_job_in_russian_carries_no_english_words(start_bot: HarnessFactory) -> None:
    harness = await start_bot(smska_concurrency=1)
    harness.gateways.hold = asyncio.Event()
    started = await submit(harness, numbers(3), names={numbers(3)[0]: "Иван"}, text="всем привет")
    follower = follow(harness, started, lang="ru")
    progress = await harness.api.wait_for_message(ADMIN, lambda m: "Рассылка" in m.text)
    await harness.press(ADMIN, progress, buttons(progress)[0], lang="ru")
    harness.gateways.hold.set()
    await follower
    texts = [*progress.edits, progress.text]
    texts.append((await harness.say(ADMIN, f"/status J{started.job.id}")).text)
    texts.append((await harness.say(ADMIN, "/history")).text)
    for text in texts:
        assert english_words(text) == [], text
    assert "остановлена" in progress.text
