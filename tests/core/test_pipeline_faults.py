"""Faults of the send pipeline, at the service level: the preview claim and the record in
one transaction, a database that refuses the result, a gateway that trickles its answer,
a slow gateway under load, and rows left behind by a stopped process."""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core import Core, open_core
from providers.errors import OutcomeUnknown
from services.domain import InvalidInput
from services.limits import LimitExceeded
from services.sending import JobNotYours, Origin, PreviewClaim, PreviewNotOpen, SendOutcome
from storage.messages import NewJob, NewMessage
from storage.models import MessageRecord, MessageState, PreviewState
from tests.core.conftest import RECIPIENT, gateway_settings
from tests.core.test_cli import run
from tests.fakes.gateways import Behaviour, FakeGateways

MakeCore = Callable[..., Awaitable[Core]]
TG = Origin(source="telegram", user_id=7, chat_id=7, lang="en")


async def open_preview(core: Core, token: str = "tok", ttl: float = 600) -> None:
    await core.store.previews.create(
        token=token,
        user_id=7,
        chat_id=7,
        recipient=RECIPIENT,
        text="hi",
        provider="smska",
        ttl=timedelta(seconds=ttl),
    )


async def confirm(
    core: Core, token: str = "tok", *, quotas: tuple[tuple[int, timedelta], ...] = ()
) -> SendOutcome:
    prepared = core.sender.prepare(RECIPIENT, "hi", "smska")
    return await core.sender.send(
        prepared,
        TG,
        idempotency_key=f"preview:{token}",
        quotas=quotas,
        preview=PreviewClaim(token, 7),
    )


# ------------------------------------------------- item 3: claim and record are one


async def test_confirming_a_preview_records_the_send_and_uses_it_up_together(core: Core) -> None:
    await open_preview(core)
    outcome = await confirm(core)
    assert outcome.state is MessageState.SENT
    preview = await core.store.previews.get("tok")
    assert preview is not None
    assert (preview.state, preview.message_id) == ("used", outcome.record.id)


async def test_a_refused_quota_leaves_the_preview_open_and_nothing_recorded(core: Core) -> None:
    await open_preview(core, "a")
    await open_preview(core, "b")
    await confirm(core, "a", quotas=((1, timedelta(minutes=1)),))
    with pytest.raises(LimitExceeded):
        await confirm(core, "b", quotas=((1, timedelta(minutes=1)),))
    preview = await core.store.previews.get("b")
    assert preview is not None
    assert (preview.state, preview.message_id) == ("open", None)
    assert len(await core.store.messages.recent(user_id=None, limit=10)) == 1


@pytest.mark.parametrize("state", ["cancelled", "expired"])
async def test_a_preview_not_open_records_nothing(core: Core, state: str) -> None:
    await open_preview(core, ttl=600 if state == "cancelled" else 0)
    if state == "cancelled":
        await core.store.previews.set_state("tok", PreviewState.CANCELLED)
    with pytest.raises(PreviewNotOpen) as raised:
        await confirm(core)
    assert raised.value.state == state
    assert await core.store.messages.recent(user_id=None, limit=10) == []


async def test_many_taps_at_once_record_one_send(core: Core, fake_gateways: FakeGateways) -> None:
    await open_preview(core)
    outcomes = await asyncio.gather(*(confirm(core) for _ in range(10)))
    assert sum(not o.duplicate for o in outcomes) == 1
    assert len({o.record.id for o in outcomes}) == 1
    assert len(fake_gateways.requests_for("smska")) == 1


async def left_queued(core: Core, *recipients: str) -> int:
    """What a bot killed before sending leaves: a job whose rows are all ``queued``."""
    created = await core.store.messages.create_job(
        NewJob(
            source="telegram",
            recipients=recipients or (RECIPIENT,),
            text="hi",
            encoding="GSM-7",
            parts=1,
            provider="smska",
            user_id=7,
            chat_id=7,
        )
    )
    return created.job.id


