"""Send previews: a send shown with "Send" and "Cancel" buttons before anything is
recorded. The preview's states (``PreviewState``) move only here:

* ``open`` -> ``used``: a tap on "Send" by its user before it expires, in the same
  transaction that records the send (``SendService.start``);
* ``open`` -> ``cancelled``: a tap on "Cancel", an input no longer valid at the tap
  (a setting changed), or its user removed;
* ``open`` -> ``expired``: a tap after its time.

``confirm`` and ``cancel`` answer with a ``PreviewResult`` whose ``kind`` says what
happened; the handler only renders it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from providers.base import Balance
from services.balance import BalanceService
from services.domain import InvalidInput
from services.limits import LimitExceeded, LimitHit, RateLimiter
from services.recipients import Recipient
from services.sending import (
    JobStarted,
    Origin,
    PreparedSend,
    PreviewClaim,
    PreviewNotOpen,
    SendService,
    SendStarted,
)
from storage.db import utcnow
from storage.models import MessageRecord, PreviewState
from storage.updates import PreviewRepository

__all__ = [
    "Balance",
    "JobStarted",
    "OpenedPreview",
    "PreviewKind",
    "PreviewResult",
    "PreviewService",
    "PreviewState",
    "SendStarted",
]


class PreviewKind(enum.Enum):
    """What a tap on a preview's button came to."""

    NOT_YOURS = "not_yours"  # another user's preview: nothing changed
    EXPIRED = "expired"  # past its time, or gone: nothing sent
    USED = "used"  # it became a send before: nothing sent again
    CANCELLED = "cancelled"  # cancelled (by this tap when ``now``): nothing sent
    LIMIT = "limit"  # the user's limit is used up: the preview stays open
    INVALID = "invalid"  # its input is not valid any more: cancelled, nothing sent
    STARTED = "started"  # the send is recorded and on its way


@dataclass(frozen=True, slots=True)
class PreviewResult:
    kind: PreviewKind
    #: USED: the send the preview became (None when unknown)
    message_id: int | None = None
    #: USED on a repeated confirmation that reached the send's record: that send
    record: MessageRecord | None = None
    #: LIMIT: which limit, and when it frees
    hit: LimitHit | None = None
    #: INVALID: what is wrong with the input
    error: InvalidInput | None = None
    #: STARTED: the send, whose ``outcome()`` the caller awaits
    started: SendStarted | None = None
    #: STARTED, for a preview of several recipients: the job (``outcomes()``)
    job: JobStarted | None = None
    #: STARTED: the chat the preview was shown in (where to answer)
    chat_id: int | None = None
    #: CANCELLED: this call cancelled it. EXPIRED: the preview still exists (its
    #: message shows buttons that do nothing any more, worth replacing).
    now: bool = False


@dataclass(frozen=True, slots=True)
class OpenedPreview:
    token: str
    prepared: PreparedSend
    #: the gateway's balance as last stored (None: never seen), shown without asking it
    balance: Balance | None
    #: several recipients (empty: the one of ``prepared``)
    recipients: tuple[Recipient, ...] = ()


#: The balance unit that counts what a send uses up: one per SMS part. A balance in
#: any other unit (smska's credits, money) cannot be compared with a count of parts.
PARTS_UNIT = "SMS"


def balance_covers(balance: Balance | None, parts: int) -> bool | None:
    """Whether the last known balance covers ``parts`` SMS parts: None when that
    cannot be told (no balance seen yet, or one in another unit than SMS)."""
    if balance is None or balance.unit != PARTS_UNIT:
        return None
    return balance.amount >= parts


