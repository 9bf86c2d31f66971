"""The kinds of error a send is recorded with (``messages.error_kind``), as an enum.

The values are the strings stored since the first schema (the class names of the
gateway errors, plus the process's own kinds), so databases written before this enum
read the same. The storage layer keeps plain strings in the column; ``parse_kind``
turns one back into a kind, and gives ``None`` for a string no kind has (a row of an
older or newer version): whoever renders it falls back to the stored text.
"""

from __future__ import annotations

from enum import StrEnum

from providers import errors as e


class ErrorKind(StrEnum):
    # the gateway refused (nothing was sent)
    GATEWAY_REFUSED = "GatewayRefused"
    AUTHENTICATION_FAILED = "AuthenticationFailed"
    ACCESS_DENIED = "AccessDenied"
    INVALID_SIGNATURE = "InvalidSignature"
    INSUFFICIENT_FUNDS = "InsufficientFunds"
    INVALID_RECIPIENT = "InvalidRecipient"
    INVALID_SENDER = "InvalidSender"
    INVALID_REQUEST = "InvalidRequest"
    GATEWAY_INTERNAL_ERROR = "GatewayInternalError"
    MESSAGE_NOT_FOUND = "MessageNotFound"
    # the answer or the request itself
    PROTOCOL_ERROR = "ProtocolError"
    UNSUPPORTED_OPERATION = "UnsupportedOperation"
    GATEWAY_NOT_CONFIGURED = "GatewayNotConfigured"
    TRANSPORT_ERROR = "TransportError"
    NOT_SENT = "NotSent"
    OUTCOME_UNKNOWN = "OutcomeUnknown"
    PROVIDER_ERROR = "ProviderError"
    # the process's own
    INTERNAL = "InternalError"  # an unexpected error while the request may have been out
    RECORD_NOT_WRITTEN = "RecordNotWritten"  # the row could not be marked, nothing was sent
    # the same strings as storage.messages' INTERRUPTED and NOT_STARTED (the recovery at
    # start writes them); not imported, so that the exit codes need no storage layer
    INTERRUPTED = "Interrupted"  # the process stopped while the request was out
    NOT_STARTED = "NotStarted"  # the process stopped before the request was made

    @property
    def refused(self) -> bool:
        """The gateway answered with a documented refusal: nothing was sent."""
        return self in _REFUSED


_REFUSED = frozenset(
    {
        ErrorKind.GATEWAY_REFUSED,
        ErrorKind.AUTHENTICATION_FAILED,
        ErrorKind.ACCESS_DENIED,
        ErrorKind.INVALID_SIGNATURE,
        ErrorKind.INSUFFICIENT_FUNDS,
        ErrorKind.INVALID_RECIPIENT,
        ErrorKind.INVALID_SENDER,
        ErrorKind.INVALID_REQUEST,
        ErrorKind.GATEWAY_INTERNAL_ERROR,
        ErrorKind.MESSAGE_NOT_FOUND,
    }
)

#: The gateway errors, the most specific class first (a subclass a gateway adapter
#: may add later is recorded as its nearest known ancestor).
_PROVIDER_KINDS: tuple[tuple[type[e.ProviderError], ErrorKind], ...] = (
    (e.AuthenticationFailed, ErrorKind.AUTHENTICATION_FAILED),
    (e.AccessDenied, ErrorKind.ACCESS_DENIED),
    (e.InvalidSignature, ErrorKind.INVALID_SIGNATURE),
    (e.InsufficientFunds, ErrorKind.INSUFFICIENT_FUNDS),
    (e.InvalidRecipient, ErrorKind.INVALID_RECIPIENT),
    (e.InvalidSender, ErrorKind.INVALID_SENDER),
    (e.InvalidRequest, ErrorKind.INVALID_REQUEST),
    (e.GatewayInternalError, ErrorKind.GATEWAY_INTERNAL_ERROR),
    (e.MessageNotFound, ErrorKind.MESSAGE_NOT_FOUND),
    (e.GatewayRefused, ErrorKind.GATEWAY_REFUSED),
    (e.ProtocolError, ErrorKind.PROTOCOL_ERROR),
    (e.UnsupportedOperation, ErrorKind.UNSUPPORTED_OPERATION),
    (e.GatewayNotConfigured, ErrorKind.GATEWAY_NOT_CONFIGURED),
    (e.NotSent, ErrorKind.NOT_SENT),
    (e.OutcomeUnknown, ErrorKind.OUTCOME_UNKNOWN),
    (e.TransportError, ErrorKind.TRANSPORT_ERROR),
)


def error_kind(error: e.ProviderError) -> ErrorKind:
    """The kind a send that ended with ``error`` is recorded with."""
    # Imported here: services.sending imports this module (its errors are the send's own).
    from services.sending import InternalSendError, RecordNotWritten

    if isinstance(error, InternalSendError):
        return ErrorKind.INTERNAL
    if isinstance(error, RecordNotWritten):
        return ErrorKind.RECORD_NOT_WRITTEN
    for cls, kind in _PROVIDER_KINDS:
        if isinstance(error, cls):
            return kind
    return ErrorKind.PROVIDER_ERROR


def parse_kind(stored: str | None) -> ErrorKind | None:
    """The kind of a stored ``error_kind``; ``None`` when there is none or it is not one
    this version knows."""
    if stored is None:
        return None
    try:
        return ErrorKind(stored)
    except ValueError:
        return None
