"""Credentials never reach logs or exception texts, on success and on every error path.

GATEWAYS.md: "Credentials (skey, APIPassword) never appear in logs, errors shown to
users, or exception texts. The http client's own request logging must not print
them either."
"""

from __future__ import annotations

import io
import logging
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from decimal import Decimal
from types import TracebackType
from urllib.parse import quote, quote_plus

import httpx
import pytest
from pydantic import SecretStr

from bot.logging_setup import MASK, RedactingFilter
from providers.base import OutgoingSms
from providers.errors import OutcomeUnknown, ProviderError
from providers.http import create_http_client
from providers.sms import analyze_text
from providers.smska import SmskaConfig, SmskaProvider
from providers.smsrent import SmsrentConfig, SmsrentProvider
from tests.fakes.gateways import Behaviour, FakeGateways

# Distinctive, and with characters that form-encoding changes (+ / & % space).
SKEY = "SKEY-s3cr3t+value/91&"
PASSWORD = "PWD-s3cr3t value%77"
SECRETS = (SKEY, PASSWORD)

LOGGERS = ("", "httpx", "httpcore", "aiohttp", "asyncio", "providers", "tests.fakes.gateways")


def secret_forms() -> list[str]:
    """Each secret raw and as it looks URL-encoded (compared case-insensitively)."""
    forms: set[str] = set()
    for secret in SECRETS:
        forms |= {secret, quote(secret), quote(secret, safe=""), quote_plus(secret)}
    return sorted(forms)


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [form for form in secret_forms() if form.lower() in lowered]


