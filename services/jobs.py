"""Send jobs of many recipients as their owner sees them: progress, Stop, a report of
every recipient (CSV), the recent jobs for /history and one job for /status."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta

from services.sending import JobNotYours
from storage.db import STORAGE_ERRORS, utcnow
from storage.messages import MessageRepository
from storage.models import JobRecord, MessageRecord, MessageState

__all__ = [
    "STORAGE_ERRORS",
    "JobLine",
    "JobNotYours",
    "JobProgress",
    "JobService",
    "ReportRow",
    "csv_safe",
]

#: the columns of a job's report, in order
REPORT_HEADER = ("number", "name", "state", "gateway_id", "error")
#: a spreadsheet reads a cell starting with one of these as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True, slots=True)
class JobProgress:
    """Where a job stands: its rows counted by state."""

    job: JobRecord
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, *states: MessageState) -> int:
        return sum(self.counts.get(str(state), 0) for state in states)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def queued(self) -> int:
        return self.count(MessageState.QUEUED)

    @property
    def in_flight(self) -> int:
        return self.count(MessageState.SENDING)

    @property
    def left(self) -> int:
        """Not settled yet: waiting for its turn, or its request is out."""
        return self.count(MessageState.QUEUED, MessageState.SENDING)

    @property
    def sent(self) -> int:
        """Accepted by the gateway, whatever delivery tracking learned since."""
        return self.count(
            MessageState.SENT,
            MessageState.DELIVERED,
            MessageState.REJECTED,
            MessageState.EXPIRED,
            MessageState.DELETED,
        )

    @property
    def delivered(self) -> int:
        return self.count(MessageState.DELIVERED)

    @property
    def undelivered(self) -> int:
        return self.count(MessageState.REJECTED, MessageState.EXPIRED, MessageState.DELETED)

    @property
    def failed(self) -> int:
        return self.count(MessageState.FAILED)

    @property
    def unknown(self) -> int:
        return self.count(MessageState.UNKNOWN)

    @property
    def stopped(self) -> bool:
        return self.job.stopped_at is not None


@dataclass(frozen=True, slots=True)
class ReportRow:
    number: str
    name: str | None
    state: MessageState
    gateway_id: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class JobLine:
    """One line of /history: a job, its counts, and its first row (a job of one is
    shown as that send)."""

    progress: JobProgress
    first: MessageRecord | None


def csv_safe(value: str | None) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_START) else text


class JobService:
    def __init__(
        self, messages: MessageRepository, *, stale_after: timedelta = timedelta(seconds=85)
    ) -> None:
        self._messages = messages
        self._stale_after = stale_after

    async def _settle_stale(self) -> None:
        """The stop rule, applied wherever rows are shown (as ``StatusService`` does): a
        row left ``sending`` by a stopped process is ``unknown``, never ``left``."""
        await self._messages.settle_interrupted(
            older_than=utcnow() - self._stale_after, bot_starting=False
        )

    async def progress(self, job_id: int) -> JobProgress:
        job = await self._messages.job(job_id)
        if job is None:
            raise JobNotYours(f"There is no job {job_id}.")
        return JobProgress(job, await self._messages.job_counts(job_id))

    async def owned(self, job_id: int, user_id: int, *, admin: bool = False) -> JobRecord:
        """The job if it is ``user_id``'s (any job for an ``admin``); ``JobNotYours``
        otherwise, the same as for no such job."""
        job = await self._messages.job(job_id)
        if job is None or (job.user_id != user_id and not admin):
            raise JobNotYours(f"There is no job {job_id} of yours.")
        return job

    async def stop(self, job_id: int, user_id: int) -> JobProgress:
        """Stop the owner's job: sends in flight finish, nothing else starts; what is
        left stays ``queued`` (resume or cancel it). Raises ``JobNotYours``."""
        await self.owned(job_id, user_id)
        await self._messages.stop_job(job_id)
        return await self.progress(job_id)

    async def remember_message(self, job_id: int, chat_id: int, message_id: int) -> None:
        await self._messages.set_progress_message(job_id, chat_id, message_id)

    async def rows(self, job_id: int, user_id: int, *, admin: bool = False) -> list[MessageRecord]:
        """Every recipient's row of a job the viewer may see, in order."""
        await self.owned(job_id, user_id, admin=admin)
        await self._settle_stale()
        return await self._messages.of_job(job_id)

    async def mark_told(self, job_id: int) -> None:
        """Its summary reached the owner: no late answer per recipient at a restart."""
        await self._messages.mark_job_notified(job_id)

    async def queued_rows(self, job_id: int) -> list[MessageRecord]:
        """The job's rows still ``queued`` (nothing of them sent)."""
        rows = await self._messages.of_job(job_id)
        return [r for r in rows if r.state == MessageState.QUEUED]

    async def report(self, job_id: int, user_id: int, *, admin: bool = False) -> list[ReportRow]:
        """Every recipient of the job: number, contact name, state, gateway id, error."""
        return [
            ReportRow(r.recipient, r.recipient_name, r.state, r.gateway_id, r.error_text)
            for r in await self.rows(job_id, user_id, admin=admin)
        ]

    async def report_csv(self, job_id: int, user_id: int, *, admin: bool = False) -> bytes:
        """``report`` as CSV (UTF-8 with a BOM, so that spreadsheets read Cyrillic)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(REPORT_HEADER)
        for row in await self.report(job_id, user_id, admin=admin):
            writer.writerow(
                (
                    csv_safe(row.number),
                    csv_safe(row.name),
                    str(row.state),
                    csv_safe(row.gateway_id),
                    csv_safe(row.error),
                )
            )
        return out.getvalue().encode("utf-8-sig")

    async def recent_jobs(self, user_id: int | None, limit: int = 10) -> list[JobLine]:
        """The newest jobs (of ``user_id``; ``None``: everyone's), with their counts."""
        await self._settle_stale()
        jobs = await self._messages.recent_jobs(user_id=user_id, limit=limit)
        ids = [job.id for job in jobs]
        counts = await self._messages.counts_of_jobs(ids)
        firsts = await self._messages.first_of_jobs(ids)
        return [
            JobLine(JobProgress(job, counts.get(job.id, {})), firsts.get(job.id)) for job in jobs
        ]
