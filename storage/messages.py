"""The record of every send: written before the gateway is called, updated after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal

import aiosqlite

from storage.db import Database, GroupCommit, from_db_time, to_db_time, utcnow
from storage.models import JobRecord, MessageEvent, MessageRecord, MessageState


class PreviewNotOpen(Exception):
    """The preview to confirm is not open any more (or not this user's, or expired):
    nothing was recorded. ``state`` is what it is now (None: no such preview)."""

    def __init__(self, state: str | None) -> None:
        super().__init__(f"preview is {state or 'gone'}")
        self.state = state


@dataclass(frozen=True, slots=True)
class PreviewClaim:
    """Confirm this preview in the same transaction that records the send."""

    token: str
    user_id: int


#: A quota over this window or longer counts SMS (a row per recipient); a shorter
#: one counts sends (a job, of one recipient or of many, is one send).
SMS_QUOTA_WINDOW = timedelta(days=1)
#: how the rows in a quota's window are counted: SMS, or sends (rows before jobs: one each)
_SMS = "COUNT(*)"
_SENDS = "COUNT(DISTINCT COALESCE(job_id, -id))"


def counts_sms(window: timedelta) -> bool:
    """Whether a quota over ``window`` counts SMS (else sends): see ``SMS_QUOTA_WINDOW``."""
    return window >= SMS_QUOTA_WINDOW


class QuotaExceeded(Exception):
    """Refused inside the recording transaction: the user's limit for a window is used up."""

    def __init__(self, limit: int, window: timedelta, oldest: datetime | None) -> None:
        super().__init__(f"{limit} sends per {window}")
        self.limit = limit
        self.window = window
        self.oldest = oldest


@dataclass(frozen=True, slots=True)
class NewMessage:
    source: str  # "telegram" or "cli"
    recipient: str
    text: str
    encoding: str
    parts: int
    provider: str
    user_id: int | None = None
    user_name: str | None = None
    chat_id: int | None = None
    idempotency_key: str | None = None
    lang: str | None = None
    #: (limit, window) pairs checked atomically with the insert; 0 means no limit. A
    #: window of a day or more counts SMS, a shorter one sends (``counts_sms``).
    quotas: tuple[tuple[int, timedelta], ...] = ()
    #: a preview used up by this send, atomically with the insert
    preview: PreviewClaim | None = None


@dataclass(frozen=True, slots=True)
class NewJob:
    """A send job: one text to one or more recipients, recorded in one transaction."""

    source: str
    recipients: tuple[str, ...]
    text: str
    encoding: str
    parts: int
    provider: str
    user_id: int | None = None
    user_name: str | None = None
    chat_id: int | None = None
    idempotency_key: str | None = None
    lang: str | None = None
    quotas: tuple[tuple[int, timedelta], ...] = ()
    preview: PreviewClaim | None = None
    #: number -> the contact's name, for the recipients that came from the address book
    names: Mapping[str, str] = field(default_factory=dict)
    #: a job of the HTTP API: its token (whose own quotas apply) and its request's hash
    api_token_id: int | None = None
    request_hash: str | None = None

    @classmethod
    def of(cls, new: NewMessage) -> NewJob:
        """The job of one that ``new`` stands for (every other field is the same)."""
        shared = {f.name: getattr(new, f.name) for f in fields(new) if f.name != "recipient"}
        return cls(recipients=(new.recipient,), **shared)


@dataclass(frozen=True, slots=True)
class JobCreated:
    job: JobRecord
    messages: list[MessageRecord]
    #: False: the idempotency key was used before; these are the first job's rows
    created: bool


INTERRUPTED = "Interrupted"  # error kind: the process stopped while the request was out
NOT_STARTED = "NotStarted"  # error kind: the process stopped before the request was made
CANCELLED = "Cancelled"  # error kind: the owner cancelled it before it was sent
_FAILED_DELIVERY = "('rejected', 'expired', 'deleted')"
#: a row whose job was not stopped (see ``mark_sending``)
_NOT_STOPPED = (
    " AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = messages.job_id "
    "AND jobs.stopped_at IS NOT NULL)"
)
#: rows whose bot answer is behind their state, or whose failed delivery was not told;
#: the same expression as the partial index messages_answers, so that it is used
_ANSWER_DUE = (
    "chat_id IS NOT NULL AND ("
    "(reply_message_id IS NOT NULL AND shown_state IS NOT state) "
    f"OR (failure_told = 0 AND state IN {_FAILED_DELIVERY}))"
)


@dataclass(frozen=True, slots=True)
class _Change:
    """One row moved to a new state (see ``MessageRepository._update``)."""

    message_id: int
    state: MessageState
    event_provider: str | None
    detail: str | None
    expect: tuple[MessageState, ...]
    fields: dict[str, object]
    #: a further condition of the row (SQL of ours, no parameters): unmet, it does not move
    guard: str = ""


async def _check_token_quotas(conn: aiosqlite.Connection, new: NewJob) -> None:
    """An API token's own quotas (``new.quotas``), counted over the rows of its jobs;
    raises ``QuotaExceeded`` (the user quotas above count a Telegram user's rows)."""
    for limit, window in new.quotas:
        if limit <= 0:
            continue
        cursor = await conn.execute(
            "SELECT COUNT(*) AS n, MIN(m.created_at) AS oldest FROM messages m "
            "JOIN jobs j ON j.id = m.job_id WHERE j.api_token_id = ? AND m.created_at >= ?",
            (new.api_token_id, to_db_time(utcnow() - window)),
        )
        usage = await cursor.fetchone()
        if usage is not None and usage["n"] + len(new.recipients) > limit:
            raise QuotaExceeded(limit, window, from_db_time(usage["oldest"]))


class MessageRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._changes: GroupCommit[_Change, tuple[MessageRecord, bool] | None] = GroupCommit(
            db, self._apply_changes
        )
        self._creates: GroupCommit[NewJob, JobCreated | QuotaExceeded | PreviewNotOpen] = (
            GroupCommit(db, self._apply_creates)
        )

    async def create(self, new: NewMessage) -> tuple[MessageRecord, bool]:
        """Record the intent to send one SMS: a job of one (see ``create_job``)."""
        created = await self.create_job(NewJob.of(new))
        return created.messages[0], created.created

    async def create_job(self, new: NewJob) -> JobCreated:
        """Record a send job and a row per recipient (state ``queued``: nothing sent
        yet) and commit them, with the quota check and the preview claim, in one
        transaction.

        With an ``idempotency_key`` that was used before, the earlier job and its rows
        come back with ``created=False``. Raises ``QuotaExceeded`` or ``PreviewNotOpen``
        with nothing written. Jobs created at the same moment share one commit, each
        inside a savepoint of its own.
        """
        result = await self._creates.submit(new)
        if isinstance(result, Exception):
            raise result
        return result

    @classmethod
    async def _apply_creates(
        cls, conn: aiosqlite.Connection, batch: list[NewJob]
    ) -> list[JobCreated | QuotaExceeded | PreviewNotOpen]:
        if len(batch) == 1:
            # Alone in its transaction: no savepoint needed, a refusal raised here rolls
            # the whole transaction back and reaches its one caller.
            return [await cls._create_in(conn, batch[0], to_db_time(utcnow()))]
        results: list[JobCreated | QuotaExceeded | PreviewNotOpen] = []
        for new in batch:
            # Each job's checks see the jobs before it in this batch; a refused one
            # rolls back alone.
            await conn.execute("SAVEPOINT new_job")
            try:
                results.append(await cls._create_in(conn, new, to_db_time(utcnow())))
            except (QuotaExceeded, PreviewNotOpen) as exc:
                await conn.execute("ROLLBACK TO new_job")
                results.append(exc)
            await conn.execute("RELEASE new_job")
        return results

    @staticmethod
    async def _create_in(conn: aiosqlite.Connection, new: NewJob, now: str) -> JobCreated:
        # Inside BEGIN IMMEDIATE nobody else can write between this look-up and the
        # insert; looking first also keeps a repeat from using up a number.
        if new.idempotency_key is not None:
            cursor = await conn.execute(
                "SELECT * FROM jobs WHERE idempotency_key = ?", (new.idempotency_key,)
            )
            existing = await cursor.fetchone()
            if existing is not None:
                rows = await conn.execute_fetchall(
                    "SELECT * FROM messages WHERE job_id = ? ORDER BY id", (existing["id"],)
                )
                return JobCreated(
                    JobRecord.from_row(existing), [MessageRecord.from_row(r) for r in rows], False
                )
        for limit, window in new.quotas:
            if limit <= 0 or new.user_id is None:
                continue
            # A window under a day counts sends (a job of many is one); a day or more
            # counts SMS (a row per recipient), so that a job is checked as a whole.
            sms = counts_sms(window)
            cursor = await conn.execute(
                f"SELECT {_SMS if sms else _SENDS} AS n, MIN(created_at) AS oldest "  # noqa: S608 - ours
                "FROM messages WHERE user_id = ? AND created_at >= ?",
                (new.user_id, to_db_time(utcnow() - window)),
            )
            usage = await cursor.fetchone()
            wanted = len(new.recipients) if sms else 1
            if usage is not None and usage["n"] + wanted > limit:
                raise QuotaExceeded(limit, window, from_db_time(usage["oldest"]))
        if new.api_token_id is not None:
            await _check_token_quotas(conn, new)
        job_rows = await conn.execute_fetchall(
            """INSERT INTO jobs (created_at, source, user_id, user_name, chat_id, lang,
                   gateway, text, idempotency_key, total, api_token_id, request_hash)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *""",
            (
                now,
                new.source,
                new.user_id,
                new.user_name,
                new.chat_id,
                new.lang,
                new.provider,
                new.text,
                new.idempotency_key,
                len(new.recipients),
                new.api_token_id,
                new.request_hash,
            ),
        )
        job = JobRecord.from_row(next(iter(job_rows)))
        values = [
            (
                now,
                now,
                new.source,
                new.user_id,
                new.user_name,
                new.chat_id,
                recipient,
                new.text,
                new.encoding,
                new.parts,
                new.provider,
                MessageState.QUEUED,
                new.lang,
                job.id,
                # a job of one keeps its key on its row too, as sends did before jobs
                new.idempotency_key if len(new.recipients) == 1 else None,
                new.names.get(recipient),
            )
            for recipient in new.recipients
        ]
        insert = """INSERT INTO messages (created_at, updated_at, source, user_id, user_name,
                   chat_id, recipient, text, encoding, parts, provider, state, lang, job_id,
                   idempotency_key, recipient_name)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
        if len(values) == 1:  # the common case: one hop to the database thread
            rows = await conn.execute_fetchall(insert + " RETURNING *", values[0])
        else:
            await conn.executemany(insert, values)
            rows = await conn.execute_fetchall(
                "SELECT * FROM messages WHERE job_id = ? ORDER BY id", (job.id,)
            )
        messages = [MessageRecord.from_row(r) for r in rows]
        if new.preview is not None:
            # Claimed here or not at all: a stop can never leave a preview taken
            # without the record of its send.
            cursor = await conn.execute(
                "UPDATE previews SET state = 'used', message_id = ? WHERE token = ? "
                "AND user_id = ? AND state = 'open' AND expires_at > ?",
                (messages[0].id, new.preview.token, new.preview.user_id, now),
            )
            if cursor.rowcount != 1:
                cursor = await conn.execute(
                    "SELECT state, user_id, expires_at FROM previews WHERE token = ?",
                    (new.preview.token,),
                )
                found = await cursor.fetchone()
                state = None
                if found is not None and found["user_id"] == new.preview.user_id:
                    state = found["state"]
                    if state == "open":  # open, but past its time
                        state = "expired"
                raise PreviewNotOpen(state)
        await conn.executemany(
            "INSERT INTO message_events (message_id, at, state, provider, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            [(m.id, now, MessageState.QUEUED, new.provider, None) for m in messages],
        )
        return JobCreated(job, messages, True)

    async def job(self, job_id: int) -> JobRecord | None:
        row = await self._db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return JobRecord.from_row(row) if row else None

    async def of_job(self, job_id: int) -> list[MessageRecord]:
        rows = await self._db.fetchall(
            "SELECT * FROM messages WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [MessageRecord.from_row(r) for r in rows]

    async def mark_job_stopped(self, job_id: int) -> None:
        """A stop came mid-job (the command line's SIGINT/SIGTERM): its ``queued`` rows,
        nothing of them sent, wait for their owner's choice instead of being settled."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE jobs SET stopped_at = ? WHERE id = ? AND stopped_at IS NULL",
                (to_db_time(utcnow()), job_id),
            )

    async def jobs_with_queued(self, *, source: str) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT DISTINCT job_id FROM messages WHERE state = 'queued' AND source = ? "
            "AND job_id IS NOT NULL ORDER BY job_id",
            (source,),
        )
        return [int(r["job_id"]) for r in rows]

    async def stop_job(self, job_id: int) -> bool:
        """Stop a job: from this commit on none of its ``queued`` rows is claimed for
        sending (``mark_sending``). False if it was stopped already."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE jobs SET stopped_at = ? WHERE id = ? AND stopped_at IS NULL",
                (to_db_time(utcnow()), job_id),
            )
            return cursor.rowcount == 1

    async def mark_job_notified(self, job_id: int) -> None:
        """The owner was told about every settled row of the job (its summary)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET notified = 1 WHERE job_id = ? "
                "AND state NOT IN ('queued', 'sending')",
                (job_id,),
            )

    async def job_stopped(self, job_id: int) -> bool:
        row = await self._db.fetchone("SELECT stopped_at FROM jobs WHERE id = ?", (job_id,))
        return row is not None and row["stopped_at"] is not None

    async def clear_stop(self, job_id: int) -> None:
        """Its owner resumes a stopped job: its rows may be claimed again."""
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE jobs SET stopped_at = NULL WHERE id = ?", (job_id,))

    async def set_progress_message(self, job_id: int, chat_id: int, message_id: int) -> None:
        """The bot's message that shows this job's progress (found again after a restart)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE jobs SET progress_chat_id = ?, progress_message_id = ? WHERE id = ?",
                (chat_id, message_id, job_id),
            )

    async def job_counts(self, job_id: int) -> dict[str, int]:
        """How many of a job's rows are in each state (states with none left out)."""
        rows = await self._db.fetchall(
            "SELECT state, COUNT(*) AS n FROM messages WHERE job_id = ? GROUP BY state",
            (job_id,),
        )
        return {str(r["state"]): int(r["n"]) for r in rows}

    async def recent_jobs(self, *, user_id: int | None, limit: int) -> list[JobRecord]:
        """The newest jobs (of ``user_id``; ``None``: everyone's), newest first."""
        if user_id is None:
            rows = await self._db.fetchall("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM jobs WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit)
            )
        return [JobRecord.from_row(r) for r in rows]

    async def counts_of_jobs(self, job_ids: list[int]) -> dict[int, dict[str, int]]:
        """``job_counts`` of many jobs in one query."""
        if not job_ids:
            return {}
        marks = ", ".join("?" for _ in job_ids)
        rows = await self._db.fetchall(
            "SELECT job_id, state, COUNT(*) AS n FROM messages "  # noqa: S608 - only marks
            f"WHERE job_id IN ({marks}) GROUP BY job_id, state",
            tuple(job_ids),
        )
        counts: dict[int, dict[str, int]] = {job_id: {} for job_id in job_ids}
        for r in rows:
            counts[int(r["job_id"])][str(r["state"])] = int(r["n"])
        return counts

    async def first_of_jobs(self, job_ids: list[int]) -> dict[int, MessageRecord]:
        """The first row of each job (for a job of one: its only row)."""
        if not job_ids:
            return {}
        marks = ", ".join("?" for _ in job_ids)
        rows = await self._db.fetchall(
            "SELECT * FROM messages WHERE id IN (SELECT MIN(id) FROM messages "  # noqa: S608
            f"WHERE job_id IN ({marks}) GROUP BY job_id)",
            tuple(job_ids),
        )
        return {int(r["job_id"]): MessageRecord.from_row(r) for r in rows}

    async def cancel_queued(self, job_id: int, reason: str) -> list[MessageRecord]:
        """The owner chose not to send what is left of a job: its ``queued`` rows become
        ``failed`` (kind ``Cancelled``; nothing of them was sent)."""
        cancelled = []
        for record in await self.of_job(job_id):
            if record.state != MessageState.QUEUED:
                continue
            updated = await self._mark_error(
                record.id,
                MessageState.FAILED,
                record.provider,
                CANCELLED,
                reason,
                expect=(MessageState.QUEUED,),
            )
            if updated.state == MessageState.FAILED and updated.error_kind == CANCELLED:
                cancelled.append(updated)
        return cancelled

    async def _update(
        self,
        message_id: int,
        state: MessageState,
        event_provider: str | None,
        detail: str | None,
        /,
        expect: tuple[MessageState, ...] = (),
        **fields: object,
    ) -> MessageRecord:
        """Move a row to ``state`` with an event. With ``expect``, only a row in one of
        those states moves (another process may have settled it meanwhile); the row is
        returned as it is either way. Changes of many sends at once share one commit."""
        record, _moved = await self._move(
            message_id, state, event_provider, detail, expect, **fields
        )
        return record

    async def _move(
        self,
        message_id: int,
        state: MessageState,
        event_provider: str | None,
        detail: str | None,
        expect: tuple[MessageState, ...],
        /,
        **fields: object,
    ) -> tuple[MessageRecord, bool]:
        """``_update``, also saying whether this very change moved the row (two callers
        expecting the same state: only one moves it, even within one grouped commit)."""
        applied = await self._changes.submit(
            _Change(message_id, state, event_provider, detail, expect, fields)
        )
        if applied is None:
            raise KeyError(message_id)
        return applied

    @staticmethod
    async def _apply_changes(
        conn: aiosqlite.Connection, changes: list[_Change]
    ) -> list[tuple[MessageRecord, bool] | None]:
        now = to_db_time(utcnow())
        records: list[tuple[MessageRecord, bool] | None] = []
        events: list[tuple[int, str, str, str | None, str | None]] = []
        for change in changes:
            assignments = "".join(f", {name} = ?" for name in change.fields)
            condition = ""
            if change.expect:
                condition = f" AND state IN ({', '.join('?' for _ in change.expect)})"
            condition += change.guard
            rows = await conn.execute_fetchall(
                f"UPDATE messages SET state = ?, updated_at = ?{assignments} "  # noqa: S608 - column names are ours
                f"WHERE id = ?{condition} RETURNING *",
                (
                    change.state,
                    now,
                    *change.fields.values(),
                    change.message_id,
                    *change.expect,
                ),
            )
            row = next(iter(rows), None)
            moved = row is not None
            if row is None:  # not moved: someone else moved it first, or no such row
                cursor = await conn.execute(
                    "SELECT * FROM messages WHERE id = ?", (change.message_id,)
                )
                row = await cursor.fetchone()
                if row is None:  # no such row: that caller's error, not the batch's
                    records.append(None)
                    continue
            else:
                events.append(
                    (change.message_id, now, change.state, change.event_provider, change.detail)
                )
            records.append((MessageRecord.from_row(row), moved))
        if events:
            await conn.executemany(
                "INSERT INTO message_events (message_id, at, state, provider, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                events,
            )
        return records

    async def mark_sent(
        self,
        message_id: int,
        *,
        provider: str,
        gateway_id: str,
        balance: Decimal | None,
        balance_unit: str | None,
        simulated: bool,
        next_check_at: datetime | None,
        detail: str | None = None,
    ) -> MessageRecord:
        return await self._update(
            message_id,
            MessageState.SENT,
            provider,
            detail or f"gateway id {gateway_id}",
            provider=provider,
            gateway_id=gateway_id,
            balance_after=str(balance) if balance is not None else None,
            balance_unit=balance_unit,
            simulated=int(simulated),
            next_check_at=to_db_time(next_check_at) if next_check_at else None,
            error_kind=None,
            error_text=None,
        )

    async def mark_sending(
        self,
        message_id: int,
        *,
        provider: str,
        stale_after: timedelta | None = None,
        failover: bool = False,
    ) -> tuple[MessageRecord, bool]:
        """Durably mark the row just before its request: from here its outcome may be
        unknown. Returns the row and whether this call claimed it: only a ``queued`` row
        is claimed (a row already ``sending`` belongs to whoever claimed it; a settled
        one to no one), or, with ``failover``, the caller's own ``sending`` row moving on
        to the next gateway. Unclaimed: its request must not be made.

        ``stale_after``: longer than this request can take, by the sending process's own
        deadline; any process reading the row later calls it stale only after that,
        whatever its own settings say.

        A ``queued`` row of a stopped job is not claimed: the stop and this claim are
        each one write, so no request starts after a stop is on disk (the row stays
        ``queued`` for its owner to resume or cancel)."""
        now = utcnow()
        applied = await self._changes.submit(
            _Change(
                message_id,
                MessageState.SENDING,
                provider,
                None,
                (MessageState.SENDING,) if failover else (MessageState.QUEUED,),
                {
                    "provider": provider,
                    "sending_at": to_db_time(now),
                    "stale_at": to_db_time(now + stale_after) if stale_after is not None else None,
                },
                guard="" if failover else _NOT_STOPPED,
            )
        )
        if applied is None:
            raise KeyError(message_id)
        return applied

    async def mark_failed(
        self, message_id: int, *, provider: str, error_kind: str, error_text: str
    ) -> MessageRecord:
        """Nothing was sent: the gateway refused, or could not be reached."""
        return await self._mark_error(
            message_id, MessageState.FAILED, provider, error_kind, error_text
        )

    async def mark_unknown(
        self, message_id: int, *, provider: str, error_kind: str, error_text: str
    ) -> MessageRecord:
        """It may or may not have been sent; it is never retried."""
        return await self._mark_error(
            message_id, MessageState.UNKNOWN, provider, error_kind, error_text
        )

    async def _mark_error(
        self,
        message_id: int,
        state: MessageState,
        provider: str,
        error_kind: str,
        error_text: str,
        expect: tuple[MessageState, ...] = (),
    ) -> MessageRecord:
        return await self._update(
            message_id,
            state,
            provider,
            f"{error_kind}: {error_text}",
            expect,
            provider=provider,
            error_kind=error_kind,
            error_text=error_text,
            next_check_at=None,
        )

    async def note_attempt(self, message_id: int, provider: str, detail: str) -> None:
        """Record a failed attempt on one gateway before another is tried."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO message_events (message_id, at, state, provider, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                (message_id, to_db_time(utcnow()), "attempt_failed", provider, detail),
            )

    async def update_delivery(
        self,
        message_id: int,
        *,
        state: MessageState,
        code: str | None,
        name: str | None,
        next_check_at: datetime | None,
        changed: bool,
    ) -> MessageRecord:
        """Store a status check's result; an event is written only when the state changed."""
        now = to_db_time(utcnow())
        async with self._db.transaction() as conn:
            await conn.execute(
                """UPDATE messages SET state = ?, status_code = ?, status_name = ?,
                       next_check_at = ?, checks = checks + 1, updated_at = ? WHERE id = ?""",
                (
                    state,
                    code,
                    name,
                    to_db_time(next_check_at) if next_check_at else None,
                    now,
                    message_id,
                ),
            )
            if changed:
                await conn.execute(
                    "INSERT INTO message_events (message_id, at, state, provider, detail) "
                    "VALUES (?, ?, ?, NULL, ?)",
                    (message_id, now, state, f"{code or ''} {name or ''}".strip() or None),
                )
            cursor = await conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,))
            row = await cursor.fetchone()
        if row is None:
            raise KeyError(message_id)
        return MessageRecord.from_row(row)

    async def reschedule(self, message_id: int, next_check_at: datetime | None) -> None:
        """A status check failed: only move the next check (the state is not touched,
        so a state another check stored meanwhile is never overwritten)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET next_check_at = ?, checks = checks + 1 WHERE id = ? "
                "AND next_check_at IS NOT NULL",
                (to_db_time(next_check_at) if next_check_at else None, message_id),
            )

    async def unreported(self, since: datetime) -> list[MessageRecord]:
        """Telegram sends whose sender never got an answer (the reply failed, or the
        bot stopped first): recorded, settled, no reply message, not yet told."""
        rows = await self._db.fetchall(
            "SELECT * FROM messages WHERE source = 'telegram' "
            "AND state NOT IN ('queued', 'sending') "
            "AND reply_message_id IS NULL AND notified = 0 AND chat_id IS NOT NULL "
            "AND created_at >= ? ORDER BY id",
            (to_db_time(since),),
        )
        return [MessageRecord.from_row(r) for r in rows]

    async def stop_tracking(self, message_id: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET next_check_at = NULL WHERE id = ?", (message_id,)
            )

    async def set_reply(
        self, message_id: int, chat_id: int, reply_message_id: int, shown_state: MessageState
    ) -> None:
        """The bot answered about this send with ``reply_message_id``, showing ``shown_state``."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET chat_id = ?, reply_message_id = ?, shown_state = ? "
                "WHERE id = ?",
                (chat_id, reply_message_id, shown_state, message_id),
            )

    async def answers_due(self, limit: int = 50) -> list[MessageRecord]:
        """Sends whose answer in the chat is behind their state (whoever stored the
        change: the tracker, /status, the command line), or whose failed delivery the
        sender was not told yet."""
        rows = await self._db.fetchall(
            f"SELECT * FROM messages WHERE {_ANSWER_DUE} ORDER BY id LIMIT ?",  # noqa: S608 - ours
            (limit,),
        )
        return [MessageRecord.from_row(r) for r in rows]

    async def mark_shown(self, message_id: int, state: MessageState) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET shown_state = ? WHERE id = ?", (state, message_id)
            )

    async def mark_failure_told(self, message_id: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE messages SET failure_told = 1 WHERE id = ?", (message_id,))

    async def settle_interrupted(
        self, *, older_than: datetime, bot_starting: bool
    ) -> list[MessageRecord]:
        """Rows a stopped process left unsettled. ``sending`` may have gone out: it becomes
        ``unknown`` (never retried); ``queued`` never left: it becomes ``failed`` (nothing
        was sent).

        When the bot starts, every ``sending`` row of its own (source ``telegram``) was
        left by its last run. Otherwise a ``sending`` row is left behind once past the
        stale time its sending process wrote on it (longer than its request could
        take), or, for a row without one, once older than ``older_than``; a
        ``queued`` row of the command line, ``serve`` or the alert receiver once past
        the lease its live sending process renews on it while it waits for a slot
        (``renew_queued``), or, without one, once that old, unless its job was stopped
        (``mark_job_stopped``: what is left waits for ``python -m bot job
        resume|cancel``). The bot's ``queued`` rows are never settled here:
        nothing of them was sent, and their owner chooses to send them or not
        (``SendService.resume`` / ``cancel``)."""
        cutoff = to_db_time(older_than)
        now = to_db_time(utcnow())
        own = "source = 'telegram' OR " if bot_starting else ""
        rows = await self._db.fetchall(
            "SELECT * FROM messages WHERE "  # noqa: S608 - no user input in the SQL
            f"(state = 'sending' AND ({own}stale_at < ? "
            "OR (stale_at IS NULL AND COALESCE(sending_at, created_at) < ?))) "
            "OR (state = 'queued' AND source != 'telegram' "
            "AND (stale_at < ? OR (stale_at IS NULL AND created_at < ?)) "
            "AND (job_id IS NULL OR job_id NOT IN (SELECT id FROM jobs "
            "WHERE stopped_at IS NOT NULL))) "
            "ORDER BY id",
            (now, cutoff, now, cutoff),
        )
        settled = []
        for row in rows:
            record = MessageRecord.from_row(row)
            if record.state == MessageState.SENDING:
                updated = await self._mark_error(
                    record.id,
                    MessageState.UNKNOWN,
                    record.provider,
                    INTERRUPTED,
                    "the sending process stopped before the gateway's answer was recorded",
                    expect=(MessageState.SENDING,),
                )
            else:
                updated = await self._mark_error(
                    record.id,
                    MessageState.FAILED,
                    record.provider,
                    NOT_STARTED,
                    "the sending process stopped before the request was made; nothing was sent",
                    expect=(MessageState.QUEUED,),
                )
            if updated.state != record.state:
                settled.append(updated)
        return settled

    async def renew_queued(self, message_ids: list[int], until: datetime) -> None:
        """The sending process is alive and these rows wait in its queue: no other
        process calls them left behind before ``until`` (``settle_interrupted``)."""
        if not message_ids:
            return
        marks = ", ".join("?" for _ in message_ids)
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET stale_at = ? "  # noqa: S608 - only marks
                f"WHERE state = 'queued' AND id IN ({marks})",
                (to_db_time(until), *message_ids),
            )

    async def mark_notified(self, message_id: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE messages SET notified = 1 WHERE id = ?", (message_id,))

    async def get(self, message_id: int) -> MessageRecord | None:
        row = await self._db.fetchone("SELECT * FROM messages WHERE id = ?", (message_id,))
        return MessageRecord.from_row(row) if row else None

    async def find_by_gateway_id(self, gateway_id: str) -> list[MessageRecord]:
        rows = await self._db.fetchall(
            "SELECT * FROM messages WHERE gateway_id = ? ORDER BY id DESC", (gateway_id,)
        )
        return [MessageRecord.from_row(r) for r in rows]

    async def find_by_reply(self, chat_id: int, reply_message_id: int) -> MessageRecord | None:
        row = await self._db.fetchone(
            "SELECT * FROM messages WHERE chat_id = ? AND reply_message_id = ?",
            (chat_id, reply_message_id),
        )
        return MessageRecord.from_row(row) if row else None

    async def recent(self, *, user_id: int | None, limit: int) -> list[MessageRecord]:
        if user_id is None:
            rows = await self._db.fetchall(
                "SELECT * FROM messages ORDER BY id DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM messages WHERE user_id = ? ORDER BY id DESC LIMIT ?",
                (user_id, limit),
            )
        return [MessageRecord.from_row(r) for r in rows]

    async def due_for_check(self, now: datetime, limit: int = 50) -> list[MessageRecord]:
        rows = await self._db.fetchall(
            "SELECT * FROM messages WHERE next_check_at IS NOT NULL AND next_check_at <= ? "
            "ORDER BY next_check_at LIMIT ?",
            (to_db_time(now), limit),
        )
        return [MessageRecord.from_row(r) for r in rows]

    async def next_check_time(self) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT MIN(next_check_at) AS t FROM messages WHERE next_check_at IS NOT NULL"
        )
        if row is None or row["t"] is None:
            return None
        return datetime.fromisoformat(row["t"])

    async def in_state(self, state: MessageState) -> list[MessageRecord]:
        rows = await self._db.fetchall(
            "SELECT * FROM messages WHERE state = ? ORDER BY id", (str(state),)
        )
        return [MessageRecord.from_row(r) for r in rows]

    async def count_since(self, user_id: int, since: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM messages WHERE user_id = ? AND created_at >= ?",
            (user_id, to_db_time(since)),
        )
        return int(row["n"]) if row else 0

    async def count_sends_since(self, user_id: int, since: datetime) -> int:
        """Sends (jobs: one however many recipients it has) since ``since``."""
        row = await self._db.fetchone(
            f"SELECT {_SENDS} AS n FROM messages WHERE user_id = ? AND created_at >= ?",  # noqa: S608 - ours
            (user_id, to_db_time(since)),
        )
        return int(row["n"]) if row else 0

    async def oldest_since(self, user_id: int, since: datetime) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT MIN(created_at) AS t FROM messages WHERE user_id = ? AND created_at >= ?",
            (user_id, to_db_time(since)),
        )
        if row is None or row["t"] is None:
            return None
        return datetime.fromisoformat(row["t"])

    async def events(self, message_id: int) -> list[MessageEvent]:
        rows = await self._db.fetchall(
            "SELECT at, state, provider, detail FROM message_events WHERE message_id = ? ORDER BY id",
            (message_id,),
        )
        return [
            MessageEvent(datetime.fromisoformat(r["at"]), r["state"], r["provider"], r["detail"])
            for r in rows
        ]
