"""End to end: a real process sending a job (``python -m tests.e2e.job_runner``) is
killed with SIGKILL at each step of the dispatcher, with the fake gateways (in this
process) holding its requests. Then the database is opened here, the bot's start
recovery runs, and every row must tell the truth:

- ``sent`` only for a request the fake answered (with that answer's id);
- ``unknown`` (kind ``Interrupted``) for a request the fake received, the process
  having died before its result was recorded; never sent again;
- ``queued`` for a row whose request was never made: listed by ``waiting_jobs``,
  sent exactly once by ``resume``, or failed with nothing sent by ``cancel``.

No recipient ever reaches the fake twice, and no row is lost.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core import Core, open_core
from bot.settings import setting_env_names
from services.sending import JobNotYours
from storage.messages import CANCELLED, INTERRUPTED
from storage.models import MessageRecord, MessageState
from tests.core.conftest import gateway_settings
from tests.fakes.gateways import FakeGateways, RecordedRequest

ROOT = Path(__file__).resolve().parents[2]
USER = 7
STRANGER = 8
#: bounds every wait on the child process (start-up imports take seconds on a busy machine)
PROCESS_TIMEOUT = 60.0


def numbers(count: int) -> list[str]:
    return [f"791234567{index:02d}" for index in range(1, count + 1)]


def digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def sends(fake: FakeGateways) -> list[RecordedRequest]:
    """The send requests the fake received (balance and status queries left out)."""
    return [r for r in fake.requests_for("smska") if not r.form.get("Action")]


def received(fake: FakeGateways) -> Counter[str]:
    return Counter(digits(r.form["MSISDN"]) for r in sends(fake))


class Runner:
    """The job runner as a child process; its stdout read line by line."""

    def __init__(
        self,
        fake: FakeGateways,
        db_path: Path,
        recipients: Sequence[str],
        *,
        concurrency: int,
        jobs: int = 1,
        stop_at: str = "none",
    ) -> None:
        self.db_path = db_path
        self.args = [
            *recipients,
            "--user",
            str(USER),
            "--chat",
            str(USER),
            "--jobs",
            str(jobs),
            "--stop-at",
            stop_at,
        ]
        inherited = set(setting_env_names())
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in inherited},
            "DATABASE_PATH": str(db_path),
            "SMSKA_URL": fake.smska_url,
            "SMSKA_API_KEY": fake.smska_api_key,
            "SMSKA_API_PASSWORD": fake.smska_api_password,
            "SMSKA_SENDER": "TestSender",
            "SMSKA_CONCURRENCY": str(concurrency),
            "DEFAULT_PROVIDER": "smska",
            # a held request must not end by itself: only the kill ends it
            "HTTP_READ_TIMEOUT": "30",
        }
        self.log_path = db_path.parent / "runner.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.unread: list[list[str]] = []

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.e2e.job_runner",
                *self.args,
                env=self.env,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        LIVE.append(self.proc)

    async def line(self, prefix: str) -> list[str]:
        """The words of the first line not taken yet that starts with ``prefix``; lines of
        other kinds are kept for later (a send may reach its gate before its job's
        ``recorded`` line is written)."""
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            for words in self.unread:
                if words[0] == prefix:
                    self.unread.remove(words)
                    return words[1:]
            raw = await asyncio.wait_for(self.proc.stdout.readline(), PROCESS_TIMEOUT)
            if not raw:
                raise AssertionError(f"the runner ended before {prefix!r}:\n{self.logs()}")
            if words := raw.decode().split():
                self.unread.append(words)

    async def recorded(self) -> tuple[int, list[int]]:
        job_id, ids = await self.line("recorded")
        return int(job_id), [int(i) for i in ids.split(",")]

    async def kill(self) -> None:
        """SIGKILL: no handler, no drain, no close."""
        assert self.proc is not None
        self.proc.kill()
        code = await asyncio.wait_for(self.proc.wait(), PROCESS_TIMEOUT)
        assert code == -signal.SIGKILL, self.logs()

    async def finish(self) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), PROCESS_TIMEOUT)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


LIVE: list[asyncio.subprocess.Process] = []


@dataclass
class World:
    fake: FakeGateways
    db_path: Path

    def runner(
        self, recipients: Sequence[str], *, concurrency: int, jobs: int = 1, stop_at: str = "none"
    ) -> Runner:
        return Runner(
            self.fake, self.db_path, recipients, concurrency=concurrency, jobs=jobs, stop_at=stop_at
        )


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in setting_env_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with FakeGateways() as fake:
        try:
            yield World(fake, tmp_path / "smsbot.sqlite3")
        finally:
            # A failed test must not leave a runner behind.
            while LIVE:
                proc = LIVE.pop()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


@pytest.fixture
async def core(world: World) -> AsyncIterator[Core]:
    """The database as the next bot sees it (opened once the runner created it)."""
    settings = gateway_settings(
        world.fake, world.db_path, default_provider="smska", http_read_timeout=5.0
    )
    async with open_core(settings) as opened:
        yield opened


async def rows_of(core: Core, job_ids: Sequence[int]) -> list[MessageRecord]:
    return [row for job_id in job_ids for row in await core.store.messages.of_job(job_id)]


def assert_true_states(rows: Sequence[MessageRecord], fake: FakeGateways) -> None:
    """Each row's state is what happened at the fake; nobody got two requests."""
    got = received(fake)
    assert [n for n, times in got.items() if times > 1] == [], "a recipient got two requests"
    answered = {digits(sms.to): msg_id for msg_id, sms in fake.sent.items()}
    for row in rows:
        number = digits(row.recipient)
        if row.state is MessageState.SENT:
            assert answered.get(number) == row.gateway_id, row
        elif row.state is MessageState.UNKNOWN:
            assert number in got, row
            assert row.error_kind == INTERRUPTED, row
        elif row.state is MessageState.QUEUED:
            assert number not in got, row
        else:
            raise AssertionError(f"row in a state no step leads to: {row}")
    # nothing lost: every request the fake saw has its row
    assert set(got) <= {digits(r.recipient) for r in rows}


