"""The kinds of gateway failure, for whoever tells a person what went wrong (the
bot's texts, the command line): the error tree of ``providers.errors``, offered by
the services so that no entry point imports a gateway adapter's module."""

from __future__ import annotations

from providers.errors import (
    AccessDenied,
    AuthenticationFailed,
    GatewayInternalError,
    GatewayNotConfigured,
    GatewayRefused,
    InsufficientFunds,
    InvalidRecipient,
    InvalidRequest,
    InvalidSender,
    InvalidSignature,
    MessageNotFound,
    NotSent,
    OutcomeUnknown,
    ProtocolError,
    ProviderError,
    TransportError,
    UnsupportedOperation,
)

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "GatewayInternalError",
    "GatewayNotConfigured",
    "GatewayRefused",
    "InsufficientFunds",
    "InvalidRecipient",
    "InvalidRequest",
    "InvalidSender",
    "InvalidSignature",
    "MessageNotFound",
    "NotSent",
    "OutcomeUnknown",
    "ProtocolError",
    "ProviderError",
    "TransportError",
    "UnsupportedOperation",
]