def exception_texts(exc: BaseException) -> Iterator[tuple[str, str]]:
    """(where, text): str, repr, args and raw of an exception and of everything chained."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        name = type(current).__name__
        yield f"str({name})", str(current)
        yield f"repr({name})", repr(current)
        yield f"{name}.args", repr(current.args)
        raw = getattr(current, "raw", None)
        if raw is not None:
            yield f"{name}.raw", str(raw)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    yield f"traceback of {type(exc).__name__}", "".join(traceback.format_exception(exc))


def record_texts(caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    formatter = logging.Formatter()
    for record in caplog.records:
        yield record.getMessage()
        yield record.exc_text or ""
        yield record.stack_info or ""
        if record.exc_info:
            yield formatter.formatException(record.exc_info)
    yield caplog.text


@pytest.fixture
def debug_logs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    # bot.logging_setup quiets httpx/httpcore; here every logger speaks at DEBUG.
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    return caplog


@pytest.fixture
async def secret_fake() -> AsyncIterator[FakeGateways]:
    async with FakeGateways(
        smsrent_secret_key=SKEY, smska_api_password=PASSWORD, slow_seconds=5.0
    ) as fake:
        yield fake


@pytest.fixture
async def clients() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """(a normal client, one whose read timeout is 0.3 s)."""
    normal = create_http_client(connect_timeout=1.0, read_timeout=2.0)
    slow = create_http_client(connect_timeout=1.0, read_timeout=0.3)
    try:
        yield normal, slow
    finally:
        await normal.aclose()
        await slow.aclose()


def outgoing(text: str) -> OutgoingSms:
    return OutgoingSms(recipient="79123456789", text=analyze_text(text))


def refused_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/gateway.php"


async def collect(
    errors: list[BaseException], call: Callable[[], Awaitable[object]]
) -> object | None:
    try:
        return await call()
    except ProviderError as exc:
        errors.append(exc)
        return None


def assert_no_leaks(caplog: pytest.LogCaptureFixture, errors: list[BaseException]) -> None:
    found = [
        (f"log {n}", form) for n, text in enumerate(record_texts(caplog)) for form in leaks(text)
    ]
    found += [
        (where, form)
        for exc in errors
        for where, text in exception_texts(exc)
        for form in leaks(text)
    ]
    assert found == []
    # The capture really saw the client's own request logging.
    names = {record.name for record in caplog.records}
    assert "httpx" in names
    assert any(name.startswith("httpcore") for name in names)


async def test_smsrent_paths_leak_no_secret(
    debug_logs: pytest.LogCaptureFixture,
    secret_fake: FakeGateways,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    refused_port: int,
) -> None:
    normal, slow = clients
    config = SmsrentConfig(
        project_id=secret_fake.smsrent_project_id,
        secret_key=SecretStr(SKEY),
        sender="TestSender",
        url=secret_fake.smsrent_url,
    )
    provider = SmsrentProvider(config, normal)
    errors: list[BaseException] = []

    sent = await provider.send(outgoing("hello & 100%"))
    assert sent.balance == Decimal(499)  # the fake accepted the key and the signature
    assert secret_fake.requests[0].form["skey"] == SKEY  # the secret was on the wire
    await provider.balance()
    await collect(errors, lambda: provider.status("100001"))

    for answer in (
        "Access denied! Empty request!",
        "Access denied! Project type is not accepted!",
        "Access denied! Secret key is not valid!",
        "Access denied! IP=1.2.3.4 is not valid!",
        "Sign not valid",
        "Balance is empty",
        "Error gateway:17",
    ):
        secret_fake.queue_answer("smsrent", answer)
        await collect(errors, lambda: provider.send(outgoing("x")))
    for behaviour in (
        Behaviour.HTML_502,
        Behaviour.EMPTY,
        Behaviour.GARBLED,
        Behaviour.TRUNCATED,
        Behaviour.HTTP_500,
        Behaviour.DROP,
    ):
        secret_fake.queue_behaviour("smsrent", behaviour)
        await collect(errors, lambda: provider.send(outgoing("x")))

    secret_fake.queue_behaviour("smsrent", Behaviour.SLOW)
    await collect(errors, lambda: SmsrentProvider(config, slow).send(outgoing("x")))
    dead = SmsrentProvider(
        SmsrentConfig(
            project_id=1234, secret_key=SecretStr(SKEY), sender="T", url=refused_url(refused_port)
        ),
        normal,
    )
    await collect(errors, lambda: dead.send(outgoing("x")))

    assert len(errors) == 1 + 7 + 6 + 1 + 1
    assert sum(isinstance(e, OutcomeUnknown) for e in errors) == 7
    assert_no_leaks(debug_logs, errors)


async def test_smska_paths_leak_no_secret(
    debug_logs: pytest.LogCaptureFixture,
    secret_fake: FakeGateways,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    refused_port: int,
) -> None:
    normal, slow = clients
    config = SmskaConfig(
        api_key=secret_fake.smska_api_key,
        api_password=SecretStr(PASSWORD),
        sender="TestSender",
        url=secret_fake.smska_url,
    )
    provider = SmskaProvider(config, normal)
    errors: list[BaseException] = []

    sent = await provider.send(outgoing("hello & 100%"))
    assert secret_fake.requests[0].form["APIPassword"] == PASSWORD
    await provider.balance()
    await provider.status(sent.message_id)

    answers = (
        "1|Authentication failed. Your API Key, Password combination is not valid.",
        "3|Sent Error",
        "4|Argument validation failed.",
        "5|Insufficient Credits.",
        "6|Invalid MSISDN.",
        "7|Your SenderID is not valid.",
    )
    for answer in answers:
        secret_fake.queue_answer("smska", answer)
        await collect(errors, lambda: provider.send(outgoing("x")))
        secret_fake.queue_answer("smska", answer)
        await collect(errors, provider.balance)
        secret_fake.queue_answer("smska", answer)
        await collect(errors, lambda: provider.status("abc"))
    for behaviour in (Behaviour.HTML_502, Behaviour.EMPTY, Behaviour.GARBLED, Behaviour.DROP):
        secret_fake.queue_behaviour("smska", behaviour)
        await collect(errors, lambda: provider.send(outgoing("x")))
        secret_fake.queue_behaviour("smska", behaviour)
        await collect(errors, provider.balance)

    secret_fake.queue_behaviour("smska", Behaviour.SLOW)
    await collect(errors, lambda: SmskaProvider(config, slow).send(outgoing("x")))
    secret_fake.queue_behaviour("smska", Behaviour.SLOW)
    await collect(errors, SmskaProvider(config, slow).balance)

    dead = SmskaProvider(
        SmskaConfig(
            api_key="test",
            api_password=SecretStr(PASSWORD),
            sender="T",
            url=refused_url(refused_port),
        ),
        normal,
    )
    await collect(errors, lambda: dead.send(outgoing("x")))
    await collect(errors, dead.balance)  # retried: logs "could not connect ... retrying"

    assert len(errors) == 6 * 3 + 4 * 2 + 2 + 2
    assert any(r.name == "providers.http" for r in debug_logs.records)
    assert_no_leaks(debug_logs, errors)


def leaks_in(errors: list[BaseException]) -> list[tuple[str, str]]:
    return sorted(
        {
            (where, form)
            for e in errors
            for where, text in exception_texts(e)
            for form in leaks(text)
        }
    )


# A gateway or proxy may echo the request back (a debug page, an error that quotes
# its input). The raw answer is shown to users (handlers/render.py), so it must not
# carry the credentials either.


async def test_smsrent_answer_echoing_the_key_does_not_leak(
    secret_fake: FakeGateways, http_client: httpx.AsyncClient
) -> None:
    config = SmsrentConfig(
        project_id=1234, secret_key=SecretStr(SKEY), sender="T", url=secret_fake.smsrent_url
    )
    errors: list[BaseException] = []
    secret_fake.queue_answer("smsrent", f"Bad request: skey={quote_plus(SKEY)}&id=1234", 400)

    await collect(errors, lambda: SmsrentProvider(config, http_client).send(outgoing("x")))

    assert [type(e) for e in errors] == [OutcomeUnknown]
    assert leaks_in(errors) == []


async def test_smska_answer_echoing_the_password_does_not_leak(
    secret_fake: FakeGateways, http_client: httpx.AsyncClient
) -> None:
    config = SmskaConfig(
        api_key="test", api_password=SecretStr(PASSWORD), sender="T", url=secret_fake.smska_url
    )
    errors: list[BaseException] = []
    secret_fake.queue_answer("smska", f"9|Unexpected APIPassword {PASSWORD}")

    await collect(errors, SmskaProvider(config, http_client).balance)

    assert len(errors) == 1
    assert leaks_in(errors) == []


def test_configs_do_not_show_secrets() -> None:
    smsrent = SmsrentConfig(project_id=1, secret_key=SecretStr(SKEY), sender="S")
    smska = SmskaConfig(api_key="k", api_password=SecretStr(PASSWORD), sender="S")

    for text in (repr(smsrent), str(smsrent), repr(smska), str(smska)):
        assert leaks(text) == []


# ----------------------------------------------------------------- RedactingFilter


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _record(
    msg: str, args: tuple[object, ...] = (), exc_info: ExcInfo | None = None
) -> logging.LogRecord:
    return logging.LogRecord("test", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_filter_masks_secrets_in_message_args() -> None:
    redactor = RedactingFilter(SECRETS)
    record = _record("skey=%s password=%r count=%d", (SKEY, PASSWORD, 3))

    assert redactor.filter(record) is True

    message = record.getMessage()
    assert SKEY not in message
    assert PASSWORD not in message
    assert message == f"skey={MASK} password='{MASK}' count=3"


def test_filter_masks_secrets_in_a_traceback() -> None:
    redactor = RedactingFilter(SECRETS)
    try:
        try:
            raise ValueError(f"inner {PASSWORD}")
        except ValueError as inner:
            raise RuntimeError(f"outer {SKEY}") from inner
    except RuntimeError:
        record = _record("request failed", exc_info=sys.exc_info())

    redactor.filter(record)
    output = logging.Formatter("%(message)s").format(record)

    assert SKEY not in output
    assert PASSWORD not in output
    assert f"RuntimeError: outer {MASK}" in output
    assert f"ValueError: inner {MASK}" in output


def test_filter_on_a_real_handler_masks_exception_and_stack() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(SECRETS))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ConnectionError(f"could not reach http://gw/?key={SKEY}")
        except ConnectionError:
            logger.exception("send failed for %s", PASSWORD, stack_info=True)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    output = stream.getvalue()
    assert "send failed for ***" in output
    assert "ConnectionError: could not reach http://gw/?key=***" in output
    assert "Stack (most recent call last)" in output
    assert SKEY not in output
    assert PASSWORD not in output


def test_filter_without_secrets_changes_nothing() -> None:
    record = _record("value=%s", ("plain",))

    assert RedactingFilter([]).filter(record) is True
    assert record.args == ("plain",)
    assert record.getMessage() == "value=plain"
