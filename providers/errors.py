"""The typed error tree every gateway adapter raises.

A caller decides what to tell the user, and whether another gateway may be tried,
from the class alone:

* ``GatewayRefused`` and its subclasses: the gateway answered and refused the
  request, so nothing was sent.
* ``NotSent``: the request never left (could not connect); nothing was sent.
* ``OutcomeUnknown``: the request may have reached the gateway (read timeout,
  connection dropped after sending, an answer that cannot be understood). A send
  with this outcome must never be retried automatically.
* ``ProtocolError``: a balance or status answer that cannot be understood.
* ``UnsupportedOperation``: the gateway offers no such request.
* ``GatewayNotConfigured``: a recorded message's gateway is not configured here, so
  it cannot be asked (its last stored state is shown instead).

No error text ever contains a credential.
"""

from __future__ import annotations

RAW_PREVIEW_LIMIT = 120


def shorten(raw: str, limit: int = RAW_PREVIEW_LIMIT) -> str:
    """A one-line, bounded preview of a gateway answer, safe to show a person."""
    flat = " ".join(raw.replace("\ufeff", "").split())
    printable = "".join(ch if ch.isprintable() else "\ufffd" for ch in flat)
    if len(printable) > limit:
        return printable[: limit - 1] + "…"
    return printable


class ProviderError(Exception):
    """Base class of every gateway error."""

    #: True when the error proves that no SMS was sent.
    nothing_sent: bool = True
    #: True when another gateway may be tried for the same message (nothing was
    #: sent, and the reason is specific to this gateway, not to the message).
    failover_safe: bool = False

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}"


class GatewayRefused(ProviderError):
    """The gateway answered with a documented error: nothing was sent."""

    def __init__(self, provider: str, message: str, *, raw: str = "") -> None:
        super().__init__(provider, message)
        self.raw = shorten(raw)


class AuthenticationFailed(GatewayRefused):
    failover_safe = True


class AccessDenied(GatewayRefused):
    """The account, project or calling IP address is not allowed."""

    failover_safe = True

    def __init__(
        self, provider: str, message: str, *, raw: str = "", ip: str | None = None
    ) -> None:
        super().__init__(provider, message, raw=raw)
        self.ip = ip


class InvalidSignature(GatewayRefused):
    failover_safe = True


class InsufficientFunds(GatewayRefused):
    failover_safe = True


class InvalidRecipient(GatewayRefused):
    pass


class InvalidSender(GatewayRefused):
    pass


class InvalidRequest(GatewayRefused):
    pass


class GatewayInternalError(GatewayRefused):
    """The gateway reports an internal error with its own code."""

    def __init__(self, provider: str, message: str, *, raw: str = "", code: str = "") -> None:
        super().__init__(provider, message, raw=raw)
        self.code = code


class MessageNotFound(GatewayRefused):
    """The gateway does not know the message id that was asked about."""


class ProtocolError(ProviderError):
    """An answer that does not follow the gateway's documented format."""

    def __init__(self, provider: str, message: str, *, raw: str = "") -> None:
        super().__init__(provider, message)
        self.raw = shorten(raw)


class UnsupportedOperation(ProviderError):
    def __init__(self, provider: str, operation: str) -> None:
        super().__init__(provider, f"the gateway offers no {operation} request")
        self.operation = operation


class GatewayNotConfigured(ProviderError):
    """The gateway a recorded message went through is not configured here (any more):
    it cannot be asked, so its last stored state is all there is to show."""

    def __init__(self, provider: str) -> None:
        super().__init__(provider, "the gateway is not configured here")


class TransportError(ProviderError):
    """The HTTP exchange itself failed."""


class NotSent(TransportError):
    """Could not connect: the request never left, nothing was sent."""

    failover_safe = True


class OutcomeUnknown(TransportError):
    """The request may have reached the gateway; whether the SMS went out is unknown."""

    nothing_sent = False

    def __init__(self, provider: str, message: str, *, raw: str | None = None) -> None:
        super().__init__(provider, message)
        self.raw = shorten(raw) if raw is not None else None
