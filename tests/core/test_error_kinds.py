"""Error kinds are an enum (``services.kinds.ErrorKind``), not class names looked up
with ``getattr``: each error maps to its kind, the kinds keep the strings stored since
the first schema (old databases read the same), and a stored string no kind has reads
as no kind."""

from __future__ import annotations

import inspect

import pytest

from bot.exit_codes import EXIT_NOT_SENT, EXIT_OK, EXIT_REFUSED, EXIT_UNKNOWN, exit_code_for_record
from providers import errors as e
from services.kinds import ErrorKind, error_kind, parse_kind
from services.sending import InternalSendError, RecordNotWritten
from storage.messages import INTERRUPTED, NOT_STARTED

PROVIDER_ERRORS = [
    cls
    for _, cls in inspect.getmembers(e, inspect.isclass)
    if issubclass(cls, e.ProviderError) and cls.__module__ == e.__name__
]


def _instance(cls: type[e.ProviderError]) -> e.ProviderError:
    if cls is e.UnsupportedOperation:
        return cls("smska", "status")
    if cls is e.GatewayNotConfigured:
        return cls("smska")
    return cls("smska", "English detail")


@pytest.mark.parametrize("cls", PROVIDER_ERRORS, ids=lambda c: c.__name__)
def test_every_gateway_error_has_the_kind_of_its_old_stored_string(
    cls: type[e.ProviderError],
) -> None:
    kind = error_kind(_instance(cls))
    assert isinstance(kind, ErrorKind)
    assert kind == cls.__name__  # the string rows have carried so far


def test_the_send_service_own_kinds_keep_their_strings() -> None:
    assert error_kind(InternalSendError("smska", "internal error (KeyError)")) == "InternalError"
    assert error_kind(RecordNotWritten("smska", "disk full")) == "RecordNotWritten"
    # the recovery at start writes these two through storage's own constants
    assert ErrorKind.INTERRUPTED == INTERRUPTED
    assert ErrorKind.NOT_STARTED == NOT_STARTED


def test_a_subclass_a_gateway_adds_is_recorded_as_its_known_ancestor() -> None:
    class NoCreditsLeft(e.InsufficientFunds):
        pass

    class Garbled(e.ProtocolError):
        pass

    assert error_kind(NoCreditsLeft("smska", "no credits")) is ErrorKind.INSUFFICIENT_FUNDS
    assert error_kind(Garbled("smska", "odd")) is ErrorKind.PROTOCOL_ERROR
    assert error_kind(e.ProviderError("smska", "odd")) is ErrorKind.PROVIDER_ERROR


@pytest.mark.parametrize("stored", list(ErrorKind))
def test_every_stored_kind_reads_back(stored: ErrorKind) -> None:
    assert parse_kind(str(stored)) is stored


@pytest.mark.parametrize(
    "stored", [None, "", "SomethingNew", "__class__", "errors", "insufficientfunds", "Exception"]
)
def test_a_string_no_kind_has_reads_as_none(stored: str | None) -> None:
    assert parse_kind(stored) is None


def test_refused_kinds_are_the_gateway_refusals() -> None:
    refused = {k for k in ErrorKind if k.refused}
    assert refused == {
        error_kind(_instance(cls)) for cls in PROVIDER_ERRORS if issubclass(cls, e.GatewayRefused)
    }


@pytest.mark.parametrize(
    ("state", "stored", "code"),
    [
        ("failed", ErrorKind.NOT_SENT, EXIT_NOT_SENT),
        ("failed", ErrorKind.NOT_STARTED, EXIT_NOT_SENT),
        ("failed", ErrorKind.RECORD_NOT_WRITTEN, EXIT_NOT_SENT),
        ("failed", "NotSent", EXIT_NOT_SENT),
        ("failed", ErrorKind.INSUFFICIENT_FUNDS, EXIT_REFUSED),
        ("failed", "SomethingNew", EXIT_REFUSED),
        ("failed", None, EXIT_REFUSED),
        ("unknown", ErrorKind.INTERRUPTED, EXIT_UNKNOWN),
        ("delivered", None, EXIT_OK),
    ],
)
def test_exit_code_of_a_record_from_its_kind(state: str, stored: str | None, code: int) -> None:
    assert exit_code_for_record(state, stored) == code