async def test_rows_a_stopped_bot_left_queued_wait_for_their_owner(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """Nothing of a queued row was sent: the next start neither sends it silently nor
    fails it, it waits for its owner's choice, and sends it once when resumed."""
    core = await make_core(default_provider="smska")
    job_id = await left_queued(core, RECIPIENT, "79123456780")
    assert await core.sender.recover_interrupted(bot_starting=True) == []
    ((job, rows),) = await core.sender.waiting_jobs()
    assert job.id == job_id and [r.state for r in rows] == [MessageState.QUEUED] * 2
    with pytest.raises(JobNotYours):
        await core.sender.resume(job_id, user_id=8)
    outcomes = await (await core.sender.resume(job_id, user_id=7)).outcomes()
    assert [o.state for o in outcomes] == [MessageState.SENT] * 2
    assert await core.sender.waiting_jobs() == []
    again = await core.sender.resume(job_id, user_id=7)
    assert await again.outcomes() == []
    assert len(fake_gateways.requests_for("smska")) == 2


async def test_a_cancelled_job_sends_nothing_of_what_was_left(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    core = await make_core(default_provider="smska")
    job_id = await left_queued(core)
    with pytest.raises(JobNotYours):
        await core.sender.cancel(job_id, user_id=8)
    (cancelled,) = await core.sender.cancel(job_id, user_id=7)
    assert (cancelled.state, cancelled.error_kind) == (MessageState.FAILED, "Cancelled")
    assert await core.sender.waiting_jobs() == []
    assert await (await core.sender.resume(job_id, user_id=7)).outcomes() == []
    assert fake_gateways.requests_for("smska") == []


async def test_a_job_records_every_recipient_at_once_and_sends_each_once(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    core = await make_core(default_provider="smska", smska_concurrency=3)
    prepared = core.sender.prepare(RECIPIENT, "to all", "smska")
    # numbers as the resolver gives them (international digits, "+" or not): what a
    # person typed ("8 912 …") is read by core.recipients, not here
    numbers = ["79123456780", "+79123456781", "79123456780", "79123456782"]
    started = await core.sender.submit(numbers, prepared, TG, idempotency_key="job-1")
    # duplicates go: one SMS per person
    assert [r.recipient for r in started.records] == ["79123456780", "79123456781", "79123456782"]
    assert {r.job_id for r in started.records} == {started.job.id}
    outcomes = await started.outcomes()
    assert [o.state for o in outcomes] == [MessageState.SENT] * 3
    repeat = await core.sender.submit(numbers, prepared, TG, idempotency_key="job-1")
    assert repeat.duplicate and repeat.job.id == started.job.id
    assert len(fake_gateways.requests_for("smska")) == 3


async def confirm_plain(core: Core) -> SendOutcome:
    prepared = core.sender.prepare(RECIPIENT, "hi", "smska")
    return await core.sender.send(prepared, TG)


# --------------------------------------- item 4: the database refuses the result


class FullDisk:
    """Makes one repository write fail like a full disk, ``times`` times."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, core: Core, method: str, times: int
    ) -> None:
        self.left = times
        original = getattr(core.store.messages, method)

        async def failing(*args: object, **kwargs: object) -> MessageRecord:
            if self.left > 0:
                self.left -= 1
                raise sqlite3.OperationalError("database or disk is full")
            result: MessageRecord = await original(*args, **kwargs)
            return result

        monkeypatch.setattr(core.store.messages, method, failing)


async def test_a_result_the_database_refuses_is_still_told_and_written_later(
    core: Core, fake_gateways: FakeGateways, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FullDisk(monkeypatch, core, "mark_sent", times=2)
    outcome = await confirm_plain(core)
    # What the gateway said is what the caller learns: sent, with its id.
    assert outcome.state is MessageState.SENT
    assert outcome.error is None
    assert outcome.record.gateway_id in fake_gateways.sent
    assert outcome.unrecorded == "database or disk is full"
    assert await core.sender.drain(10.0)
    assert disk.left == 0
    stored = await core.store.messages.get(outcome.record.id)
    assert stored is not None
    assert (stored.state, stored.gateway_id) == (MessageState.SENT, outcome.record.gateway_id)


async def test_a_send_that_cannot_be_marked_sending_is_not_made(
    core: Core, fake_gateways: FakeGateways, monkeypatch: pytest.MonkeyPatch
) -> None:
    FullDisk(monkeypatch, core, "mark_sending", times=1)
    outcome = await confirm_plain(core)
    assert outcome.state is MessageState.FAILED
    assert outcome.error is not None and outcome.error.nothing_sent
    assert fake_gateways.requests_for("smska") == []
    assert await core.sender.drain(5.0)


# ------------------------------------------------ item 5: one deadline per request


async def test_a_trickling_answer_is_cut_at_the_request_deadline(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """Each byte arrives well within the read time-out (0.5 s); the whole answer would
    take seconds. The request ends at connect + read (1.5 s): outcome unknown."""
    core = await make_core(default_provider="smska")
    fake_gateways.trickle_seconds = 0.2
    fake_gateways.queue_behaviour("smska", Behaviour.TRICKLE)
    outcome = await confirm_plain(core)
    assert outcome.state is MessageState.UNKNOWN
    assert isinstance(outcome.error, OutcomeUnknown)
    assert "1.5 s" in outcome.error.message


async def test_a_live_send_is_never_called_stale_by_another_process(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """While a send is out, another process reading the row (status, history) leaves it
    alone: the stale age is derived from the request deadline and always longer."""
    bot = await make_core(default_provider="smska")
    cli = await make_core(default_provider="smska")
    assert bot.settings.stale_send_age.total_seconds() > bot.settings.max_request_seconds
    fake_gateways.hold = asyncio.Event()
    task = asyncio.create_task(confirm_plain(bot))
    await fake_gateways.wait_for_requests(1)
    (row,) = await cli.status.find("1")
    assert row.state is MessageState.SENDING
    fake_gateways.hold.set()
    assert (await task).state is MessageState.SENT


# ------------------------------------ item 6: a slow gateway is a queue, not a failure


async def test_a_slow_gateway_under_load_queues_and_never_reports_connect_failures(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """Latency longer than the connect time-out, more sends than slots: every send waits
    for a slot and goes out; none is reported "could not connect"."""
    core = await make_core(
        default_provider="smska",
        smska_concurrency=4,
        http_connect_timeout=0.3,
        http_read_timeout=2.0,
    )
    fake_gateways.latency = 0.4
    outcomes = await asyncio.gather(*(confirm_plain(core) for _ in range(24)))
    assert [o.state for o in outcomes] == [MessageState.SENT] * 24
    assert len(fake_gateways.requests_for("smska")) == 24


# ------------------------------------------- item 9: the stale rule where rows are read


async def test_cli_status_of_a_send_whose_process_was_killed_says_unknown(
    fake_gateways: FakeGateways, make_core: MakeCore, db_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(db_path.parent),
        "DATABASE_PATH": str(db_path),
        "SMSKA_URL": fake_gateways.smska_url,
        "SMSKA_API_KEY": fake_gateways.smska_api_key,
        "SMSKA_API_PASSWORD": fake_gateways.smska_api_password,
        "SMSKA_SENDER": "TestSender",
    }
    core = await make_core(default_provider="smska")
    record, _ = await core.store.messages.create(
        NewMessage(
            source="cli", recipient=RECIPIENT, text="t", encoding="GSM-7", parts=1, provider="smska"
        )
    )
    await core.store.messages.mark_sending(record.id, provider="smska")
    # the process that made the request died long ago
    await core.db.conn.execute(
        "UPDATE messages SET sending_at = '2020-01-01T00:00:00.000000+00:00' WHERE id = ?",
        (record.id,),
    )
    result = await run("status", str(record.id), env=env)
    assert result.code == 6, result
    assert "unknown" in result.err
    stored = await core.store.messages.get(record.id)
    assert stored is not None
    assert (stored.state, stored.error_kind) == (MessageState.UNKNOWN, "Interrupted")


async def test_closing_the_core_stops_a_send_past_its_grace_and_keeps_its_row(
    fake_gateways: FakeGateways, db_path: Path
) -> None:
    """At exit, after the bounded drain: what still runs is stopped (no task left
    pending on a closed database), and its row stays ``sending``, settled by the stop
    rule later, never sent again."""
    settings = gateway_settings(fake_gateways, db_path, default_provider="smska")
    fake_gateways.hold = asyncio.Event()
    async with open_core(settings) as core:
        task = asyncio.create_task(confirm_plain(core))
        await fake_gateways.wait_for_requests(1)
    with pytest.raises(asyncio.CancelledError):
        await task
    fake_gateways.hold.set()
    async with open_core(settings) as again:
        row = await again.store.messages.get(1)
    assert row is not None and row.state is MessageState.SENDING
    assert len(fake_gateways.requests_for("smska")) == 1


async def test_a_gateway_rate_spaces_its_requests(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """SMSKA_RATE=10: sends started together reach the gateway at least 0.1 s apart (a
    lower bound only: a slow machine can only space them more)."""
    core = await make_core(default_provider="smska", smska_concurrency=5, smska_rate=10)
    prepared = core.sender.prepare(RECIPIENT, "paced", "smska")
    numbers = [f"7912345678{i}" for i in range(6)]
    outcomes = await (await core.sender.submit(numbers, prepared, TG)).outcomes()
    assert [o.state for o in outcomes] == [MessageState.SENT] * 6
    arrivals = sorted(sms.at for sms in fake_gateways.sent.values())
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.09, gaps


async def test_a_reader_with_shorter_time_outs_waits_for_the_senders_deadline(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """A bot with long time-outs is sending; a cron run with short ones reads the row. The
    row carries its own stale time (the sender's deadline), so the reader leaves it be."""
    bot = await make_core(default_provider="smska", http_read_timeout=600.0)
    cron = await make_core(default_provider="smska")
    fake_gateways.hold = asyncio.Event()
    task = asyncio.create_task(confirm_plain(bot))
    await fake_gateways.wait_for_requests(1)
    # even a reader that would call anything older than now stale leaves it alone
    assert await cron.sender.recover_interrupted(bot_starting=False, stale_after=timedelta(0)) == []
    (row,) = await cron.store.messages.in_state(MessageState.SENDING)
    assert row.stale_at is not None and row.sending_at is not None
    assert row.stale_at - row.sending_at == bot.settings.stale_send_age
    fake_gateways.hold.set()
    assert (await task).state is MessageState.SENT


async def test_a_job_whose_gateway_is_gone_is_not_resumed(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """The configuration changed while the bot was down: resuming says so and sends
    nothing; cancelling still works."""
    core = await make_core(default_provider="smska")
    created = await core.store.messages.create_job(
        NewJob(
            source="telegram",
            recipients=(RECIPIENT,),
            text="hi",
            encoding="GSM-7",
            parts=1,
            provider="twilio",
            user_id=7,
            chat_id=7,
        )
    )
    with pytest.raises(InvalidInput):
        await core.sender.resume(created.job.id, user_id=7)
    assert fake_gateways.requests == []
    (cancelled,) = await core.sender.cancel(created.job.id, user_id=7)
    assert cancelled.state is MessageState.FAILED
