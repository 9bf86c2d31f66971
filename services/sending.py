"""Sending one SMS: validate, record the intent, wait for a free slot at the gateway,
mark the row ``sending``, call the gateway, fail over only where that is safe, and
record the result.

The order is the guarantee. The intent is committed (``queued``, together with the
quota check and the preview it uses up) before anything else; the row is marked
``sending`` on disk before its request leaves. A stop while ``queued`` therefore
means nothing was sent (its owner chooses at the next start: ``resume`` or
``cancel``); a stop while ``sending`` means it may have been (``unknown``, never
retried). A result that
cannot be written is kept trying in the background, and the caller is told what
the gateway said all the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from providers.base import OutgoingSms, SendResult
from providers.errors import OutcomeUnknown, ProviderError
from providers.sms import InvalidInput, SmsText, analyze_text
from services.domain import normalize_phone
from services.gateways import Gateways
from services.kinds import error_kind
from services.limits import LimitExceeded, LimitHit
from storage.balances import BalanceRepository
from storage.db import STORAGE_ERRORS, utcnow
from storage.messages import (
    MessageRepository,
    NewJob,
    PreviewClaim,
    PreviewNotOpen,
    QuotaExceeded,
)
from storage.models import JobRecord, MessageRecord, MessageState

__all__ = [
    "FailedAttempt",
    "Origin",
    "PreparedSend",
    "PreviewClaim",
    "PreviewNotOpen",
    "SendOutcome",
    "SendService",
    "SendStarted",
]

#: sends in flight at once per gateway when no setting says otherwise
DEFAULT_CONCURRENCY = 10
#: longest pause between two tries to write a result the database refused
MAX_WRITE_BACKOFF = 30.0

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedSend:
    recipient: str
    text: SmsText
    provider: str


@dataclass(frozen=True, slots=True)
class Origin:
    source: str  # "telegram", "cli" or "api"
    user_id: int | None = None
    user_name: str | None = None
    chat_id: int | None = None
    lang: str | None = None
    #: a send of the HTTP API: its token, and the hash of the request (idempotency)
    api_token_id: int | None = None
    request_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    provider: str
    error: ProviderError


@dataclass(frozen=True, slots=True)
class SendOutcome:
    record: MessageRecord
    result: SendResult | None = None
    error: ProviderError | None = None
    failed_attempts: tuple[FailedAttempt, ...] = field(default_factory=tuple)
    duplicate: bool = False  # the idempotency key was used before: nothing was done now
    #: the database refused to store the result (the reason); it is being retried, and
    #: ``record`` shows what the gateway said, not what is on disk yet
    unrecorded: str | None = None

    @property
    def state(self) -> MessageState:
        return self.record.state


class InternalSendError(OutcomeUnknown):
    """An unexpected error while the request may have been in flight."""


class RecordNotWritten(ProviderError):
    """The send could not be marked ``sending`` on disk, so its request was not made."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(provider, f"the record could not be written ({reason}); nothing was sent")
        self.reason = reason


class SendStarted:
    """A send whose intent is on disk: ``record`` is its row as created (or the earlier
    row for a repeated idempotency key, ``duplicate``); ``outcome()`` waits for it."""

    def __init__(
        self, record: MessageRecord, task: asyncio.Task[SendOutcome] | None = None
    ) -> None:
        self.record = record
        self._task = task

    @property
    def duplicate(self) -> bool:
        return self._task is None

    async def outcome(self) -> SendOutcome:
        """The result; a cancelled caller does not cancel the send itself."""
        if self._task is None:
            return SendOutcome(record=self.record, duplicate=True)
        return await asyncio.shield(self._task)


class JobStarted:
    """A send job whose rows are on disk (``queued``): ``records`` as created, or the
    earlier job's rows for a repeated idempotency key (``duplicate``)."""

    def __init__(
        self,
        job: JobRecord,
        records: list[MessageRecord],
        tasks: list[asyncio.Task[SendOutcome]] | None = None,
    ) -> None:
        self.job = job
        self.records = records
        self._tasks = tasks

    @property
    def duplicate(self) -> bool:
        return self._tasks is None

    @property
    def tasks(self) -> list[asyncio.Task[SendOutcome]]:
        return self._tasks or []

    async def outcomes(self) -> list[SendOutcome]:
        """Every recipient's result, in order; a cancelled caller cancels no send."""
        if self._tasks is None:
            return [SendOutcome(record=r, duplicate=True) for r in self.records]
        return list(await asyncio.shield(asyncio.gather(*self._tasks)))


