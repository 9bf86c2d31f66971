"""Sending one SMS: validate, record the intent, call the gateway, fail over only
where that is safe, record the result.

The order is the guarantee: the intent is committed before any request, so a
crash at any later point leaves a record (``sending``, turned ``unknown`` at the
next start). A send whose outcome is unknown is never retried automatically.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from providers.base import OutgoingSms, SendResult
from providers.errors import OutcomeUnknown, ProviderError
from providers.sms import InvalidInput, SmsText, analyze_text, normalize_phone
from services.gateways import Gateways
from services.limits import LimitExceeded, LimitHit
from storage.balances import BalanceRepository
from storage.db import utcnow
from storage.messages import MessageRepository, NewMessage, QuotaExceeded
from storage.models import MessageRecord, MessageState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedSend:
    recipient: str
    text: SmsText
    provider: str


@dataclass(frozen=True, slots=True)
class Origin:
    source: str  # "telegram" or "cli"
    user_id: int | None = None
    user_name: str | None = None
    chat_id: int | None = None
    lang: str | None = None


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

    @property
    def state(self) -> MessageState:
        return self.record.state


class InternalSendError(OutcomeUnknown):
    """An unexpected error while the request may have been in flight."""


class SendService:
    def __init__(
        self,
        gateways: Gateways,
        messages: MessageRepository,
        balances: BalanceRepository,
        *,
        first_check_after: timedelta = timedelta(seconds=15),
        clock: Callable[[], datetime] = utcnow,
        allowed_regions: frozenset[str] = frozenset(),
    ) -> None:
        self.gateways = gateways
        #: ISO regions SMS may go to (ALLOWED_COUNTRIES); empty: every country.
        self.allowed_regions = allowed_regions
        self._messages = messages
        self._balances = balances
        self._first_check_after = first_check_after
        self._clock = clock
        self._in_flight: set[asyncio.Task[SendOutcome]] = set()

    def prepare(self, recipient: str, text: str, provider: str | None = None) -> PreparedSend:
        """Validate everything that can be checked before a request; raise ``InvalidInput``."""
        gateway = self.gateways.get(provider)
        number = self.recipient(recipient)
        sms_text = analyze_text(text)
        gateway.check_text(sms_text)
        return PreparedSend(recipient=number, text=sms_text, provider=gateway.name)

    def recipient(self, raw: str) -> str:
        """The number ``raw`` stands for, if SMS may go to it (type and country);
        every entry point checks a number through here. Raises ``InvalidPhone``."""
        return normalize_phone(raw, allowed_regions=self.allowed_regions)

    async def send(
        self,
        prepared: PreparedSend,
        origin: Origin,
        *,
        idempotency_key: str | None = None,
        quotas: tuple[tuple[int, timedelta], ...] = (),
    ) -> SendOutcome:
        """Record, send and record again. The work runs in a task of its own that a
        cancelled caller does not cancel, so the result is always written down;
        ``drain()`` waits for such tasks at shutdown."""
        task = asyncio.create_task(self._send(prepared, origin, idempotency_key, quotas))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def drain(self, grace: float) -> bool:
        """Wait (bounded) for sends in flight to record their result. True if all did."""
        pending = set(self._in_flight)
        if not pending:
            return True
        _done, not_done = await asyncio.wait(pending, timeout=grace)
        return not not_done

    async def wait_settled(self, record: MessageRecord, grace: float) -> MessageRecord:
        """A repeat of a send still in flight (perhaps in another process): wait,
        bounded, until its result is recorded, and return the record as it is then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while record.state == MessageState.SENDING and loop.time() < deadline:
            await asyncio.sleep(0.1)
            record = await self._messages.get(record.id) or record
        return record

    async def recover_interrupted(
        self, *, bot_starting: bool, stale_after: timedelta
    ) -> list[MessageRecord]:
        """Sends a stop left in ``sending`` may or may not have gone out: they become
        ``unknown`` (never retried) and are returned so that their senders can be told.

        When the bot starts, every Telegram send still ``sending`` was interrupted. A
        row of any source older than ``stale_after`` (longer than any request may
        take) cannot still be in flight either: a command-line run killed mid-send.
        """
        now = self._clock()
        recovered = []
        for record in await self._messages.in_state(MessageState.SENDING):
            interrupted = bot_starting and record.source == "telegram"
            if not interrupted and now - record.created_at < stale_after:
                continue  # perhaps in flight right now in another process
            log.warning("send #%s was interrupted by a stop: outcome unknown", record.id)
            recovered.append(
                await self._messages.mark_unknown(
                    record.id,
                    provider=record.provider,
                    error_kind="Interrupted",
                    error_text="the sending process stopped before the gateway's answer was recorded",
                )
            )
        return recovered

    async def _send(
        self,
        prepared: PreparedSend,
        origin: Origin,
        idempotency_key: str | None,
        quotas: tuple[tuple[int, timedelta], ...],
    ) -> SendOutcome:
        """Raises ``LimitExceeded`` (nothing recorded, nothing sent) when a quota is used up."""
        try:
            record, created = await self._create(prepared, origin, idempotency_key, quotas)
        except QuotaExceeded as exc:
            hit = LimitHit.at(exc.limit, exc.window, exc.oldest, self._clock())
            raise LimitExceeded(hit) from None
        return await self._deliver(record, created, prepared)

    async def _create(
        self,
        prepared: PreparedSend,
        origin: Origin,
        idempotency_key: str | None,
        quotas: tuple[tuple[int, timedelta], ...],
    ) -> tuple[MessageRecord, bool]:
        return await self._messages.create(
            NewMessage(
                source=origin.source,
                recipient=prepared.recipient,
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
            )
        )

    async def _deliver(
        self, record: MessageRecord, created: bool, prepared: PreparedSend
    ) -> SendOutcome:
        if not created:
            log.info("send #%s: repeated request, nothing sent again", record.id)
            return SendOutcome(record=record, duplicate=True)

        failed: list[FailedAttempt] = []
        chain = self.gateways.chain(prepared.provider)
        for position, name in enumerate(chain):
            gateway = self.gateways.get(name)
            is_last = position == len(chain) - 1
            if position > 0:
                try:
                    gateway.check_text(prepared.text)
                except InvalidInput as exc:
                    log.info("send #%s: %s cannot carry this text (%s)", record.id, name, exc)
                    continue
            sms = OutgoingSms(recipient=prepared.recipient, text=prepared.text)
            try:
                result = await gateway.send(sms)
            except OutcomeUnknown as exc:
                log.warning("send #%s via %s: outcome unknown: %s", record.id, name, exc)
                record = await self._messages.mark_unknown(
                    record.id, provider=name, error_kind=type(exc).__name__, error_text=exc.message
                )
                return SendOutcome(record, error=exc, failed_attempts=tuple(failed))
            except ProviderError as exc:
                if exc.failover_safe and not is_last:
                    log.warning(
                        "send #%s via %s failed, nothing sent, trying the next gateway: %s",
                        record.id,
                        name,
                        exc,
                    )
                    failed.append(FailedAttempt(name, exc))
                    await self._messages.note_attempt(
                        record.id, name, f"{type(exc).__name__}: {exc.message}"
                    )
                    continue
                log.warning("send #%s via %s failed, nothing sent: %s", record.id, name, exc)
                record = await self._messages.mark_failed(
                    record.id, provider=name, error_kind=type(exc).__name__, error_text=exc.message
                )
                return SendOutcome(record, error=exc, failed_attempts=tuple(failed))
            except Exception as exc:  # a bug while the request may have been in flight
                log.exception("send #%s via %s: unexpected error", record.id, name)
                error = InternalSendError(name, f"internal error ({type(exc).__name__})")
                record = await self._messages.mark_unknown(
                    record.id, provider=name, error_kind="InternalError", error_text=error.message
                )
                return SendOutcome(record, error=error, failed_attempts=tuple(failed))
            return await self._record_success(record, result, gateway.capabilities.status, failed)

        # Every remaining gateway was skipped as unable to carry the text.
        last = failed[-1].error if failed else None
        assert last is not None
        record = await self._messages.mark_failed(
            record.id,
            provider=failed[-1].provider,
            error_kind=type(last).__name__,
            error_text=last.message,
        )
        return SendOutcome(record, error=last, failed_attempts=tuple(failed[:-1]))

    async def _record_success(
        self,
        record: MessageRecord,
        result: SendResult,
        trackable: bool,
        failed: list[FailedAttempt],
    ) -> SendOutcome:
        next_check = self._clock() + self._first_check_after if trackable else None
        record = await self._messages.mark_sent(
            record.id,
            provider=result.provider,
            gateway_id=result.message_id,
            balance=result.balance,
            balance_unit=result.balance_unit,
            simulated=result.simulated,
            next_check_at=next_check,
        )
        if result.balance is not None:
            await self._balances.save(
                result.provider, result.balance, result.balance_unit, result.at, record.id
            )
        log.info("send #%s via %s: accepted as %s", record.id, result.provider, result.message_id)
        return SendOutcome(record, result=result, failed_attempts=tuple(failed))
