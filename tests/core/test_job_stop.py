"""A job's Stop in the pipeline: the claim that moves a row ``queued`` -> ``sending``
refuses, in the same UPDATE, a row whose job is stopped, so no request starts after
the stop is written; a resume lifts the stop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.core import Core
from services.sending import JobNotYours, Origin
from storage.messages import NewJob
from storage.models import MessageState
from tests.fakes.gateways import FakeGateways

MakeCore = Callable[..., Awaitable[Core]]
OWNER = 7
TG = Origin(source="telegram", user_id=OWNER, chat_id=OWNER, lang="en")


def numbers(count: int) -> list[str]:
    return [f"7912345{index:04d}" for index in range(1, count + 1)]


async def test_a_stopped_jobs_queued_row_is_not_claimed(make_core: MakeCore) -> None:
    core = await make_core(default_provider="smska")
    repo = core.store.messages
    prepared = core.sender.prepare(numbers(1)[0], "stop me", "smska")
    # recorded but not dispatched: the rows stay queued for the test to claim
    created = await repo.create_job(
        NewJob(
            source="telegram",
            recipients=tuple(numbers(2)),
            text=prepared.text.text,
            encoding=prepared.text.encoding,
            parts=prepared.text.parts,
            provider="smska",
            user_id=OWNER,
            chat_id=OWNER,
        )
    )
    first, second = created.messages
    assert await repo.stop_job(created.job.id) is True
    assert await repo.stop_job(created.job.id) is False  # stopped already
    row, claimed = await repo.mark_sending(first.id, provider="smska")
    assert (claimed, row.state) == (False, MessageState.QUEUED)
    await repo.clear_stop(created.job.id)
    row, claimed = await repo.mark_sending(second.id, provider="smska")
    assert (claimed, row.state) == (True, MessageState.SENDING)


async def test_stop_mid_job_leaves_the_rest_queued_without_waiting_for_paced_turns(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """A paced gateway (one request per 100 s after the first): rows behind a Stop do
    not wait for their paced turn, they end at once, unsent."""
    core = await make_core(default_provider="smska", smska_concurrency=1, smska_rate=0.01)
    fake_gateways.hold = asyncio.Event()
    prepared = core.sender.prepare(numbers(1)[0], "paced", "smska")
    started = await core.sender.submit(numbers(6), prepared, TG)
    await fake_gateways.wait_for_requests(1)
    with pytest.raises(JobNotYours):
        await core.jobs.stop(started.job.id, OWNER + 1)
    assert (await core.jobs.progress(started.job.id)).stopped is False
    progress = await core.jobs.stop(started.job.id, OWNER)
    assert progress.stopped and progress.left == 6
    fake_gateways.hold.set()
    outcomes = await asyncio.wait_for(started.outcomes(), 20)
    assert [o.state for o in outcomes] == [MessageState.SENT] + [MessageState.QUEUED] * 5
    assert len(fake_gateways.requests_for("smska")) == 1
    done = await core.jobs.progress(started.job.id)
    assert (done.sent, done.queued, done.left) == (1, 5, 5)
    assert [r.recipient for r in await core.jobs.queued_rows(started.job.id)] == numbers(6)[1:]
