"""The built-in sandbox gateway: sends nothing, and says so in every result.

It lets a new user try the whole product before buying a gateway account: it
accepts messages, returns ids, reports a message as delivered a few seconds after
it was "sent", and counts a balance down. Message ids carry their send time, so a
status request works from any process (the command line included).
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal

from providers.base import (
    Balance,
    BalanceSource,
    Capabilities,
    DeliveryState,
    DeliveryStatus,
    OutgoingSms,
    SendResult,
)
from providers.errors import InsufficientFunds, MessageNotFound
from providers.sms import SmsText

NAME = "sandbox"
BALANCE_UNIT = "SMS"
START_BALANCE = Decimal(1000)
_ID = re.compile(r"sandbox-([0-9a-f]{1,16})-[0-9a-f]{6}")


class SandboxProvider:
    def __init__(
        self, *, balance: Decimal | int = START_BALANCE, delivery_delay: float = 5.0
    ) -> None:
        self._balance = Decimal(balance)
        self._delivery_delay = delivery_delay

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(balance=True, status=True)

    def check_text(self, text: SmsText) -> None:
        """The sandbox carries any text the shared checks accept."""

    async def send(self, sms: OutgoingSms) -> SendResult:
        if self._balance < sms.text.parts:
            raise InsufficientFunds(NAME, "the sandbox balance is used up (restart to refill it)")
        self._balance -= sms.text.parts
        message_id = f"sandbox-{time.time_ns() // 1_000_000:x}-{secrets.token_hex(3)}"
        return SendResult(
            NAME,
            message_id,
            self._balance,
            BALANCE_UNIT,
            datetime.now(UTC),
            raw="sandbox: nothing was sent",
            simulated=True,
        )

    async def balance(self) -> Balance:
        return Balance(
            NAME, self._balance, BALANCE_UNIT, datetime.now(UTC), BalanceSource.LIVE, simulated=True
        )

    async def status(self, message_id: str) -> DeliveryStatus:
        match = _ID.fullmatch(message_id)
        if match is None:
            raise MessageNotFound(NAME, f"the sandbox issued no message with id {message_id!r}")
        sent_at = int(match.group(1), 16) / 1000
        delivered = time.time() - sent_at >= self._delivery_delay
        state = DeliveryState.DELIVERED if delivered else DeliveryState.ACCEPTED
        code, name = ("4", "DELIVRD") if delivered else ("3", "ACCEPTD")
        return DeliveryStatus(
            NAME, message_id, state, code, name, datetime.now(UTC), simulated=True
        )
