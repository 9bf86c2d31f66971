"""smsrent.ru ("СМС-рассылки"): a signed form POST answered by ``BALANCE;IDMSG``.

The gateway has no balance and no delivery-status request: the only balance known
is the one returned by the last send.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from providers.base import (
    Balance,
    BalanceSource,
    Capabilities,
    DeliveryStatus,
    OutgoingSms,
    SendResult,
)
from providers.errors import (
    AccessDenied,
    AuthenticationFailed,
    GatewayInternalError,
    GatewayRefused,
    InsufficientFunds,
    InvalidRequest,
    InvalidSignature,
    OutcomeUnknown,
    ProtocolError,
    UnsupportedOperation,
)
from providers.http import post_form
from providers.sms import InvalidText, SmsText

NAME = "smsrent"
DEFAULT_URL = "http://smsrent.ru/smsgateway/send.php"
MAX_CHARS = 160  # msg is varchar(160)
BALANCE_UNIT = "SMS"

SmsrentEncoding = Literal["UTF-8", "WINDOWS-1251"]
_PYTHON_CODEC: dict[str, str] = {"UTF-8": "utf-8", "WINDOWS-1251": "cp1251"}


@dataclass(frozen=True, slots=True)
class SmsrentConfig:
    project_id: int
    secret_key: SecretStr
    sender: str
    url: str = DEFAULT_URL
    encoding: SmsrentEncoding = "UTF-8"


def sign(sender: str, to: str, msg: str, project_id: int, skey: str, codec: str) -> str:
    """``md5(sender + to + msg + id + md5(skey))`` over the bytes that are sent."""
    key_hash = hashlib.md5(skey.encode("utf-8"), usedforsecurity=False).hexdigest()
    payload = f"{sender}{to}{msg}{project_id}{key_hash}".encode(codec)
    return hashlib.md5(payload, usedforsecurity=False).hexdigest()


_SUCCESS = re.compile(r"(-?\d+(?:[.,]\d+)?)\s*;\s*([^\s;]+)")
_IP = re.compile(r"access denied!\s*ip\s*=\s*(\S*?)\s+is not valid", re.IGNORECASE)
_GATEWAY_ERROR = re.compile(r"error gateway\s*:\s*(\S+)", re.IGNORECASE)


def parse_send_answer(raw: str) -> tuple[Decimal, str]:
    """Parse a send answer: ``(balance, message id)``, or raise the typed error.

    Tolerates surrounding whitespace, a BOM and CRLF. Anything unrecognised is a
    ``ProtocolError`` carrying the raw answer.
    """
    line = raw.replace("\ufeff", "").strip()
    match = _SUCCESS.fullmatch(line)
    if match:
        try:
            balance = Decimal(match.group(1).replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the regex admits only numbers
            raise ProtocolError(NAME, "the balance is not a number", raw=raw) from None
        return balance, match.group(2)
    raise _error_for(line, raw)


def _error_for(line: str, raw: str) -> GatewayRefused | ProtocolError:
    lowered = " ".join(line.lower().split())
    if lowered.startswith("access denied! empty request"):
        return InvalidRequest(NAME, "the gateway says required parameters are missing", raw=raw)
    if lowered.startswith("access denied! project type is not accepted"):
        return AccessDenied(
            NAME, "the project is not of the type “СМС-рассылки” (SMS mailing)", raw=raw
        )
    if lowered.startswith("access denied! secret key is not valid"):
        return AuthenticationFailed(NAME, "the secret key (skey) is not valid", raw=raw)
    ip_match = _IP.match(line)
    if ip_match:
        ip = ip_match.group(1)
        return AccessDenied(
            NAME,
            f"the server's IP address {ip} is not allowed: add it in the project settings",
            raw=raw,
            ip=ip,
        )
    if lowered.startswith("sign not valid"):
        return InvalidSignature(NAME, "the request signature is not valid", raw=raw)
    if lowered.startswith("balance is empty"):
        return InsufficientFunds(NAME, "the balance is empty: no SMS left on the account", raw=raw)
    code_match = _GATEWAY_ERROR.match(line)
    if code_match:
        code = code_match.group(1)
        return GatewayInternalError(
            NAME,
            f"internal gateway error {code}; smsrent asks to report it to their support",
            raw=raw,
            code=code,
        )
    return ProtocolError(NAME, "the gateway's answer was not understood", raw=raw)


class SmsrentProvider:
    def __init__(
        self, config: SmsrentConfig, client: httpx.AsyncClient, *, secrets: Sequence[str] = ()
    ) -> None:
        """``secrets``: every other configured secret, masked in answers as well."""
        self._config = config
        self._client = client
        self._secrets = (config.secret_key.get_secret_value(), *secrets)
        self._codec = _PYTHON_CODEC[config.encoding]
        self._last_balance: Balance | None = None

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(balance=False, status=False, max_chars=MAX_CHARS)

    def check_text(self, text: SmsText) -> None:
        if text.chars > MAX_CHARS:
            raise InvalidText(
                f"The message is too long for smsrent: {text.chars} characters, "
                f"at most {MAX_CHARS}.",
                length=text.chars,
                limit=MAX_CHARS,
                provider=NAME,
            )
        try:
            text.text.encode(self._codec)
        except UnicodeEncodeError as exc:
            bad = text.text[exc.start : exc.end]
            raise InvalidText(
                f"The character “{bad}” cannot be sent through smsrent in {self._config.encoding}.",
                char=bad,
                encoding=self._config.encoding,
                provider=NAME,
            ) from None

    def encode_request(self, sms: OutgoingSms) -> bytes:
        cfg = self._config
        skey = cfg.secret_key.get_secret_value()
        fields = {
            "sender": cfg.sender,
            "to": sms.recipient,
            "msg": sms.text.text,
            "id": str(cfg.project_id),
            "skey": skey,
            "sign": sign(
                cfg.sender, sms.recipient, sms.text.text, cfg.project_id, skey, self._codec
            ),
            "in_enc": cfg.encoding,
        }
        return urlencode(fields, encoding=self._codec).encode("ascii")

    async def send(self, sms: OutgoingSms) -> SendResult:
        self.check_text(sms.text)
        answer = await post_form(
            self._client,
            self._config.url,
            self.encode_request(sms),
            provider=NAME,
            idempotent=False,
            secrets=self._secrets,
        )
        try:
            balance, message_id = parse_send_answer(answer.text)
        except ProtocolError as exc:
            # The request reached something that answered oddly: it may have been sent.
            raise OutcomeUnknown(
                NAME, f"the gateway's answer was not understood (HTTP {answer.status})", raw=exc.raw
            ) from exc
        now = datetime.now(UTC)
        self._last_balance = Balance(NAME, balance, BALANCE_UNIT, now, BalanceSource.LAST_SEND)
        return SendResult(NAME, message_id, balance, BALANCE_UNIT, now, raw=answer.text.strip())

    async def balance(self) -> Balance:
        """The balance returned by this process's last send; the gateway has no request for it."""
        if self._last_balance is None:
            raise UnsupportedOperation(NAME, "balance")
        return self._last_balance

    async def status(self, message_id: str) -> DeliveryStatus:
        raise UnsupportedOperation(NAME, "delivery status")