async def recover(core: Core) -> list[MessageRecord]:
    return await core.sender.recover_interrupted(bot_starting=True)


async def resume_exactly(core: Core, fake: FakeGateways, job_id: int) -> None:
    """``resume`` sends the job's queued rows, each once; a second resume sends nothing."""
    queued = [r for r in await core.store.messages.of_job(job_id) if r.state is MessageState.QUEUED]
    before = len(sends(fake))
    started = await core.sender.resume(job_id, USER)
    assert [r.id for r in started.records] == [r.id for r in queued]
    outcomes = await started.outcomes()
    assert [o.state for o in outcomes] == [MessageState.SENT] * len(queued)
    new = sends(fake)[before:]
    assert sorted(digits(r.form["MSISDN"]) for r in new) == sorted(
        digits(r.recipient) for r in queued
    )
    again = await core.sender.resume(job_id, USER)
    assert again.records == []
    assert await again.outcomes() == []
    assert len(sends(fake)) == before + len(queued)


# ------------------------------------- (a) killed while the gateway holds a batch


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_killed_while_the_gateway_holds_a_batch(
    world: World, core: Core, concurrency: int
) -> None:
    """Two jobs of four; the first ``concurrency`` requests are held at the fake when the
    process dies. Those rows become unknown; the rest stay queued for their owner, who
    resumes one job (each row sent once) and cancels the other (nothing sent)."""
    fake = world.fake
    fake.hold = asyncio.Event()
    runner = world.runner(numbers(8), concurrency=concurrency, jobs=2)
    await runner.start()
    first, first_ids = await runner.recorded()
    second, second_ids = await runner.recorded()
    await fake.wait_for_requests(concurrency, timeout=PROCESS_TIMEOUT)
    await runner.kill()
    fake.hold = None  # the held requests stay held: their process is gone

    held = [digits(r.form["MSISDN"]) for r in sends(fake)]
    assert len(held) == concurrency
    settled = await recover(core)
    assert sorted(r.id for r in settled) == first_ids[:concurrency]
    rows = await rows_of(core, [first, second])
    assert len(rows) == 8
    assert_true_states(rows, fake)
    assert [r.state for r in rows] == (
        [MessageState.UNKNOWN] * concurrency + [MessageState.QUEUED] * (8 - concurrency)
    )

    waiting = {job.id: [r.id for r in queued] for job, queued in await core.sender.waiting_jobs()}
    assert waiting == {first: first_ids[concurrency:], second: second_ids}
    with pytest.raises(JobNotYours):
        await core.sender.resume(first, STRANGER)
    with pytest.raises(JobNotYours):
        await core.sender.cancel(second, STRANGER)

    await resume_exactly(core, fake, first)
    before = len(sends(fake))
    cancelled = await core.sender.cancel(second, USER)
    assert [r.id for r in cancelled] == second_ids
    assert all(r.state is MessageState.FAILED and r.error_kind == CANCELLED for r in cancelled)
    assert len(sends(fake)) == before
    assert await core.sender.cancel(second, USER) == []
    assert await core.sender.waiting_jobs() == []

    rows = await rows_of(core, [first, second])
    assert [r.state for r in rows[:4]] == (
        [MessageState.UNKNOWN] * concurrency + [MessageState.SENT] * (4 - concurrency)
    )
    assert received(fake) == Counter({digits(n): 1 for n in numbers(4)})


