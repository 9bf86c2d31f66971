"""The exit codes of ``python -m bot`` (the bot and the command line), in one place:
the constants, what each means (printed by ``--help``), and the mappings from an
error and from a recorded send's state. No aiogram here."""

from __future__ import annotations

from providers.errors import (
    GatewayNotConfigured,
    GatewayRefused,
    MessageNotFound,
    NotSent,
    OutcomeUnknown,
    ProtocolError,
    UnsupportedOperation,
)
from providers.sms import InvalidInput
from services.kinds import ErrorKind, parse_kind

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_REFUSED = 4
EXIT_NOT_SENT = 5
EXIT_UNKNOWN = 6
EXIT_PROTOCOL = 7
EXIT_UNSUPPORTED = 8
EXIT_NOT_FOUND = 9
EXIT_NOT_CONFIGURED = 10
EXIT_LAST_ADMIN = 11
EXIT_PARTIAL = 12

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done (for send: the gateway accepted the message)",
    EXIT_INTERNAL: "internal error (a bug: please report it)",
    EXIT_USAGE: "bad usage or invalid input (phone, text, gateway name): nothing was sent",
    EXIT_CONFIG: "configuration error: a setting is missing or wrong",
    EXIT_REFUSED: "the gateway refused the request (credentials, IP, money, recipient...): nothing was sent",
    EXIT_NOT_SENT: "could not connect to the gateway: nothing was sent",
    EXIT_UNKNOWN: "outcome unknown: the SMS may or may not have been sent; it is not retried",
    EXIT_PROTOCOL: "the gateway's answer was not understood (balance, status)",
    EXIT_UNSUPPORTED: "the gateway offers no such request (e.g. smsrent has no status)",
    EXIT_NOT_FOUND: "no such message (users: no such user)",
    EXIT_NOT_CONFIGURED: "the gateway of this message is not configured here: the last known "
    "state is shown",
    EXIT_LAST_ADMIN: "refused: the change would leave no admin (users deny)",
    EXIT_PARTIAL: "send to many: not every recipient's SMS was accepted (some failed or "
    "are unknown, entries were skipped, or a stop left some unsent): see each recipient; "
    "when all ended the same way, that way's code (4, 5, 6) instead",
}


def exit_code_for(error: BaseException) -> int:
    """The exit code an error stands for (the most specific class first)."""
    if isinstance(error, InvalidInput):
        return EXIT_USAGE
    if isinstance(error, MessageNotFound):
        return EXIT_NOT_FOUND
    if isinstance(error, OutcomeUnknown):
        return EXIT_UNKNOWN
    if isinstance(error, NotSent):
        return EXIT_NOT_SENT
    if isinstance(error, GatewayRefused):
        return EXIT_REFUSED
    if isinstance(error, ProtocolError):
        return EXIT_PROTOCOL
    if isinstance(error, UnsupportedOperation):
        return EXIT_UNSUPPORTED
    if isinstance(error, GatewayNotConfigured):
        return EXIT_NOT_CONFIGURED
    return EXIT_INTERNAL


#: the recorded kinds of a failed send whose request was never made
_NOT_MADE = frozenset({ErrorKind.NOT_SENT, ErrorKind.NOT_STARTED, ErrorKind.RECORD_NOT_WRITTEN})


def exit_code_for_record(state: str, error_kind: str | None) -> int:
    """The exit code a recorded send stands for (a repeated ``--key``, ``status``)."""
    if state == "failed":
        return EXIT_NOT_SENT if parse_kind(error_kind) in _NOT_MADE else EXIT_REFUSED
    if state in ("unknown", "sending", "queued"):
        return EXIT_UNKNOWN
    return EXIT_OK