class JobNotYours(InvalidInput):
    """A job that is not this user's, or no such job: nothing was done."""


class Pacer:
    """At most ``rate`` requests a second: each caller waits for its own turn, spaced
    ``1 / rate`` apart (the first at once)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        turn = max(now, self._next)
        self._next = turn + self._interval
        if turn > now:
            await asyncio.sleep(turn - now)


def _log_fields(
    record: MessageRecord, gateway: str, latency_ms: float | None, error: ProviderError | None
) -> dict[str, object]:
    """The fields of a send's result line in the JSON log (``LOG_FORMAT=json``)."""
    if error is None:
        result = "accepted"
    else:
        result = "unknown" if isinstance(error, OutcomeUnknown) else "failed"
    return {
        "user_id": record.user_id,
        "message_id": record.id,
        "job_id": record.job_id,
        "gateway": gateway,
        "result": result,
        "error": None if error is None else type(error).__name__,
        "latency_ms": latency_ms,
    }


def _storage_reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120] or type(exc).__name__


#: jobs nobody can be asked about after a stop: their queued rows are sent at the next start
UNATTENDED_SOURCES = ("api", "alertmanager")
#: ... if the job is younger than this (an alert hours late helps nobody)
UNATTENDED_RESUME_MAX_AGE = timedelta(hours=1)

#: how many checked numbers ``SendService`` remembers (a few MB at most)
MAX_PASSED_NUMBERS = 100_000