# ---------------------- (b) killed after the job is recorded, before any request


async def test_killed_after_the_job_is_recorded_before_any_request(
    world: World, core: Core
) -> None:
    """The gate: the first send about to be marked ``sending`` (the step before its
    request). Nothing reached the fake; every row stays queued, none is settled as
    failed, and resuming sends each once."""
    runner = world.runner(numbers(4), concurrency=1, stop_at="mark_sending")
    await runner.start()
    job_id, ids = await runner.recorded()
    assert (await runner.line("at"))[0] == "mark_sending"
    await runner.kill()

    assert sends(world.fake) == []
    assert await recover(core) == []
    rows = await rows_of(core, [job_id])
    assert [r.state for r in rows] == [MessageState.QUEUED] * 4
    assert_true_states(rows, world.fake)
    waiting = await core.sender.waiting_jobs()
    assert [(job.id, [r.id for r in queued]) for job, queued in waiting] == [(job_id, ids)]

    await resume_exactly(core, world.fake, job_id)
    assert_true_states(await rows_of(core, [job_id]), world.fake)
    assert received(world.fake) == Counter({digits(n): 1 for n in numbers(4)})


# ------------------------------------------ (c) killed while results are recorded


async def test_killed_with_an_answer_in_hand_before_it_is_recorded(
    world: World, core: Core
) -> None:
    """The gate: the first send whose answer came back, about to be recorded. That
    row was sent by the gateway but its process died: unknown, never sent again."""
    runner = world.runner(numbers(4), concurrency=2, stop_at="mark_sent")
    await runner.start()
    job_id, _ = await runner.recorded()
    step, gated = await runner.line("at")
    assert step == "mark_sent"
    await runner.kill()

    await recover(core)
    rows = await rows_of(core, [job_id])
    assert len(rows) == 4
    assert_true_states(rows, world.fake)
    row = next(r for r in rows if r.id == int(gated))
    assert row.state is MessageState.UNKNOWN
    assert digits(row.recipient) in {digits(s.to) for s in world.fake.sent.values()}

    await resume_exactly(core, world.fake, job_id)
    assert_true_states(await rows_of(core, [job_id]), world.fake)
    assert await core.sender.waiting_jobs() == []