class PreviewService:
    def __init__(
        self,
        previews: PreviewRepository,
        sender: SendService,
        limiter: RateLimiter,
        balances: BalanceService,
        *,
        ttl: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._previews = previews
        self._sender = sender
        self._limiter = limiter
        self._balances = balances
        self._ttl = ttl
        self._clock = clock

    async def open(
        self,
        prepared: PreparedSend,
        *,
        user_id: int,
        chat_id: int,
        recipients: Sequence[Recipient] = (),
    ) -> OpenedPreview:
        """Store a preview of ``prepared`` for ``user_id`` (open for the TTL); with
        ``recipients``, of a send to each of them (a job), names kept for its rows."""
        stored = (
            json.dumps([[r.number, r.name] for r in recipients], ensure_ascii=False)
            if recipients
            else None
        )
        preview = await self._previews.create(
            token=secrets.token_urlsafe(12),
            user_id=user_id,
            chat_id=chat_id,
            recipient=prepared.recipient,
            text=prepared.text.text,
            provider=prepared.provider,
            ttl=self._ttl,
            recipients=stored,
        )
        balance = await self._balances.last_known(prepared.provider)
        return OpenedPreview(preview.token, prepared, balance, tuple(recipients))

    async def last_balance(self, provider: str) -> Balance | None:
        """The gateway's balance as last stored, without asking the gateway."""
        return await self._balances.last_known(provider)

    async def confirm(self, token: str, user_id: int, origin: Origin) -> PreviewResult:
        """A tap on "Send": re-check the input, then claim the preview, check the quota
        and record the send in one transaction, and start sending. The send belongs to
        the chat the preview was shown in (``origin.chat_id`` is set to it). Every
        other kind than STARTED sent nothing."""
        preview = await self._previews.get(token)
        if preview is None:
            return PreviewResult(PreviewKind.EXPIRED)
        if preview.user_id != user_id:
            return PreviewResult(PreviewKind.NOT_YOURS)
        try:
            prepared = self._sender.prepare(
                preview.recipient, preview.text, preview.provider, international=True
            )
        except InvalidInput as exc:
            await self._previews.set_state(token, PreviewState.CANCELLED)
            return PreviewResult(PreviewKind.INVALID, error=exc)
        if preview.recipients is not None:
            origin = dataclasses.replace(origin, chat_id=preview.chat_id)
            return await self._confirm_many(token, preview.recipients, prepared, user_id, origin)
        try:
            # The claim of the preview, the quota and the record of the send are one
            # transaction: a stop at any point leaves either an open preview and no
            # record, or a used preview and a record that the next start settles.
            started = await self._sender.start(
                prepared,
                dataclasses.replace(origin, chat_id=preview.chat_id),
                idempotency_key=f"preview:{token}",
                quotas=await self._limiter.quotas(user_id),
                preview=PreviewClaim(token, user_id),
            )
        except LimitExceeded as exc:  # nothing was claimed: the preview stays open
            return PreviewResult(PreviewKind.LIMIT, hit=exc.hit)
        except PreviewNotOpen:
            return await self._stale(token)
        if started.duplicate:
            record = started.record
            return PreviewResult(PreviewKind.USED, message_id=record.id, record=record)
        return PreviewResult(PreviewKind.STARTED, started=started, chat_id=preview.chat_id)

    async def _confirm_many(
        self, token: str, stored: str, prepared: PreparedSend, user_id: int, origin: Origin
    ) -> PreviewResult:
        """A tap on "Send" under a preview of several recipients: one job, recorded with
        the claim of the preview and the quota in one transaction. Every number is
        checked again (a setting may have changed): one refused now cancels it all."""
        pairs: list[list[str | None]] = json.loads(stored)
        numbers = [str(number) for number, _name in pairs]
        names = {str(number): name for number, name in pairs if name}
        try:
            job = await self._sender.submit(
                numbers,
                prepared,
                origin,
                idempotency_key=f"preview:{token}",
                quotas=await self._limiter.quotas(user_id),
                preview=PreviewClaim(token, user_id),
                names=names,
            )
        except LimitExceeded as exc:
            return PreviewResult(PreviewKind.LIMIT, hit=exc.hit)
        except PreviewNotOpen:
            return await self._stale(token)
        except InvalidInput as exc:
            await self._previews.set_state(token, PreviewState.CANCELLED)
            return PreviewResult(PreviewKind.INVALID, error=exc)
        if job.duplicate:
            first = job.records[0] if job.records else None
            return PreviewResult(PreviewKind.USED, message_id=first.id if first else None)
        return PreviewResult(PreviewKind.STARTED, job=job, chat_id=origin.chat_id)

    async def cancel(self, token: str, user_id: int) -> PreviewResult:
        """A tap on "Cancel": CANCELLED with ``now`` when this call cancelled it."""
        preview = await self._previews.get(token)
        if preview is not None and preview.user_id != user_id:
            return PreviewResult(PreviewKind.NOT_YOURS)
        claimed = await self._previews.claim(token, user_id, PreviewState.CANCELLED, self._clock())
        if claimed is None:
            return await self._stale(token)
        return PreviewResult(PreviewKind.CANCELLED, now=True)

    async def _stale(self, token: str) -> PreviewResult:
        """Why a preview could not be claimed; one open past its time becomes expired."""
        preview = await self._previews.get(token)
        if preview is None:
            return PreviewResult(PreviewKind.EXPIRED)
        if preview.state == PreviewState.USED:
            return PreviewResult(PreviewKind.USED, message_id=preview.message_id)
        if preview.state == PreviewState.CANCELLED:
            return PreviewResult(PreviewKind.CANCELLED)
        if preview.state == PreviewState.OPEN:
            await self._previews.set_state(token, PreviewState.EXPIRED)
        return PreviewResult(PreviewKind.EXPIRED, now=True)
