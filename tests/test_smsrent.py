"""The smsrent.ru adapter over real HTTP against the fake gateway, and its answer parser."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from providers.base import BalanceSource, OutgoingSms
from providers.errors import (
    RAW_PREVIEW_LIMIT,
    AccessDenied,
    AuthenticationFailed,
    GatewayInternalError,
    GatewayRefused,
    InsufficientFunds,
    InvalidRequest,
    InvalidSignature,
    NotSent,
    OutcomeUnknown,
    ProtocolError,
    ProviderError,
    UnsupportedOperation,
)
from providers.http import create_http_client
from providers.sms import InvalidText, analyze_text
from providers.smsrent import SmsrentConfig, SmsrentProvider, parse_send_answer
from tests.fakes.gateways import Behaviour, FakeGateways

RECIPIENT = "79123456789"


def outgoing(text: str, recipient: str = RECIPIENT) -> OutgoingSms:
    return OutgoingSms(recipient=recipient, text=analyze_text(text))


def expected_sign(sender: str, to: str, msg: str, project_id: int, skey: str, encoding: str) -> str:
    """md5(sender + to + msg + id + md5(skey)) over the bytes sent, computed here alone."""
    key_hash = hashlib.md5(skey.encode("ascii")).hexdigest()
    signed = (sender + to + msg + str(project_id)).encode(encoding) + key_hash.encode("ascii")
    return hashlib.md5(signed).hexdigest()


@pytest.fixture
async def slow_client() -> AsyncIterator[httpx.AsyncClient]:
    client = create_http_client(connect_timeout=1.0, read_timeout=0.3)
    try:
        yield client
    finally:
        await client.aclose()


# --------------------------------------------------------------------------- success


async def test_send_parses_balance_and_id(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    result = await smsrent_provider.send(outgoing("Hello from the tests"))

    assert result.provider == "smsrent"
    assert result.message_id == "100001"
    assert result.balance == Decimal(499)
    assert result.balance_unit == "SMS"
    assert result.raw == "499;100001"
    assert result.simulated is False
    sent = fake_gateways.sent["100001"]
    assert (sent.to, sent.text, sent.sender) == (RECIPIENT, "Hello from the tests", "TestSender")

    second = await smsrent_provider.send(outgoing("again"))
    assert (second.message_id, second.balance) == ("100002", Decimal(498))


async def test_request_is_a_form_post_with_every_field(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    await smsrent_provider.send(outgoing("fields"))

    [request] = fake_gateways.requests_for("smsrent")
    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert request.form == {
        "sender": "TestSender",
        "to": RECIPIENT,
        "msg": "fields",
        "id": "1234",
        "skey": "test-skey",
        "in_enc": "UTF-8",
        "sign": expected_sign("TestSender", RECIPIENT, "fields", 1234, "test-skey", "utf-8"),
    }
    # Every field comes from the body, none from the query string: no credential in a URL.
    assert dict(parse_qsl(request.raw_body.decode("ascii"), keep_blank_values=True)) == request.form


async def test_signature_over_utf8(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    text = "Привет, мир!"

    await smsrent_provider.send(outgoing(text))

    [request] = fake_gateways.requests
    # A fixed vector (computed once with hashlib) and the same rule computed here.
    assert request.form["sign"] == "0d1a53aecda6547cb9ed87c8b157c389"
    assert request.form["sign"] == expected_sign(
        "TestSender", RECIPIENT, text, 1234, "test-skey", "utf-8"
    )
    assert request.form["in_enc"] == "UTF-8"
    assert quote("Привет").encode() in request.raw_body  # %D0%9F%D1%80...
    assert fake_gateways.sent["100001"].text == text


async def test_signature_over_windows_1251(
    smsrent_config: SmsrentConfig, http_client: httpx.AsyncClient, fake_gateways: FakeGateways
) -> None:
    config = dataclasses.replace(smsrent_config, encoding="WINDOWS-1251")
    provider = SmsrentProvider(config, http_client)
    text = "Привет, мир!"

    result = await provider.send(outgoing(text))

    [request] = fake_gateways.requests
    assert request.form["in_enc"] == "WINDOWS-1251"
    assert request.form["sign"] == "bad1db7896a2c9bad1e7b439b33f2ccc"
    assert request.form["sign"] == expected_sign(
        "TestSender", RECIPIENT, text, 1234, "test-skey", "cp1251"
    )
    assert b"msg=%CF%F0%E8%E2%E5%F2" in request.raw_body  # "Привет" in cp1251
    assert result.message_id == "100001"
    assert fake_gateways.sent["100001"].text == text


@pytest.mark.parametrize(
    "text",
    [
        "fish & chips",
        "1+1=2",
        "100% sure",
        "%41%20%",
        "a=b&c=d+e%20f",
        "Привет, как дела?",
        "Hi 😀🎉 there",
        "line one\nline two",
        "quote \" ' < > #hash ?q=1",
    ],
)
async def test_special_characters_arrive_intact(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways, text: str
) -> None:
    result = await smsrent_provider.send(outgoing(text))

    [request] = fake_gateways.requests
    assert request.form["msg"] == text
    # The fake checked the signature over the same bytes, so it accepted the message.
    assert fake_gateways.sent[result.message_id].text == text


# ---------------------------------------------------------------- refused locally


async def test_emoji_under_windows_1251_is_refused_before_any_request(
    smsrent_config: SmsrentConfig, http_client: httpx.AsyncClient, fake_gateways: FakeGateways
) -> None:
    provider = SmsrentProvider(
        dataclasses.replace(smsrent_config, encoding="WINDOWS-1251"), http_client
    )
    sms = outgoing("Привет 😀")

    with pytest.raises(InvalidText) as info:
        provider.check_text(sms.text)
    with pytest.raises(InvalidText):
        await provider.send(sms)

    assert "😀" in str(info.value)
    assert "WINDOWS-1251" in str(info.value)
    assert fake_gateways.requests == []


async def test_161_characters_refused_with_the_count(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    with pytest.raises(InvalidText) as info:
        await smsrent_provider.send(outgoing("a" * 161))

    assert "161" in str(info.value)
    assert "160" in str(info.value)
    assert (info.value.length, info.value.limit) == (161, 160)
    assert fake_gateways.requests == []


async def test_161_cyrillic_characters_refused_160_accepted(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    with pytest.raises(InvalidText, match="161"):
        await smsrent_provider.send(outgoing("ж" * 161))
    assert fake_gateways.requests == []

    result = await smsrent_provider.send(outgoing("ж" * 160))
    assert fake_gateways.sent[result.message_id].text == "ж" * 160
    assert smsrent_provider.capabilities.max_chars == 160


# ------------------------------------------------------------------ gateway errors


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("Access denied! Empty request!", InvalidRequest),
        ("Access denied! Project type is not accepted!", AccessDenied),
        ("Access denied! Secret key is not valid!", AuthenticationFailed),
        ("Access denied! IP=1.2.3.4 is not valid!", AccessDenied),
        ("Sign not valid", InvalidSignature),
        ("Balance is empty", InsufficientFunds),
        ("Error gateway:17", GatewayInternalError),
    ],
)
async def test_every_documented_error_is_mapped(
    smsrent_provider: SmsrentProvider,
    fake_gateways: FakeGateways,
    answer: str,
    error: type[GatewayRefused],
) -> None:
    fake_gateways.queue_answer("smsrent", answer)

    with pytest.raises(GatewayRefused) as info:
        await smsrent_provider.send(outgoing("hello"))

    assert type(info.value) is error
    assert info.value.provider == "smsrent"
    assert info.value.raw == answer
    assert info.value.nothing_sent is True
    assert len(fake_gateways.requests) == 1
    # A refused send leaves no balance behind.
    with pytest.raises(UnsupportedOperation):
        await smsrent_provider.balance()


async def test_ip_denied_carries_the_ip(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_answer("smsrent", "Access denied! IP=1.2.3.4 is not valid!")

    with pytest.raises(AccessDenied) as info:
        await smsrent_provider.send(outgoing("hello"))

    assert info.value.ip == "1.2.3.4"
    assert "1.2.3.4" in str(info.value)
    assert info.value.failover_safe is True


async def test_ip_denied_by_the_fake_itself(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.ip_denied = True

    with pytest.raises(AccessDenied) as info:
        await smsrent_provider.send(outgoing("hello"))

    assert info.value.ip == "127.0.0.1"
    assert fake_gateways.sent == {}


async def test_gateway_error_keeps_its_code(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_answer("smsrent", "Error gateway:17")

    with pytest.raises(GatewayInternalError) as info:
        await smsrent_provider.send(outgoing("hello"))

    assert info.value.code == "17"
    assert "17" in str(info.value)


async def test_wrong_key_and_empty_balance_from_the_fake(
    smsrent_config: SmsrentConfig, http_client: httpx.AsyncClient, fake_gateways: FakeGateways
) -> None:
    wrong = SmsrentProvider(
        dataclasses.replace(smsrent_config, secret_key=SecretStr("not-the-key")),
        http_client,
    )
    with pytest.raises(AuthenticationFailed):
        await wrong.send(outgoing("x"))

    fake_gateways.smsrent_balance = 0
    with pytest.raises(InsufficientFunds):
        await SmsrentProvider(smsrent_config, http_client).send(outgoing("x"))
    assert fake_gateways.sent == {}


@pytest.mark.parametrize(
    ("answer", "balance", "message_id"),
    [
        ("\ufeff499;100001", Decimal(499), "100001"),
        ("499;100001\r\n", Decimal(499), "100001"),
        ("  499 ; 100001  \r\n", Decimal(499), "100001"),
        ("\ufeff\r\n 12.50;abc-77\r\n", Decimal("12.5"), "abc-77"),
        ("0;5", Decimal(0), "5"),
    ],
)
async def test_tolerant_parsing_over_http(
    smsrent_provider: SmsrentProvider,
    fake_gateways: FakeGateways,
    answer: str,
    balance: Decimal,
    message_id: str,
) -> None:
    fake_gateways.queue_answer("smsrent", answer)

    result = await smsrent_provider.send(outgoing("hello"))

    assert (result.balance, result.message_id) == (balance, message_id)
    assert "\ufeff" not in result.raw


@pytest.mark.parametrize(
    "answer", ["\ufeffSign not valid\r\n", "  Sign not valid  ", "sign not valid\n"]
)
async def test_tolerant_error_parsing(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways, answer: str
) -> None:
    fake_gateways.queue_answer("smsrent", answer)

    with pytest.raises(InvalidSignature):
        await smsrent_provider.send(outgoing("hello"))


# ------------------------------------------------------------------ unknown outcome


@pytest.mark.parametrize(
    ("behaviour", "status", "raw_start"),
    [
        (Behaviour.HTML_502, 502, "<html> <head><title>502 Bad Gateway"),
        (Behaviour.HTTP_500, 500, "Internal Server Error"),
        (Behaviour.EMPTY, 200, ""),
        (Behaviour.GARBLED, 200, "\ufffd<?xml garbage"),
        (Behaviour.TRUNCATED, 200, "49"),
    ],
)
async def test_unreadable_send_answer_is_outcome_unknown(
    smsrent_provider: SmsrentProvider,
    fake_gateways: FakeGateways,
    behaviour: Behaviour,
    status: int,
    raw_start: str,
) -> None:
    fake_gateways.queue_behaviour("smsrent", behaviour)

    with pytest.raises(OutcomeUnknown) as info:
        await smsrent_provider.send(outgoing("hello"))

    error = info.value
    assert error.nothing_sent is False
    assert error.failover_safe is False
    assert f"HTTP {status}" in str(error)
    assert error.raw is not None
    assert error.raw.startswith(raw_start)
    assert len(error.raw) <= RAW_PREVIEW_LIMIT
    assert error.raw.isprintable()
    assert isinstance(error.__cause__, ProtocolError)
    assert len(fake_gateways.requests) == 1
    with pytest.raises(UnsupportedOperation):
        await smsrent_provider.balance()


async def test_html_page_is_shortened(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_answer("smsrent", "<html>" + "x" * 5000 + "</html>", status=502)

    with pytest.raises(OutcomeUnknown) as info:
        await smsrent_provider.send(outgoing("hello"))

    assert info.value.raw is not None
    assert len(info.value.raw) == RAW_PREVIEW_LIMIT
    assert info.value.raw.endswith("…")
    assert len(str(info.value)) < 200


async def test_read_timeout_is_outcome_unknown_and_not_retried(
    smsrent_config: SmsrentConfig, slow_client: httpx.AsyncClient, fake_gateways: FakeGateways
) -> None:
    provider = SmsrentProvider(smsrent_config, slow_client)
    fake_gateways.queue_behaviour("smsrent", Behaviour.SLOW)
    started = time.monotonic()

    with pytest.raises(OutcomeUnknown) as info:
        await provider.send(outgoing("slow one"))

    assert time.monotonic() - started < 2.0
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert info.value.nothing_sent is False
    await asyncio.sleep(0.1)  # a retry would show up here
    assert len(fake_gateways.requests) == 1
    # The gateway did act on it: exactly the case a retry would send twice.
    assert [sms.text for sms in fake_gateways.sent.values()] == ["slow one"]


async def test_dropped_connection_is_outcome_unknown_one_request(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_behaviour("smsrent", Behaviour.DROP)

    with pytest.raises(OutcomeUnknown) as info:
        await smsrent_provider.send(outgoing("dropped"))

    assert info.value.nothing_sent is False
    assert isinstance(info.value.__cause__, httpx.TransportError)
    await asyncio.sleep(0.05)
    assert len(fake_gateways.requests) == 1
    assert len(fake_gateways.sent) == 1


async def test_refused_connection_is_not_sent(
    smsrent_config: SmsrentConfig, http_client: httpx.AsyncClient, refused_port: int
) -> None:
    config = dataclasses.replace(
        smsrent_config, url=f"http://127.0.0.1:{refused_port}/smsgateway/send.php"
    )

    with pytest.raises(NotSent) as info:
        await SmsrentProvider(config, http_client).send(outgoing("hello"))

    assert info.value.nothing_sent is True
    assert info.value.failover_safe is True
    assert isinstance(info.value.__cause__, httpx.ConnectError)


# ------------------------------------------------------------ balance and status


async def test_balance_is_known_only_from_the_last_send(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    assert smsrent_provider.capabilities.balance is False
    with pytest.raises(UnsupportedOperation) as info:
        await smsrent_provider.balance()
    assert info.value.operation == "balance"
    assert fake_gateways.requests == []

    await smsrent_provider.send(outgoing("one"))
    first = await smsrent_provider.balance()
    assert (first.amount, first.unit, first.source) == (
        Decimal(499),
        "SMS",
        BalanceSource.LAST_SEND,
    )

    fake_gateways.queue_answer("smsrent", "37;100900")
    await smsrent_provider.send(outgoing("two"))
    second = await smsrent_provider.balance()
    assert second.amount == Decimal(37)
    assert second.provider == "smsrent"
    assert len(fake_gateways.requests) == 2  # balance() itself asks nothing


async def test_status_is_unsupported(
    smsrent_provider: SmsrentProvider, fake_gateways: FakeGateways
) -> None:
    assert smsrent_provider.capabilities.status is False
    with pytest.raises(UnsupportedOperation):
        await smsrent_provider.status("100001")
    assert fake_gateways.requests == []


# ------------------------------------------------------------------- pure parser


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("Access denied! Empty request!", InvalidRequest),
        ("Access denied! Project type is not accepted!", AccessDenied),
        ("Access denied! Secret key is not valid!", AuthenticationFailed),
        ("Access denied! IP=0.0.0.0 is not valid!", AccessDenied),
        ("Sign not valid", InvalidSignature),
        ("Balance is empty", InsufficientFunds),
        ("Error gateway:5", GatewayInternalError),
        ("", ProtocolError),
        ("499", ProtocolError),
        ("499;", ProtocolError),
        (";100001", ProtocolError),
        ("499;100001;7", ProtocolError),
        ("OK", ProtocolError),
    ],
)
def test_parser_maps_answers(answer: str, error: type[ProviderError]) -> None:
    with pytest.raises(ProviderError) as info:
        parse_send_answer(answer)
    assert type(info.value) is error


_ID_CHARS = st.characters(
    exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), exclude_characters=";\ufeff\x85"
)


@settings(max_examples=150, deadline=None)
@given(
    balance=st.one_of(
        st.integers(min_value=0, max_value=10**9).map(Decimal),
        st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
    ),
    message_id=st.text(alphabet=_ID_CHARS, min_size=1, max_size=30).filter(
        lambda s: not s.isspace() and s == "".join(s.split())
    ),
    comma=st.booleans(),
    before=st.sampled_from(["", "\ufeff", " ", "\r\n", "\ufeff \r\n"]),
    after=st.sampled_from(["", "\n", "\r\n", "  ", " \r\n\r\n"]),
    inner=st.sampled_from([";", " ; ", ";  "]),
)
def test_parser_round_trip(
    balance: Decimal,
    message_id: str,
    comma: bool,
    before: str,
    after: str,
    inner: str,
) -> None:
    text = format(balance, "f")
    if comma:
        text = text.replace(".", ",")
    answer = f"{before}{text}{inner}{message_id}{after}"

    assert parse_send_answer(answer) == (balance, message_id)


@settings(max_examples=250, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.text(alphabet="0123456789;.,- \r\n\ufeffabcErorgatwy:IP=!", max_size=40),
        st.sampled_from(["Access denied! ", "Error gateway:", "Sign not valid"]).flatmap(
            lambda prefix: st.text(max_size=20).map(lambda tail: prefix + tail)
        ),
    )
)
@example("Access denied! IP= is not valid!")
@example("Error gateway:")
@example("1e5;1")
@example("NaN;1")
def test_parser_never_raises_anything_else(raw: str) -> None:
    error: ProviderError | None = None
    try:
        balance, message_id = parse_send_answer(raw)
    except ProviderError as exc:
        error = exc
    if error is not None:
        assert isinstance(error, GatewayRefused | ProtocolError)
        assert error.provider == "smsrent"
        assert len(error.raw) <= RAW_PREVIEW_LIMIT
        return
    assert isinstance(balance, Decimal)
    assert balance.is_finite()
    assert message_id
    assert ";" not in message_id
    assert message_id == message_id.strip()
