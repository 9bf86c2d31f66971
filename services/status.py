"""Delivery status: one-off checks (/status, the command line) and background tracking."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from providers.base import DeliveryState, DeliveryStatus
from providers.errors import GatewayNotConfigured, ProviderError, UnsupportedOperation
from providers.sms import InvalidInput
from services.gateways import Gateways
from storage.db import utcnow
from storage.messages import MessageRepository
from storage.models import MessageRecord, MessageState, UserRecord

log = logging.getLogger(__name__)

_STATE_FOR: dict[DeliveryState, MessageState] = {
    DeliveryState.ACCEPTED: MessageState.SENT,
    DeliveryState.UNKNOWN: MessageState.SENT,
    DeliveryState.DELIVERED: MessageState.DELIVERED,
    DeliveryState.REJECTED: MessageState.REJECTED,
    DeliveryState.EXPIRED: MessageState.EXPIRED,
    DeliveryState.DELETED: MessageState.DELETED,
}

_REF = re.compile(r"#?\s*(\d{1,18})")


class InvalidReference(InvalidInput):
    pass


@dataclass(frozen=True, slots=True)
class StatusCheck:
    record: MessageRecord | None  # None: a gateway id this database does not know
    status: DeliveryStatus | None  # None: not asked (no status request, or not sent)
    error: ProviderError | None = None
    changed: bool = False


class LookupKind(StrEnum):
    FOUND = "found"  # a recorded send, checked: ``check``
    GATEWAY_ID = "gateway_id"  # an id the database does not know, asked of the gateway
    NOT_FOUND = "not_found"
    NOT_VISIBLE = "not_visible"  # recorded, but another user's send (the bot's viewers)
    INVALID = "invalid"  # not a reference, or no such gateway: ``error`` says why


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """A bot answer a /status was given in reply to."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Lookup:
    kind: LookupKind
    check: StatusCheck | None = None  # FOUND, GATEWAY_ID
    error: InvalidInput | None = None  # INVALID


class AnswerNotifier(Protocol):
    """Brings the bot's answers up to date with what is stored, whoever stored it (the
    tracker, /status, the command line). Each returns True when done or not worth
    trying again (the chat is gone), False to try again later."""

    async def show_state(self, record: MessageRecord) -> bool:
        """Edit the answer about this send to show its current state."""

    async def tell_failure(self, record: MessageRecord) -> bool:
        """Tell the sender that the SMS was not delivered (rejected, expired, deleted)."""


@dataclass(frozen=True, slots=True)
class TrackingPolicy:
    first_after: timedelta = timedelta(seconds=15)
    max_interval: timedelta = timedelta(minutes=10)
    max_age: timedelta = timedelta(hours=48)

    def next_check(self, record: MessageRecord, now: datetime) -> datetime | None:
        if now - record.created_at >= self.max_age:
            return None
        factor: int = 2 ** min(record.checks + 1, 20)
        delay = self.first_after * factor
        return now + min(delay, self.max_interval)


