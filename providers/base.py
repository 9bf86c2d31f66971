"""The one async interface every gateway adapter implements, and its typed results."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from providers.sms import SmsText


class DeliveryState(enum.StrEnum):
    """One delivery model for every gateway."""

    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self in _FINAL_STATES

    @property
    def failed(self) -> bool:
        return self in (DeliveryState.REJECTED, DeliveryState.EXPIRED, DeliveryState.DELETED)


_FINAL_STATES = frozenset(
    {DeliveryState.DELIVERED, DeliveryState.REJECTED, DeliveryState.EXPIRED, DeliveryState.DELETED}
)


@dataclass(frozen=True, slots=True)
class Capabilities:
    balance: bool
    status: bool
    #: the longest text the gateway accepts in one request, in characters (None: no limit of its own)
    max_chars: int | None = None


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    recipient: str  # normalised, international digits without "+"
    text: SmsText


@dataclass(frozen=True, slots=True)
class SendResult:
    provider: str
    message_id: str
    balance: Decimal | None
    balance_unit: str
    at: datetime
    raw: str
    simulated: bool = False


class BalanceSource(enum.StrEnum):
    LIVE = "live"  # asked the gateway just now
    LAST_SEND = "last_send"  # returned by the gateway with the last send


@dataclass(frozen=True, slots=True)
class Balance:
    provider: str
    amount: Decimal
    unit: str
    at: datetime
    source: BalanceSource
    simulated: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    provider: str
    message_id: str
    state: DeliveryState
    code: str | None
    name: str | None
    at: datetime
    simulated: bool = False


@runtime_checkable
class SmsProvider(Protocol):
    """What the service layer needs from a gateway. Adapters know HTTP and the wire
    format, nothing of Telegram or storage."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    def check_text(self, text: SmsText) -> None:
        """Raise ``InvalidText`` if this gateway cannot carry the text."""

    async def send(self, sms: OutgoingSms) -> SendResult: ...

    async def balance(self) -> Balance: ...

    async def status(self, message_id: str) -> DeliveryStatus: ...