async def test_killed_as_the_gateway_answers_a_batch(world: World, core: Core) -> None:
    """Without a gate: the fake answers a held batch and the process is killed at
    once, while it records those answers and marks the next rows ``sending``.
    Whatever the process managed to write, each row tells the truth."""
    fake = world.fake
    fake.hold = asyncio.Event()
    runner = world.runner(numbers(6), concurrency=2)
    await runner.start()
    job_id, _ = await runner.recorded()
    await fake.wait_for_requests(2, timeout=PROCESS_TIMEOUT)
    fake.hold.set()
    fake.hold = asyncio.Event()  # the next requests are held again
    deadline = asyncio.get_running_loop().time() + PROCESS_TIMEOUT
    while len(fake.sent) < 2:  # the answers are leaving the fake
        assert asyncio.get_running_loop().time() < deadline, "the fake never answered"
        await asyncio.sleep(0)
    await runner.kill()
    fake.hold = None

    await recover(core)
    rows = await rows_of(core, [job_id])
    assert len(rows) == 6
    assert_true_states(rows, fake)
    assert all(r.state is not MessageState.QUEUED for r in rows[:2])

    await resume_exactly(core, fake, job_id)
    assert_true_states(await rows_of(core, [job_id]), fake)


# ----------------------------------------------- the job's states while it runs


async def test_job_states_on_disk_while_it_runs(world: World, core: Core) -> None:
    """Seen from another process: a row is ``sending`` on disk before its request,
    the rows without a slot stay ``queued``, answers become ``sent``; each row's
    history is queued -> sending -> sent."""
    fake = world.fake
    first_hold = asyncio.Event()
    fake.hold = first_hold
    runner = world.runner(numbers(4), concurrency=2)
    await runner.start()
    job_id, ids = await runner.recorded()
    job = await core.store.messages.job(job_id)
    assert job is not None
    assert (job.total, job.source, job.user_id, job.chat_id) == (4, "telegram", USER, USER)

    async def counts() -> Counter[MessageState]:
        return Counter(r.state for r in await core.store.messages.of_job(job_id))

    await fake.wait_for_requests(2, timeout=PROCESS_TIMEOUT)
    assert await counts() == {MessageState.SENDING: 2, MessageState.QUEUED: 2}

    second_hold = asyncio.Event()
    fake.hold = second_hold
    first_hold.set()
    await fake.wait_for_requests(4, timeout=PROCESS_TIMEOUT)
    rows = await core.store.messages.of_job(job_id)
    assert [r.state for r in rows[2:]] == [MessageState.SENDING] * 2
    deadline = asyncio.get_running_loop().time() + PROCESS_TIMEOUT
    while await counts() != {MessageState.SENT: 2, MessageState.SENDING: 2}:
        assert asyncio.get_running_loop().time() < deadline, await counts()
        await asyncio.sleep(0.02)

    second_hold.set()
    (states,) = await runner.line("done")
    assert states.split(",") == ["sent"] * 4
    assert await runner.finish() == 0
    assert await counts() == {MessageState.SENT: 4}
    for message_id in ids:
        history = [e.state for e in await core.store.messages.events(message_id)]
        assert history == ["queued", "sending", "sent"]
    assert_true_states(await core.store.messages.of_job(job_id), fake)
    assert await core.sender.waiting_jobs() == []


async def test_two_resumes_at_once_send_each_queued_row_once(world: World, core: Core) -> None:
    """The owner taps "send the rest" twice (two updates handled at once), or the bot
    and another process resume the same job: each queued row still goes out once."""
    runner = world.runner(numbers(4), concurrency=1, stop_at="mark_sending")
    await runner.start()
    job_id, _ = await runner.recorded()
    assert (await runner.line("at"))[0] == "mark_sending"
    await runner.kill()
    await recover(core)

    first, second = await asyncio.gather(
        core.sender.resume(job_id, USER), core.sender.resume(job_id, USER)
    )
    await asyncio.gather(first.outcomes(), second.outcomes())
    assert received(world.fake) == Counter({digits(n): 1 for n in numbers(4)})
    assert_true_states(await rows_of(core, [job_id]), world.fake)
