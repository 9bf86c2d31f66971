"""The smska.net adapter over real HTTP against the fake gateway, and its answer parsers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from providers.base import BalanceSource, DeliveryState, OutgoingSms
from providers.errors import (
    RAW_PREVIEW_LIMIT,
    AuthenticationFailed,
    GatewayInternalError,
    GatewayRefused,
    InsufficientFunds,
    InvalidRecipient,
    InvalidRequest,
    InvalidSender,
    NotSent,
    OutcomeUnknown,
    ProtocolError,
    ProviderError,
)
from providers.http import create_http_client
from providers.sms import analyze_text
from providers.smska import (
    SmskaConfig,
    SmskaProvider,
    parse_balance_answer,
    parse_send_answer,
    parse_status_answer,
)
from tests.fakes.gateways import (
    SMSKA_ARGUMENTS_INVALID,
    SMSKA_AUTH_FAILED,
    SMSKA_INVALID_MSISDN,
    SMSKA_NO_CREDITS,
    SMSKA_SENDER_NOT_VALID,
    SMSKA_SENT_ERROR,
    Behaviour,
    FakeGateways,
)

RECIPIENT = "79041764995"
SEED_SEND = "0|Message sent|ah1acugxz98a27t9z|Balance status|7463"
SEED_BALANCE = " 0|Balance status|7464"
SEED_STATUS = "0|Status|4|DELIVRD"

ERRORS: list[tuple[str, type[GatewayRefused]]] = [
    (SMSKA_AUTH_FAILED, AuthenticationFailed),
    (SMSKA_SENT_ERROR, GatewayInternalError),
    (SMSKA_ARGUMENTS_INVALID, InvalidRequest),
    (SMSKA_NO_CREDITS, InsufficientFunds),
    (SMSKA_INVALID_MSISDN, InvalidRecipient),
    (SMSKA_SENDER_NOT_VALID, InvalidSender),
]


def outgoing(text: str, recipient: str = RECIPIENT) -> OutgoingSms:
    return OutgoingSms(recipient=recipient, text=analyze_text(text))


# --------------------------------------------------------------------------- success


async def test_send_through_the_fake(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways
) -> None:
    text = "Проверка & 100% + 😀 a=b"

    result = await smska_provider.send(outgoing(text))

    assert result.provider == "smska"
    assert len(result.message_id) == 17
    assert result.balance == Decimal(7463)
    assert result.balance_unit == "credits"
    assert result.simulated is False
    assert fake_gateways.sent[result.message_id].text == text
    [request] = fake_gateways.requests
    assert request.method == "POST"
    # Every field comes from the body, none from the query string: no credential in a URL.
    assert dict(parse_qsl(request.raw_body.decode("ascii"), keep_blank_values=True)) == request.form
    assert request.form == {
        "APIKey": "test",
        "APIPassword": "test-password",
        "SenderID": "TestSender",
        "MSISDN": RECIPIENT,
        "Message": text,
    }


async def test_seed_send_answer_parsed_exactly(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_answer("smska", SEED_SEND)

    result = await smska_provider.send(outgoing("hello"))

    assert result.message_id == "ah1acugxz98a27t9z"
    assert result.balance == Decimal(7463)
    assert result.raw == SEED_SEND


async def test_seed_balance_answer_parsed_exactly(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_answer("smska", SEED_BALANCE)

    balance = await smska_provider.balance()

    assert balance.amount == Decimal(7464)
    assert (balance.provider, balance.unit) == ("smska", "credits")
    assert balance.source is BalanceSource.LIVE
    assert balance.simulated is False
    [request] = fake_gateways.requests
    assert request.form == {"APIKey": "test", "APIPassword": "test-password", "Action": "balance"}


async def test_seed_status_answer_parsed_exactly(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_answer("smska", SEED_STATUS)

    status = await smska_provider.status("ah1acugxz98a27t9z")

    assert status.state is DeliveryState.DELIVERED
    assert status.state.final is True
    assert (status.code, status.name) == ("4", "DELIVRD")
    assert status.message_id == "ah1acugxz98a27t9z"
    [request] = fake_gateways.requests
    assert request.form["Action"] == "query"
    assert request.form["BatchId"] == "ah1acugxz98a27t9z"


async def test_balance_send_status_round_trip(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.delivery_after = 60.0

    before = await smska_provider.balance()
    sent = await smska_provider.send(outgoing("round trip"))
    accepted = await smska_provider.status(sent.message_id)
    fake_gateways.set_status(sent.message_id, 5, "REJECTD")
    rejected = await smska_provider.status(sent.message_id)
    after = await smska_provider.balance()

    assert before.amount - after.amount == 1
    assert (accepted.state, accepted.state.final, accepted.code) == (
        DeliveryState.ACCEPTED,
        False,
        "3",
    )
    assert (rejected.state, rejected.state.final, rejected.state.failed) == (
        DeliveryState.REJECTED,
        True,
        True,
    )


@pytest.mark.parametrize(
    "answer",
    [
        "\ufeff0|Balance status|7464\r\n",
        " 0 | Balance status | 7464 ",
        "0|balance status|7464\n",
        "0|Balance status|7464,00",
    ],
)
async def test_tolerant_balance_parsing(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways, answer: str
) -> None:
    fake_gateways.queue_answer("smska", answer)

    assert (await smska_provider.balance()).amount == Decimal(7464)


# -------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("answer", "error"), ERRORS)
async def test_every_error_code_is_mapped_on_send(
    smska_provider: SmskaProvider,
    fake_gateways: FakeGateways,
    answer: str,
    error: type[GatewayRefused],
) -> None:
    fake_gateways.queue_answer("smska", answer)

    with pytest.raises(GatewayRefused) as info:
        await smska_provider.send(outgoing("hello"))

    assert type(info.value) is error
    assert info.value.provider == "smska"
    assert info.value.nothing_sent is True
    assert info.value.raw == answer
    assert len(fake_gateways.requests) == 1


@pytest.mark.parametrize(("answer", "error"), ERRORS)
async def test_every_error_code_is_mapped_on_balance_and_status(
    smska_provider: SmskaProvider,
    fake_gateways: FakeGateways,
    answer: str,
    error: type[GatewayRefused],
) -> None:
    fake_gateways.queue_answer("smska", answer)
    fake_gateways.queue_answer("smska", answer)

    with pytest.raises(GatewayRefused) as on_balance:
        await smska_provider.balance()
    with pytest.raises(GatewayRefused) as on_status:
        await smska_provider.status("ah1acugxz98a27t9z")

    assert type(on_balance.value) is error
    assert type(on_status.value) is error
    assert len(fake_gateways.requests) == 2  # a refusal is an answer: no retry


async def test_sent_error_keeps_code_3(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_answer("smska", SMSKA_SENT_ERROR)

    with pytest.raises(GatewayInternalError) as info:
        await smska_provider.send(outgoing("hello"))

    assert info.value.code == "3"


async def test_errors_produced_by_the_fake(
    smska_config: SmskaConfig, http_client: httpx.AsyncClient, fake_gateways: FakeGateways
) -> None:
    wrong = SmskaProvider(
        dataclasses.replace(smska_config, api_password=SecretStr("nope")), http_client
    )
    with pytest.raises(AuthenticationFailed):
        await wrong.balance()

    bad_sender = SmskaProvider(
        dataclasses.replace(smska_config, sender="TwelveChars1"), http_client
    )
    with pytest.raises(InvalidSender):
        await bad_sender.send(outgoing("x"))

    provider = SmskaProvider(smska_config, http_client)
    with pytest.raises(InvalidRecipient):
        await provider.send(outgoing("x", recipient="7904176"))
    with pytest.raises(InvalidRequest):
        await provider.status("no-such-id")
    fake_gateways.smska_balance = 0
    with pytest.raises(InsufficientFunds):
        await provider.send(outgoing("x"))
    assert fake_gateways.sent == {}


async def test_undocumented_error_code_on_send_is_outcome_unknown(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways
) -> None:
    # GATEWAYS.md: "0 is success, a known code is its error, any other answer is a
    # protocol error" -- and a send answer that is not understood has an unknown outcome.
    fake_gateways.queue_answer("smska", "2|Something unexpected happened")

    with pytest.raises(ProviderError) as info:
        await smska_provider.send(outgoing("hello"))

    assert type(info.value) is OutcomeUnknown
    assert info.value.nothing_sent is False


# ------------------------------------------------------------------- status codes


@pytest.mark.parametrize(
    ("code", "name", "state", "final"),
    [
        ("3", "ACCEPTD", DeliveryState.ACCEPTED, False),
        ("4", "DELIVRD", DeliveryState.DELIVERED, True),
        ("5", "REJECTD", DeliveryState.REJECTED, True),
        ("6", "REJECTD", DeliveryState.REJECTED, True),
        ("7", "EXPIRED", DeliveryState.EXPIRED, True),
        ("8", "DELETED", DeliveryState.DELETED, True),
    ],
)
async def test_every_status_code_is_mapped(
    smska_provider: SmskaProvider,
    fake_gateways: FakeGateways,
    code: str,
    name: str,
    state: DeliveryState,
    final: bool,
) -> None:
    fake_gateways.queue_answer("smska", f"0|Status|{code}|{name}")

    status = await smska_provider.status("abc")

    assert status.state is state
    assert status.state.final is final
    assert (status.code, status.name) == (code, name)
    assert status.provider == "smska"


@pytest.mark.parametrize(
    ("answer", "code", "name"),
    [("0|Status|9|QUEUED", "9", "QUEUED"), ("0|Status|2", "2", ""), ("0|Status|12|X", "12", "X")],
)
async def test_unknown_status_code_is_unknown_not_final(
    smska_provider: SmskaProvider,
    fake_gateways: FakeGateways,
    answer: str,
    code: str,
    name: str,
) -> None:
    fake_gateways.queue_answer("smska", answer)

    status = await smska_provider.status("abc")

    assert status.state is DeliveryState.UNKNOWN
    assert status.state.final is False
    assert (status.code, status.name) == (code, name)


def test_status_without_name_gets_the_documented_one() -> None:
    assert parse_status_answer("0|Status|7") == (DeliveryState.EXPIRED, "7", "EXPIRED")


# ---------------------------------------------------------------- broken answers


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour.HTML_502,
        Behaviour.HTTP_500,
        Behaviour.EMPTY,
        Behaviour.GARBLED,
        Behaviour.TRUNCATED,
    ],
)
async def test_unreadable_send_answer_is_outcome_unknown(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways, behaviour: Behaviour
) -> None:
    fake_gateways.queue_behaviour("smska", behaviour)

    with pytest.raises(OutcomeUnknown) as info:
        await smska_provider.send(outgoing("hello"))

    assert info.value.nothing_sent is False
    assert info.value.raw is not None
    assert len(info.value.raw) <= RAW_PREVIEW_LIMIT
    assert info.value.raw.isprintable()
    assert len(fake_gateways.requests) == 1


@pytest.mark.parametrize("behaviour", [Behaviour.HTML_502, Behaviour.EMPTY, Behaviour.GARBLED])
async def test_unreadable_balance_or_status_is_a_protocol_error(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways, behaviour: Behaviour
) -> None:
    fake_gateways.queue_behaviour("smska", behaviour)
    fake_gateways.queue_behaviour("smska", behaviour)

    with pytest.raises(ProtocolError) as on_balance:
        await smska_provider.balance()
    with pytest.raises(ProtocolError):
        await smska_provider.status("abc")

    assert len(on_balance.value.raw) <= RAW_PREVIEW_LIMIT
    assert len(fake_gateways.requests) == 2


@pytest.fixture
async def slow_client() -> AsyncIterator[httpx.AsyncClient]:
    client = create_http_client(connect_timeout=1.0, read_timeout=0.3)
    try:
        yield client
    finally:
        await client.aclose()


async def test_read_timeout_on_send_is_outcome_unknown_one_request(
    smska_config: SmskaConfig, slow_client: httpx.AsyncClient, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_behaviour("smska", Behaviour.SLOW)

    with pytest.raises(OutcomeUnknown) as info:
        await SmskaProvider(smska_config, slow_client).send(outgoing("slow"))

    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    await asyncio.sleep(0.1)
    assert len(fake_gateways.requests) == 1
    assert [sms.text for sms in fake_gateways.sent.values()] == ["slow"]


async def test_dropped_send_is_outcome_unknown_one_request(
    smska_provider: SmskaProvider, fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_behaviour("smska", Behaviour.DROP)

    with pytest.raises(OutcomeUnknown):
        await smska_provider.send(outgoing("dropped"))

    await asyncio.sleep(0.05)
    assert len(fake_gateways.requests) == 1


async def test_refused_send_is_not_sent(
    smska_config: SmskaConfig, http_client: httpx.AsyncClient, refused_port: int
) -> None:
    config = dataclasses.replace(smska_config, url=f"http://127.0.0.1:{refused_port}/api/x.php")

    with pytest.raises(NotSent) as info:
        await SmskaProvider(config, http_client).send(outgoing("hello"))

    assert info.value.nothing_sent is True
    assert isinstance(info.value.__cause__, httpx.ConnectError)


# ---------------------------------------------------------- retries (mock transport)


class ScriptedTransport:
    """A handler for ``httpx.MockTransport``: the first ``failures`` calls raise."""

    def __init__(self, answer: str, failures: int, error: type[httpx.TransportError]) -> None:
        self.answer = answer
        self.failures = failures
        self.error = error
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if len(self.calls) <= self.failures:
            raise self.error("scripted failure", request=request)
        return httpx.Response(200, text=self.answer)


@contextlib.asynccontextmanager
async def mocked(script: ScriptedTransport) -> AsyncIterator[SmskaProvider]:
    config = SmskaConfig(
        api_key="k", api_password=SecretStr("p"), sender="S", url="http://smska.invalid/api"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        yield SmskaProvider(config, client)


async def test_balance_retries_a_connect_error() -> None:
    script = ScriptedTransport("0|Balance status|42", failures=1, error=httpx.ConnectError)

    async with mocked(script) as provider:
        balance = await provider.balance()

    assert balance.amount == Decimal(42)
    assert len(script.calls) == 2


async def test_status_retries_a_connect_error() -> None:
    script = ScriptedTransport("0|Status|4|DELIVRD", failures=1, error=httpx.ConnectTimeout)

    async with mocked(script) as provider:
        status = await provider.status("abc")

    assert status.state is DeliveryState.DELIVERED
    assert len(script.calls) == 2


async def test_send_never_retries_a_connect_error() -> None:
    script = ScriptedTransport(SEED_SEND, failures=1, error=httpx.ConnectError)

    with pytest.raises(NotSent):
        async with mocked(script) as provider:
            await provider.send(outgoing("hello"))

    assert len(script.calls) == 1


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError])
async def test_balance_is_not_retried_after_the_request_left(
    error: type[httpx.TransportError],
) -> None:
    script = ScriptedTransport("0|Balance status|42", failures=1, error=error)

    with pytest.raises(OutcomeUnknown):
        async with mocked(script) as provider:
            await provider.balance()

    assert len(script.calls) == 1


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
async def test_send_failing_after_the_request_left_is_outcome_unknown(
    error: type[httpx.TransportError],
) -> None:
    script = ScriptedTransport(SEED_SEND, failures=1, error=error)

    with pytest.raises(OutcomeUnknown):
        async with mocked(script) as provider:
            await provider.send(outgoing("hello"))

    assert len(script.calls) == 1


# ------------------------------------------------------------------- pure parsers


def test_parsers_on_the_seed_answers() -> None:
    assert parse_send_answer(SEED_SEND) == ("ah1acugxz98a27t9z", Decimal(7463))
    assert parse_send_answer("0|Message sent|abc") == ("abc", None)
    assert parse_balance_answer(SEED_BALANCE) == Decimal(7464)
    assert parse_status_answer(SEED_STATUS) == (DeliveryState.DELIVERED, "4", "DELIVRD")


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "0",
        "0|Message sent|",
        "0|Balance status|7463",
        "Message sent",
        "<html>502</html>",
    ],
)
def test_send_parser_protocol_errors(answer: str) -> None:
    with pytest.raises(ProtocolError):
        parse_send_answer(answer)


@pytest.mark.parametrize(
    "answer",
    ["", "0", "0|Balance status", "0|Balance status|x", "0|Balance status|Infinity", "0|Status|4"],
)
def test_balance_parser_protocol_errors(answer: str) -> None:
    with pytest.raises(ProtocolError):
        parse_balance_answer(answer)


@pytest.mark.parametrize("answer", ["", "0|Status", "0|Status|x|DELIVRD", "0|Balance status|4"])
def test_status_parser_protocol_errors(answer: str) -> None:
    with pytest.raises(ProtocolError):
        parse_status_answer(answer)


def test_undocumented_error_codes_are_protocol_errors() -> None:
    # GATEWAYS.md: "a known code is its error, any other answer is a protocol error".
    for parser in (parse_send_answer, parse_balance_answer, parse_status_answer):
        with pytest.raises(ProtocolError):
            parser("2|Something unexpected happened")


Parser = Callable[[str], object]

_ANSWERISH = st.lists(
    st.one_of(
        st.sampled_from(["0", "1", "3", "4", "9", "Message sent", "Balance status", "Status"]),
        st.text(alphabet="0123456789.,-eE abcINFnaf\ufeff\r\n", max_size=8),
        st.text(max_size=8),
    ),
    max_size=6,
).map("|".join)


@settings(max_examples=250, deadline=None)
@given(
    parser=st.sampled_from([parse_send_answer, parse_balance_answer, parse_status_answer]),
    raw=st.one_of(st.text(max_size=60), _ANSWERISH),
)
@example(parser=parse_balance_answer, raw="0|Balance status|sNaN")
@example(parser=parse_balance_answer, raw="0|Balance status|1e999999999")
@example(parser=parse_send_answer, raw="0|Message sent|x|Balance status|-Infinity")
@example(parser=parse_status_answer, raw="0|Status|²|X")
def test_parsers_never_raise_anything_else(parser: Parser, raw: str) -> None:
    error: ProviderError | None = None
    try:
        result = parser(raw)
    except ProviderError as exc:
        error = exc
    if error is not None:
        assert isinstance(error, GatewayRefused | ProtocolError)
        assert error.provider == "smska"
        assert len(error.raw) <= RAW_PREVIEW_LIMIT
        return
    if isinstance(result, Decimal):
        assert result.is_finite()
    elif parser is parse_send_answer:
        assert isinstance(result, tuple)
        message_id, balance = result
        assert isinstance(message_id, str)
        assert message_id
        assert balance is None or (isinstance(balance, Decimal) and balance.is_finite())
    else:
        assert isinstance(result, tuple)
        state, code, _name = result
        assert isinstance(state, DeliveryState)
        assert isinstance(code, str)
        assert code.isdigit()


_ID = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
_AMOUNT = st.integers(min_value=0, max_value=10**9)
_PAD = st.sampled_from(["", " ", "\ufeff", "\r\n", "\ufeff \r\n"])


@settings(max_examples=100, deadline=None)
@given(message_id=_ID, amount=_AMOUNT, before=_PAD, after=_PAD)
def test_send_round_trip(message_id: str, amount: int, before: str, after: str) -> None:
    raw = f"{before}0|Message sent|{message_id}|Balance status|{amount}{after}"
    assert parse_send_answer(raw) == (message_id, Decimal(amount))


@settings(max_examples=100, deadline=None)
@given(amount=_AMOUNT, before=_PAD, after=_PAD)
def test_balance_round_trip(amount: int, before: str, after: str) -> None:
    assert parse_balance_answer(f"{before}0|Balance status|{amount}{after}") == Decimal(amount)


@settings(max_examples=100, deadline=None)
@given(
    code=st.integers(min_value=0, max_value=99), name=st.from_regex(r"[A-Z]{0,8}", fullmatch=True)
)
def test_status_round_trip(code: int, name: str) -> None:
    state, got_code, got_name = parse_status_answer(f"0|Status|{code}|{name}")
    assert got_code == str(code)
    if 3 <= code <= 8:
        assert state is not DeliveryState.UNKNOWN
        assert state.final is (code != 3)
        assert got_name == (
            name or ["ACCEPTD", "DELIVRD", "REJECTD", "REJECTD", "EXPIRED", "DELETED"][code - 3]
        )
    else:
        assert state is DeliveryState.UNKNOWN
        assert got_name == name


async def test_a_success_with_an_unreadable_balance_keeps_the_message_id(
    fake_gateways: FakeGateways, smska_provider: SmskaProvider
) -> None:
    """The gateway accepted the message: an odd balance field must not make the send
    "outcome unknown" and throw the message id away."""
    fake_gateways.queue_answer("smska", "0|Message sent|ah1acugxz98a27t9z|Balance status|n/a")
    result = await smska_provider.send(outgoing("hello"))
    assert result.message_id == "ah1acugxz98a27t9z"
    assert result.balance is None


@pytest.mark.parametrize("balance", ["lots", "NaN", "7 463.5", "n/a"])
def test_send_parser_keeps_the_id_when_only_the_balance_is_unreadable(balance: str) -> None:
    assert parse_send_answer(f"0|Message sent|id|Balance status|{balance}") == ("id", None)
