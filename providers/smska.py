"""smska.net: form POST with pipe-separated answers; send, balance and delivery status."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from providers.base import (
    Balance,
    BalanceSource,
    Capabilities,
    DeliveryState,
    DeliveryStatus,
    OutgoingSms,
    SendResult,
)
from providers.errors import (
    AuthenticationFailed,
    GatewayInternalError,
    GatewayRefused,
    InsufficientFunds,
    InvalidRecipient,
    InvalidRequest,
    InvalidSender,
    OutcomeUnknown,
    ProtocolError,
)
from providers.http import post_form
from providers.sms import SmsText

NAME = "smska"
DEFAULT_URL = "http://my2.smska.net/api/httppost.php"
BALANCE_UNIT = "credits"

#: status code -> (state, documented name)
STATUS_CODES: dict[str, tuple[DeliveryState, str]] = {
    "3": (DeliveryState.ACCEPTED, "ACCEPTD"),
    "4": (DeliveryState.DELIVERED, "DELIVRD"),
    "5": (DeliveryState.REJECTED, "REJECTD"),
    "6": (DeliveryState.REJECTED, "REJECTD"),
    "7": (DeliveryState.EXPIRED, "EXPIRED"),
    "8": (DeliveryState.DELETED, "DELETED"),
}


@dataclass(frozen=True, slots=True)
class SmskaConfig:
    api_key: str
    api_password: SecretStr
    sender: str
    url: str = DEFAULT_URL


def _fields(raw: str) -> list[str]:
    line = raw.replace("\ufeff", "").strip()
    return [part.strip() for part in line.split("|")]


def _error(fields: list[str], raw: str) -> GatewayRefused | ProtocolError:
    code = fields[0]
    if code == "1":
        return AuthenticationFailed(
            NAME,
            "authentication failed: wrong API key or password, or the account is locked",
            raw=raw,
        )
    if code == "3":
        return GatewayInternalError(NAME, "the gateway reports a sending error", raw=raw, code="3")
    if code == "4":
        return InvalidRequest(NAME, "a request parameter is invalid or missing", raw=raw)
    if code == "5":
        return InsufficientFunds(NAME, "insufficient credits on the account", raw=raw)
    if code == "6":
        return InvalidRecipient(
            NAME, "the recipient number is not valid or cannot be reached", raw=raw
        )
    if code == "7":
        return InvalidSender(NAME, "the sender name (SenderID) is not valid", raw=raw)
    return ProtocolError(NAME, "the gateway's answer was not understood", raw=raw)


def _amount(value: str, raw: str) -> Decimal:
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise ProtocolError(NAME, "the balance is not a number", raw=raw) from None
    if not amount.is_finite():
        raise ProtocolError(NAME, "the balance is not a number", raw=raw)
    return amount


def parse_send_answer(raw: str) -> tuple[str, Decimal | None]:
    """``0|Message sent|ID|Balance status|7463`` -> ``(ID, 7463)``."""
    fields = _fields(raw)
    if fields[0] != "0":
        raise _error(fields, raw)
    if len(fields) < 3 or fields[1].lower() != "message sent" or not fields[2]:
        raise ProtocolError(NAME, "the send answer has no message id", raw=raw)
    balance: Decimal | None = None
    if len(fields) >= 5 and fields[4]:
        # The message was accepted: an unreadable balance must not make it "unknown".
        with contextlib.suppress(ProtocolError):
            balance = _amount(fields[4], raw)
    return fields[2], balance


def parse_balance_answer(raw: str) -> Decimal:
    """``0|Balance status|7464`` -> ``7464``."""
    fields = _fields(raw)
    if fields[0] != "0":
        raise _error(fields, raw)
    if len(fields) != 3 or fields[1].lower() != "balance status":
        raise ProtocolError(NAME, "the balance answer was not understood", raw=raw)
    return _amount(fields[2], raw)


def parse_status_answer(raw: str) -> tuple[DeliveryState, str, str]:
    """``0|Status|4|DELIVRD`` -> ``(DELIVERED, "4", "DELIVRD")``.

    An undocumented code is kept as ``UNKNOWN`` (not final), with the gateway's code
    and name, rather than guessed at.
    """
    fields = _fields(raw)
    if fields[0] != "0":
        raise _error(fields, raw)
    if len(fields) < 3 or fields[1].lower() != "status" or not fields[2].isdigit():
        raise ProtocolError(NAME, "the status answer was not understood", raw=raw)
    code = fields[2]
    name = fields[3] if len(fields) > 3 else ""
    known = STATUS_CODES.get(code)
    if known is None:
        return DeliveryState.UNKNOWN, code, name
    return known[0], code, name or known[1]


class SmskaProvider:
    def __init__(
        self, config: SmskaConfig, client: httpx.AsyncClient, *, secrets: Sequence[str] = ()
    ) -> None:
        """``secrets``: every other configured secret, masked in answers as well."""
        self._config = config
        self._client = client
        self._secrets = (config.api_password.get_secret_value(), *secrets)

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(balance=True, status=True)

    def check_text(self, text: SmsText) -> None:
        """smska documents no limit of its own beyond the shared checks."""

    def _body(self, **fields: str) -> bytes:
        data = {
            "APIKey": self._config.api_key,
            "APIPassword": self._config.api_password.get_secret_value(),
            **fields,
        }
        return urlencode(data, encoding="utf-8").encode("ascii")

    async def send(self, sms: OutgoingSms) -> SendResult:
        body = self._body(SenderID=self._config.sender, MSISDN=sms.recipient, Message=sms.text.text)
        answer = await post_form(
            self._client,
            self._config.url,
            body,
            provider=NAME,
            idempotent=False,
            secrets=self._secrets,
        )
        try:
            message_id, balance = parse_send_answer(answer.text)
        except ProtocolError as exc:
            raise OutcomeUnknown(
                NAME, f"the gateway's answer was not understood (HTTP {answer.status})", raw=exc.raw
            ) from exc
        return SendResult(
            NAME, message_id, balance, BALANCE_UNIT, datetime.now(UTC), raw=answer.text.strip()
        )

    async def balance(self) -> Balance:
        answer = await post_form(
            self._client,
            self._config.url,
            self._body(Action="balance"),
            provider=NAME,
            idempotent=True,
            secrets=self._secrets,
        )
        amount = parse_balance_answer(answer.text)
        return Balance(NAME, amount, BALANCE_UNIT, datetime.now(UTC), BalanceSource.LIVE)

    async def status(self, message_id: str) -> DeliveryStatus:
        answer = await post_form(
            self._client,
            self._config.url,
            self._body(Action="query", BatchId=message_id),
            provider=NAME,
            idempotent=True,
            secrets=self._secrets,
        )
        state, code, name = parse_status_answer(answer.text)
        return DeliveryStatus(NAME, message_id, state, code, name, datetime.now(UTC))