class StatusService:
    def __init__(
        self,
        gateways: Gateways,
        messages: MessageRepository,
        *,
        policy: TrackingPolicy | None = None,
        stale_after: timedelta = timedelta(seconds=85),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.gateways = gateways
        self._messages = messages
        self.policy = policy or TrackingPolicy()
        self._stale_after = stale_after
        self._clock = clock

    async def settle_stale(self) -> list[MessageRecord]:
        """The stop rule, applied wherever rows are read: a row still ``sending`` longer
        than any request may take was left by a stopped process (``unknown``); so was
        an old ``queued`` row of the command line (``failed``, nothing sent)."""
        return await self._messages.settle_interrupted(
            older_than=self._clock() - self._stale_after, bot_starting=False
        )

    async def recent(self, *, user_id: int | None, limit: int) -> list[MessageRecord]:
        """The last sends (of one user, or everyone's), in true states."""
        await self.settle_stale()
        return await self._messages.recent(user_id=user_id, limit=limit)

    async def find_by_reply(self, chat_id: int, reply_message_id: int) -> MessageRecord | None:
        """The send a bot answer is about (a /status given in reply to it)."""
        await self.settle_stale()
        return await self._messages.find_by_reply(chat_id, reply_message_id)

    async def find(self, reference: str) -> list[MessageRecord]:
        """``#42`` is the bot's number; a plain number is tried as the bot's number,
        then as a gateway id; anything else is a gateway id."""
        await self.settle_stale()
        ref = reference.strip()
        if not ref or len(ref) > 64 or any(ch.isspace() for ch in ref):
            raise InvalidReference(
                "Give the message number (e.g. #42) or the gateway's message id."
            )
        match = _REF.fullmatch(ref)
        if match:
            record = await self._messages.get(int(match.group(1)))
            if record is not None:
                return [record]
            if ref.startswith("#"):
                return []
        return await self._messages.find_by_gateway_id(ref.lstrip("#"))

    async def lookup(
        self,
        reference: str | None = None,
        *,
        reply: ReplyTo | None = None,
        gateway: str | None = None,
        viewer: UserRecord | None = None,
        ask_gateway: bool = False,
    ) -> Lookup:
        """The status of one send, for the bot and the command line alike: by
        ``reference`` (see ``find``), or else by the bot answer it ``reply``-s to;
        only sends through ``gateway`` when one is named; only the ``viewer``'s own
        sends unless they are an admin (``None``: everyone's). A recorded send is
        checked with its gateway. With ``ask_gateway``, an id the database does not
        know (not a ``#number``) is asked of the named or default gateway."""
        ref = (reference or "").strip()
        if ref or reply is None:
            try:
                records = await self.find(ref)
            except InvalidInput as exc:
                return Lookup(LookupKind.INVALID, error=exc)
        else:
            found = await self.find_by_reply(reply.chat_id, reply.message_id)
            records = [found] if found is not None else []
        try:
            asked = self.gateways.get(gateway)
        except InvalidInput as exc:
            return Lookup(LookupKind.INVALID, error=exc)
        if gateway is not None:
            records = [r for r in records if r.provider == asked.name]
        if viewer is not None and not viewer.is_admin:
            visible = [r for r in records if r.user_id == viewer.user_id]
            if records and not visible:
                return Lookup(LookupKind.NOT_VISIBLE)
            records = visible
        if records:
            return Lookup(LookupKind.FOUND, await self.check(records[0]))
        if not ask_gateway or not ref or ref.startswith("#") or not asked.capabilities.status:
            return Lookup(LookupKind.NOT_FOUND)
        return Lookup(LookupKind.GATEWAY_ID, await self.check_gateway_id(gateway, ref))

    async def check(self, record: MessageRecord) -> StatusCheck:
        """Ask the gateway about a recorded message and store what it says."""
        if record.gateway_id is None or record.state in (
            MessageState.QUEUED,
            MessageState.SENDING,
            MessageState.FAILED,
            MessageState.UNKNOWN,
        ):
            return StatusCheck(record, None)
        if record.provider not in self.gateways.providers:
            return StatusCheck(record, None, error=GatewayNotConfigured(record.provider))
        gateway = self.gateways.get(record.provider)
        if not gateway.capabilities.status:
            return StatusCheck(
                record, None, error=UnsupportedOperation(gateway.name, "delivery status")
            )
        try:
            status = await gateway.status(record.gateway_id)
        except ProviderError as exc:
            return StatusCheck(record, None, error=exc)
        return await self.apply(record, status)

    async def check_gateway_id(self, provider: str | None, gateway_id: str) -> StatusCheck:
        """Ask a gateway about an id this database may not know (command line)."""
        gateway = self.gateways.get(provider)
        if not gateway.capabilities.status:
            return StatusCheck(
                None, None, error=UnsupportedOperation(gateway.name, "delivery status")
            )
        try:
            status = await gateway.status(gateway_id)
        except ProviderError as exc:
            return StatusCheck(None, None, error=exc)
        return StatusCheck(None, status)

    async def apply(self, record: MessageRecord, status: DeliveryStatus) -> StatusCheck:
        # Re-read: another check (/status, the tracker) may have stored a newer state
        # while the gateway was being asked.
        record = await self._messages.get(record.id) or record
        new_state = _STATE_FOR[status.state]
        if record.state.final and record.state != new_state:
            # A final state is kept; a late contradictory answer is only logged.
            log.info("#%s: gateway now says %s, keeping %s", record.id, status.state, record.state)
            return StatusCheck(record, status)
        now = self._clock()
        next_check = None if new_state.final else self.policy.next_check(record, now)
        changed = new_state != record.state
        updated = await self._messages.update_delivery(
            record.id,
            state=new_state,
            code=status.code,
            name=status.name,
            next_check_at=next_check,
            changed=changed,
        )
        return StatusCheck(updated, status, changed=changed)


class DeliveryTracker:
    """Polls non-final messages of gateways with a status request, in the
    background, with backoff; resumes from SQLite after a restart. Each round also
    brings the bot's answers up to date with every stored state change, and applies
    the stop rule to rows other processes left behind."""

    def __init__(
        self,
        status: StatusService,
        messages: MessageRepository,
        notifier: AnswerNotifier | None = None,
        *,
        idle_interval: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._status = status
        self._messages = messages
        self._notifier = notifier
        self._idle = idle_interval
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Look again now (a new message to track was just sent, or a state changed)."""
        self._wake.set()

    def stop(self) -> None:
        """Make ``run`` return at its next turn (also when a cancellation is lost)."""
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        """Check every message that is due, then update the answers; returns how many
        messages were checked."""
        await self._status.settle_stale()
        due = await self._messages.due_for_check(self._clock())
        for record in due:
            result = await self._status.check(record)
            if result.error is not None:
                log.info("#%s: status check failed: %s", record.id, result.error)
                if isinstance(result.error, UnsupportedOperation | GatewayNotConfigured):
                    await self._messages.stop_tracking(record.id)
                    continue
                next_check = self._status.policy.next_check(record, self._clock())
                await self._messages.reschedule(record.id, next_check)
        await self.update_answers()
        return len(due)

    async def update_answers(self) -> int:
        """Edit every answer that is behind its send's stored state, once, and tell
        each failed delivery once; returns how many sends were brought up to date."""
        if self._notifier is None:
            return 0
        done = 0
        for record in await self._messages.answers_due():
            try:
                behind = record.reply_message_id is not None and record.shown_state != record.state
                if behind and await self._notifier.show_state(record):
                    await self._messages.mark_shown(record.id, record.state)
                    done += 1
                untold = record.state.delivery_failed and not record.failure_told
                if untold and await self._notifier.tell_failure(record):
                    await self._messages.mark_failure_told(record.id)
            except Exception:  # one answer must not stop the others, nor tracking
                log.exception("#%s: could not update the answer", record.id)
        return done

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            failed = False
            try:
                await self.run_once()
                next_at = await self._messages.next_check_time()
            except Exception:  # keep tracking alive through a passing fault (e.g. a locked db)
                log.exception("delivery tracking round failed")
                failed = True
                next_at = None
            wait = self._idle
            if next_at is not None:
                wait = max(0.05, min(wait, (next_at - self._clock()).total_seconds()))
            if failed:
                wait = max(wait, 2.0)  # never hammer the gateway or the database
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives just as the event is set, and the loop would never end.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
