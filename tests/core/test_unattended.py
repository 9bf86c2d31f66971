"""At start, what a stop left queued of an HTTP API or Alertmanager job (nobody to ask)
is sent, if the job is young and not stopped; the bot's and the command line's jobs are
left to their owners."""

from __future__ import annotations

from datetime import timedelta

from bot.core import Core
from services.sending import UNATTENDED_RESUME_MAX_AGE
from storage.messages import NewJob
from storage.models import MessageState
from tests.fakes.gateways import FakeGateways


async def _queued_job(core: Core, source: str, *numbers: str) -> int:
    """A job recorded as a stopped process leaves it: every row queued, none sent."""
    created = await core.store.messages.create_job(
        NewJob(
            source=source,
            recipients=numbers,
            text="Disk full",
            encoding="GSM-7",
            parts=1,
            provider="smsrent",
        )
    )
    return created.job.id


async def test_young_api_and_alert_jobs_are_sent_the_rest_left_alone(
    core: Core, fake_gateways: FakeGateways
) -> None:
    api = await _queued_job(core, "api", "79123456780", "79123456781")
    alert = await _queued_job(core, "alertmanager", "79123456782")
    old = await _queued_job(core, "api", "79123456783")
    stopped = await _queued_job(core, "api", "79123456784")
    cli = await _queued_job(core, "cli", "79123456785")
    async with core.db.transaction() as conn:
        await conn.execute(
            "UPDATE jobs SET created_at = ? WHERE id = ?", ("2000-01-01T00:00:00+00:00", old)
        )
    await core.store.messages.stop_job(stopped)

    resumed = await core.sender.resume_unattended(max_age=UNATTENDED_RESUME_MAX_AGE)
    assert sorted(started.job.id for started in resumed) == [api, alert]
    for started in resumed:
        await started.outcomes()
    sent = sorted(r.form["to"] for r in fake_gateways.requests_for("smsrent"))
    assert sent == ["79123456780", "79123456781", "79123456782"]
    for job_id in (old, stopped, cli):
        assert {r.state for r in await core.store.messages.of_job(job_id)} == {MessageState.QUEUED}
    # a second start (or a second process) finds nothing left to send
    assert await core.sender.resume_unattended(max_age=timedelta(hours=1)) == []