class SendService:
    def __init__(
        self,
        gateways: Gateways,
        messages: MessageRepository,
        balances: BalanceRepository,
        *,
        first_check_after: timedelta = timedelta(seconds=15),
        concurrency: Mapping[str, int] | None = None,
        rates: Mapping[str, float] | None = None,
        stale_after: timedelta = timedelta(seconds=85),
        clock: Callable[[], datetime] = utcnow,
        allowed_regions: frozenset[str] = frozenset(),
    ) -> None:
        self.gateways = gateways
        #: ISO regions SMS may go to (ALLOWED_COUNTRIES); empty: every country.
        self.allowed_regions = allowed_regions
        self._messages = messages
        self._balances = balances
        self._first_check_after = first_check_after
        self._stale_after = stale_after
        self._clock = clock
        limits = concurrency or {}
        # The queue in front of each gateway: as many requests at once as it has slots
        # (and the HTTP pool has connections); the rest wait here, which is no failure.
        self._slots = {
            name: asyncio.Semaphore(limits.get(name, DEFAULT_CONCURRENCY))
            for name in gateways.names
        }
        # ... and an optional pace per gateway (requests per second), in the same queue
        self._pacers = {name: Pacer(rate) for name, rate in (rates or {}).items()}
        self._in_flight: set[asyncio.Task[object]] = set()
        #: rows being sent by this process now (a second resume does not take them)
        self._active: set[int] = set()
        #: renews the lease on this process's rows waiting in its queue (``_keep_leases``)
        self._leases: asyncio.Task[None] | None = None
        #: ``hold()`` was called: no new request is made
        self._held = False
        #: numbers that passed ``recipient`` (international digits): read back with
        #: ``international``, they are not parsed again (1 ms a number for a list)
        self._passed: set[str] = set()

    def prepare(
        self,
        recipient: str,
        text: str,
        provider: str | None = None,
        *,
        international: bool = False,
    ) -> PreparedSend:
        """Validate everything that can be checked before a request; raise ``InvalidInput``.
        ``international``: ``recipient`` is a number this program resolved or keeps (see
        ``recipient``)."""
        gateway = self.gateways.get(provider)
        number = self.recipient(recipient, international=international)
        sms_text = analyze_text(text)
        gateway.check_text(sms_text)
        return PreparedSend(recipient=number, text=sms_text, provider=gateway.name)

    def hold(self) -> None:
        """Make no new request from now on (the command line stopping mid-job): a row
        whose request is out finishes and is recorded; a row still waiting for its
        turn is left ``queued``, nothing of it sent (its outcome says ``queued``)."""
        self._held = True

    def _track(self, task: asyncio.Task[object]) -> None:
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def start(
        self,
        prepared: PreparedSend,
        origin: Origin,
        *,
        idempotency_key: str | None = None,
        quotas: tuple[tuple[int, timedelta], ...] = (),
        preview: PreviewClaim | None = None,
    ) -> SendStarted:
        """Record the intent (with the quota check and the preview claim, in one
        transaction) and start sending in a task of its own. Raises ``LimitExceeded``
        or ``PreviewNotOpen`` with nothing recorded or sent."""
        task = asyncio.create_task(self._start(prepared, origin, idempotency_key, quotas, preview))
        self._track(task)
        return await asyncio.shield(task)

    def recipient(self, raw: str, *, international: bool = False) -> str:
        """The number ``raw`` stands for, if SMS may go to it (type and country);
        every entry point checks a number through here. Raises ``InvalidPhone``.

        ``international``: ``raw`` is a number this program resolved or keeps
        (international digits, as this returns them) or one Telegram gives (a contact
        card): it is read with a "+", never as a Russian national number. Without it,
        Vietnam's 84912345678 would be re-read as Russia's 8 491 234-56-78."""
        if international:
            digits = raw.strip().lstrip("+")
            if digits in self._passed:
                return digits
            raw = "+" + digits
        number = normalize_phone(raw, allowed_regions=self.allowed_regions)
        if len(self._passed) >= MAX_PASSED_NUMBERS:
            self._passed.clear()
        self._passed.add(number)
        return number

    async def send(
        self,
        prepared: PreparedSend,
        origin: Origin,
        *,
        idempotency_key: str | None = None,
        quotas: tuple[tuple[int, timedelta], ...] = (),
        preview: PreviewClaim | None = None,
    ) -> SendOutcome:
        """Record, send and record again. A cancelled caller does not cancel the work,
        so the result is always written down; ``drain()`` waits for it at shutdown."""
        started = await self.start(
            prepared, origin, idempotency_key=idempotency_key, quotas=quotas, preview=preview
        )
        return await started.outcome()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def drain(self, grace: float) -> bool:
        """Wait (bounded) for sends in flight to record their result. True if all did."""
        deadline = asyncio.get_running_loop().time() + grace
        while True:  # a finishing send may start a background write: look again
            pending = {task for task in self._in_flight if not task.done()}
            if not pending:
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            await asyncio.wait(pending, timeout=remaining)

    async def drain_at_exit(self, grace: float) -> bool:
        """``drain`` for a process stopping (the bot, ``serve``), saying what it waits for
        and what it leaves behind."""
        if self.in_flight:
            log.info("waiting up to %s s for %d send(s) in flight", grace, self.in_flight)
        if await self.drain(grace):
            return True
        log.warning("sends still in flight at exit: they will be reported as unknown at start")
        return False

    async def close(self) -> None:
        """At exit, after ``drain``: stop what is still running (a write the database
        keeps refusing, a send past the grace). Its row stays ``queued`` or ``sending``
        and is settled by the stop rule, never sent again."""
        if self._leases is not None:
            self._leases.cancel()
        pending = [task for task in self._in_flight if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            log.warning(
                "%d send task(s) stopped at exit; their rows are settled later", len(pending)
            )
            await asyncio.wait(pending, timeout=5)

    async def wait_settled(self, record: MessageRecord, grace: float) -> MessageRecord:
        """A repeat of a send still in flight (perhaps in another process): wait,
        bounded, until its result is recorded, and return the record as it is then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while record.state.in_flight and loop.time() < deadline:
            await asyncio.sleep(0.1)
            record = await self._messages.get(record.id) or record
        return record

    async def recover_interrupted(
        self, *, bot_starting: bool, stale_after: timedelta | None = None
    ) -> list[MessageRecord]:
        """Settle rows a stopped process left behind, and return them so that their
        senders can be told: ``sending`` becomes ``unknown`` (never retried); a
        command-line row left ``queued`` becomes ``failed`` (nothing was sent). The
        bot's ``queued`` rows wait for their owner (``waiting_jobs``).

        A ``sending`` row is left behind once past the stale time its sender wrote on
        it (or, without one, older than ``stale_after``), or, when the bot starts,
        when it is the bot's own. The same rule applies wherever a row is read."""
        age = self._stale_after if stale_after is None else stale_after
        settled = await self._messages.settle_interrupted(
            older_than=self._clock() - age, bot_starting=bot_starting
        )
        for record in settled:
            log.warning("send #%s was interrupted by a stop: %s", record.id, record.state)
        return settled

    async def _start(
        self,
        prepared: PreparedSend,
        origin: Origin,
        idempotency_key: str | None,
        quotas: tuple[tuple[int, timedelta], ...],
        preview: PreviewClaim | None,
    ) -> SendStarted:
        started = await self._start_job(
            (prepared.recipient,), prepared, origin, idempotency_key, quotas, preview
        )
        record = started.records[0]
        if started.duplicate:
            log.info("send #%s: repeated request, nothing sent again", record.id)
            return SendStarted(record)
        return SendStarted(record, started.tasks[0])

    async def submit(
        self,
        recipients: Sequence[str],
        prepared: PreparedSend,
        origin: Origin,
        *,
        idempotency_key: str | None = None,
        quotas: tuple[tuple[int, timedelta], ...] = (),
        preview: PreviewClaim | None = None,
        names: Mapping[str, str] | None = None,
    ) -> JobStarted:
        """A send job: ``prepared``'s text and gateway to every recipient (numbers as
        ``core.recipients`` resolves them: international digits; checked again and made
        unique here), recorded in one transaction, then sent with the gateway's
        bounded concurrency, each recipient's result recorded on its own row."""
        numbers = list(dict.fromkeys(self.recipient(r, international=True) for r in recipients))
        if not numbers:
            raise InvalidInput("There is no recipient.")
        task = asyncio.create_task(
            self._start_job(
                tuple(numbers), prepared, origin, idempotency_key, quotas, preview, names
            )
        )
        self._track(task)
        return await asyncio.shield(task)

    async def _start_job(
        self,
        numbers: tuple[str, ...],
        prepared: PreparedSend,
        origin: Origin,
        idempotency_key: str | None,
        quotas: tuple[tuple[int, timedelta], ...],
        preview: PreviewClaim | None,
        names: Mapping[str, str] | None = None,
    ) -> JobStarted:
        try:
            created = await self._messages.create_job(
                NewJob(
                    source=origin.source,
                    recipients=numbers,
                    text=prepared.text.text,
                    encoding=prepared.text.encoding,
                    parts=prepared.text.parts,
                    provider=prepared.provider,
                    user_id=origin.user_id,
                    user_name=origin.user_name,
                    chat_id=origin.chat_id,
                    idempotency_key=idempotency_key,
                    lang=origin.lang,
                    quotas=quotas,
                    preview=preview,
                    names=dict(names or {}),
                    api_token_id=origin.api_token_id,
                    request_hash=origin.request_hash,
                )
            )
        except QuotaExceeded as exc:
            hit = LimitHit.at(exc.limit, exc.window, exc.oldest, self._clock())
            raise LimitExceeded(hit) from None
        if not created.created:
            return JobStarted(created.job, created.messages)
        if origin.source != "telegram":  # the bot's queued rows are never settled outside
            await self._lease([r.id for r in created.messages])
        return JobStarted(created.job, created.messages, self._dispatch(created.messages, prepared))

    def _dispatch(
        self, records: list[MessageRecord], prepared: PreparedSend
    ) -> list[asyncio.Task[SendOutcome]]:
        tasks = []
        if records and (self._leases is None or self._leases.done()):
            self._leases = asyncio.create_task(self._keep_leases(), name="queued-leases")
        for record in records:
            self._active.add(record.id)
            task = asyncio.create_task(
                self._deliver(record, prepared.text, prepared.provider), name=f"send-{record.id}"
            )
            task.add_done_callback(functools.partial(self._done_with, record.id))
            self._track(task)
            tasks.append(task)
        return tasks

    def _done_with(self, message_id: int, _task: asyncio.Task[SendOutcome]) -> None:
        self._active.discard(message_id)

    async def _lease(self, message_ids: list[int]) -> None:
        """This process is alive and will send these ``queued`` rows: no other process
        (the bot beside ``serve``, a reader of /history) calls them left behind by a stop
        for a stale age from now, however long they wait for a slot."""
        until = self._clock() + self._stale_after
        try:
            for at in range(0, len(message_ids), 500):  # SQLite's bound on ? marks
                await self._messages.renew_queued(message_ids[at : at + 500], until)
        except STORAGE_ERRORS as exc:  # the row's creation age still protects it a while
            log.warning("could not renew the lease of queued sends: %s", _storage_reason(exc))

    async def _keep_leases(self) -> None:
        """While rows of this process wait in its queue, renew their lease well within
        the stale age."""
        every = max(self._stale_after.total_seconds() / 4, 0.05)
        while self._active:
            await self._lease(sorted(self._active))
            await asyncio.sleep(every)

    async def waiting_jobs(self) -> list[tuple[JobRecord, list[MessageRecord]]]:
        """Jobs of the bot with rows still ``queued`` (a stop came first): nothing of
        those rows was sent; their owners choose to send them or not."""
        waiting = []
        for job_id in await self._messages.jobs_with_queued(source="telegram"):
            job = await self._messages.job(job_id)
            if job is not None:
                rows = [
                    r for r in await self._messages.of_job(job_id) if r.state == MessageState.QUEUED
                ]
                waiting.append((job, rows))
        return waiting

    async def resume(self, job_id: int, user_id: int | None) -> JobStarted:
        """Send what a job still has ``queued`` (the owner's choice after a stop or a
        restart; a Stop is lifted; ``user_id`` None: the command line's own job).
        Raises ``JobNotYours``, or ``UnknownProvider`` when its gateway is no longer
        configured here (nothing is sent; the owner may cancel it)."""
        job = await self._owned(job_id, user_id)
        self.gateways.get(job.gateway)  # UnknownProvider if no longer configured here
        if job.stopped_at is not None:
            await self._messages.clear_stop(job_id)  # its rows may be claimed again
        rows = [
            r
            for r in await self._messages.of_job(job_id)
            if r.state == MessageState.QUEUED and r.id not in self._active
        ]
        text = analyze_text(job.text)
        prepared = PreparedSend(recipient="", text=text, provider=job.gateway)
        await self._lease([r.id for r in rows])
        return JobStarted(job, rows, self._dispatch(rows, prepared))

    async def resume_unattended(self, *, max_age: timedelta) -> list[JobStarted]:
        """At start: jobs of the HTTP API and the Alertmanager receiver have nobody to
        ask after a stop (the caller got its 202 and will not retry), so what they still
        have ``queued`` (nothing of it was sent) is sent now, if the job is younger than
        ``max_age`` and not stopped (a revoked token stops its jobs). Older rows are left
        to the stop rule: ``failed``, nothing sent. Each row is claimed atomically before
        its request, so a second process doing the same never sends one twice."""
        now = self._clock()
        resumed: list[JobStarted] = []
        for source in UNATTENDED_SOURCES:
            for job_id in await self._messages.jobs_with_queued(source=source):
                job = await self._messages.job(job_id)
                if job is None or job.stopped_at is not None or job.created_at < now - max_age:
                    continue
                if job.gateway not in self.gateways.names:
                    continue  # not configured here: the stop rule fails them
                rows = [
                    r
                    for r in await self._messages.of_job(job_id)
                    if r.state == MessageState.QUEUED and r.id not in self._active
                ]
                if not rows:
                    continue
                log.warning(
                    "job #%s (%s): sending the %d recipient(s) a stop left queued",
                    job.id,
                    source,
                    len(rows),
                )
                prepared = PreparedSend(
                    recipient="", text=analyze_text(job.text), provider=job.gateway
                )
                await self._lease([r.id for r in rows])
                resumed.append(JobStarted(job, rows, self._dispatch(rows, prepared)))
        return resumed

    async def cancel(self, job_id: int, user_id: int | None) -> list[MessageRecord]:
        """Do not send what a job still has ``queued`` (the owner's choice): those rows
        become ``failed``, nothing of them sent. Raises ``JobNotYours``."""
        await self._owned(job_id, user_id)
        return await self._messages.cancel_queued(
            job_id, "cancelled by its owner before it was sent; nothing was sent"
        )

    async def _owned(self, job_id: int, user_id: int | None) -> JobRecord:
        # ``user_id`` None: the command line, owner of the jobs it started
        job = await self._messages.job(job_id)
        if job is None or job.user_id != user_id:
            raise JobNotYours(f"There is no job {job_id} of yours.")
        return job

    async def _job_stopped(self, record: MessageRecord) -> bool:
        """Whether the row's job was stopped (a hint: ``mark_sending`` decides)."""
        if record.job_id is None:
            return False
        try:
            return await self._messages.job_stopped(record.job_id)
        except STORAGE_ERRORS:
            return False

    async def _deliver(self, record: MessageRecord, text: SmsText, provider: str) -> SendOutcome:
        failed: list[FailedAttempt] = []
        chain = self.gateways.chain(provider)
        sms = OutgoingSms(recipient=record.recipient, text=text)
        for position, name in enumerate(chain):
            gateway = self.gateways.get(name)
            is_last = position == len(chain) - 1
            if position > 0:
                try:
                    gateway.check_text(text)
                except InvalidInput as exc:
                    log.info("send #%s: %s cannot carry this text (%s)", record.id, name, exc)
                    continue
            error: ProviderError | None = None
            async with self._slots[name]:
                if name in self._pacers:
                    if not failed and await self._job_stopped(record):
                        # not a paced turn to wait for: its claim would be refused
                        log.info("send #%s: its job was stopped: not sending it", record.id)
                        return SendOutcome(record, duplicate=True)
                    await self._pacers[name].wait()
                if self._held and not failed:
                    return SendOutcome(record)  # still queued: nothing of it was sent
                try:
                    marked, claimed = await self._messages.mark_sending(
                        record.id,
                        provider=name,
                        stale_after=self._stale_after,
                        failover=bool(failed),
                    )
                except STORAGE_ERRORS as exc:
                    log.error("send #%s: could not be marked sending: %s", record.id, exc)
                    error = RecordNotWritten(name, _storage_reason(exc))
                    return await self._settle(record, MessageState.FAILED, error, failed)
                if not claimed and marked.state == MessageState.QUEUED:
                    # Its job was stopped: no request starts after the stop is written.
                    log.info("send #%s: its job was stopped: not sending it", record.id)
                    return SendOutcome(marked, failed_attempts=tuple(failed), duplicate=True)
                if not claimed:
                    # Claimed or settled by someone else meanwhile (a second resume, a
                    # stop seen from outside): its request is theirs or must not be made.
                    log.warning("send #%s is %s already: not sending it", record.id, marked.state)
                    return SendOutcome(marked, failed_attempts=tuple(failed), duplicate=True)
                record = marked
                started = time.monotonic()
                try:
                    result = await gateway.send(sms)
                except ProviderError as exc:
                    error = exc
                except Exception as exc:  # a bug while the request may have been in flight
                    log.exception("send #%s via %s: unexpected error", record.id, name)
                    error = InternalSendError(name, f"internal error ({type(exc).__name__})")
                latency_ms = round((time.monotonic() - started) * 1000, 1)
            if error is None:
                return await self._record_success(
                    record, result, gateway.capabilities.status, failed, latency_ms=latency_ms
                )
            fields = _log_fields(record, name, latency_ms, error)
            if isinstance(error, OutcomeUnknown):
                log.warning(
                    "send #%s via %s: outcome unknown: %s", record.id, name, error, extra=fields
                )
                return await self._settle(record, MessageState.UNKNOWN, error, failed)
            if error.failover_safe and not is_last:
                log.warning(
                    "send #%s via %s failed, nothing sent, trying the next gateway: %s",
                    record.id,
                    name,
                    error,
                    extra=fields,
                )
                failed.append(FailedAttempt(name, error))
                try:
                    await self._messages.note_attempt(
                        record.id, name, f"{type(error).__name__}: {error.message}"
                    )
                except STORAGE_ERRORS as exc:  # only history: the next mark_sending tells
                    log.error("send #%s: could not note the failed attempt: %s", record.id, exc)
                continue
            log.warning(
                "send #%s via %s failed, nothing sent: %s", record.id, name, error, extra=fields
            )
            return await self._settle(record, MessageState.FAILED, error, failed)

        # Every remaining gateway was skipped as unable to carry the text.
        last = failed[-1]
        return await self._settle(
            dataclasses.replace(record, provider=last.provider),
            MessageState.FAILED,
            last.error,
            failed[:-1],
        )

    async def _settle(
        self,
        record: MessageRecord,
        state: MessageState,
        error: ProviderError,
        failed: list[FailedAttempt],
    ) -> SendOutcome:
        """Record a failed or unknown result."""
        kind = error_kind(error)
        mark = (
            self._messages.mark_unknown
            if state == MessageState.UNKNOWN
            else self._messages.mark_failed
        )

        async def write() -> MessageRecord:
            return await mark(
                record.id, provider=error.provider, error_kind=kind, error_text=error.message
            )

        shown = dataclasses.replace(
            record,
            state=state,
            provider=error.provider,
            error_kind=kind,
            error_text=error.message,
            next_check_at=None,
        )
        stored, unrecorded = await self._write(record.id, write, shown)
        return SendOutcome(
            stored, error=error, failed_attempts=tuple(failed), unrecorded=unrecorded
        )

    async def _record_success(
        self,
        record: MessageRecord,
        result: SendResult,
        trackable: bool,
        failed: list[FailedAttempt],
        *,
        latency_ms: float | None = None,
    ) -> SendOutcome:
        next_check = self._clock() + self._first_check_after if trackable else None

        async def write() -> MessageRecord:
            return await self._messages.mark_sent(
                record.id,
                provider=result.provider,
                gateway_id=result.message_id,
                balance=result.balance,
                balance_unit=result.balance_unit,
                simulated=result.simulated,
                next_check_at=next_check,
            )

        shown = dataclasses.replace(
            record,
            state=MessageState.SENT,
            provider=result.provider,
            gateway_id=result.message_id,
            balance_after=result.balance,
            balance_unit=result.balance_unit,
            simulated=result.simulated,
            next_check_at=next_check,
            error_kind=None,
            error_text=None,
        )
        stored, unrecorded = await self._write(record.id, write, shown)
        log.info(
            "send #%s via %s: accepted as %s",
            record.id,
            result.provider,
            result.message_id,
            extra=_log_fields(stored, result.provider, latency_ms, None),
        )
        if result.balance is not None:
            try:
                await self._balances.save(
                    result.provider, result.balance, result.balance_unit, result.at, record.id
                )
            except STORAGE_ERRORS as exc:  # a convenience: the next send reports it again
                log.warning("could not store %s's balance: %s", result.provider, exc)
        return SendOutcome(
            stored, result=result, failed_attempts=tuple(failed), unrecorded=unrecorded
        )

    async def _write(
        self,
        message_id: int,
        write: Callable[[], Awaitable[MessageRecord]],
        shown: MessageRecord,
    ) -> tuple[MessageRecord, str | None]:
        """Store a result. If the database refuses (disk full, I/O error, locked for
        too long), the caller still learns what the gateway said (``shown``), and the
        write is retried in the background until it lands."""
        try:
            return await write(), None
        except STORAGE_ERRORS as exc:
            reason = _storage_reason(exc)
            log.error(
                "send #%s is %s, but the record could not be written (%s): retrying",
                message_id,
                shown.state,
                reason,
            )
            self._track(
                asyncio.create_task(
                    self._keep_writing(message_id, write), name=f"write-{message_id}"
                )
            )
            return shown, reason

    async def _keep_writing(
        self, message_id: int, write: Callable[[], Awaitable[MessageRecord]]
    ) -> None:
        pause = 0.5
        while True:
            await asyncio.sleep(pause)
            try:
                record = await write()
            except STORAGE_ERRORS as exc:
                pause = min(pause * 2, MAX_WRITE_BACKOFF)
                log.warning("send #%s: record still not written (%s)", message_id, exc)
                continue
            log.warning("send #%s: the record is written now (%s)", message_id, record.state)
            return
