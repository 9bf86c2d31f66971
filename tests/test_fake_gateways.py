"""Tests of the fake SMS gateways (tests/fakes/gateways.py) over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.fakes.gateways import (
    SMSKA_ARGUMENTS_INVALID,
    SMSKA_AUTH_FAILED,
    SMSKA_INVALID_MSISDN,
    SMSKA_NO_CREDITS,
    SMSKA_SENDER_NOT_VALID,
    Behaviour,
    FakeGateways,
)

PROJECT_ID = 1234
SKEY = "test-skey"
API_KEY = "test"
API_PASSWORD = "test-password"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ROOT = Path(__file__).resolve().parent.parent


def smsrent_fields(
    msg: str,
    *,
    encoding: str = "utf-8",
    sender: str = "TestSender",
    to: str = "79123456789",
    project_id: int = PROJECT_ID,
    skey: str = SKEY,
    sign_skey: str = SKEY,
) -> dict[str, str]:
    """A send request signed as GATEWAYS.md decides: md5 over the bytes that are sent."""
    signed = (sender + to + msg + str(project_id)).encode(encoding)
    inner = hashlib.md5(sign_skey.encode()).hexdigest().encode()
    return {
        "sender": sender,
        "to": to,
        "msg": msg,
        "id": str(project_id),
        "skey": skey,
        "sign": hashlib.md5(signed + inner).hexdigest(),
        "in_enc": "UTF-8" if encoding == "utf-8" else "WINDOWS-1251",
    }


def smska_auth(**fields: str) -> dict[str, str]:
    return {"APIKey": API_KEY, "APIPassword": API_PASSWORD, **fields}


@pytest.fixture
async def fake() -> AsyncIterator[FakeGateways]:
    async with FakeGateways() as gateways:
        yield gateways


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as http:
        yield http


# ------------------------------------------------------------------------ smsrent


async def test_smsrent_utf8_send_is_accepted_and_recorded_intact(
    fake: FakeGateways, client: httpx.AsyncClient
) -> None:
    text = "Привет & +1 = 100% ✓ 🎉 a+b"
    response = await client.post(fake.smsrent_url, data=smsrent_fields(text))

    assert response.status_code == 200
    assert response.text == "499;100001"
    assert fake.smsrent_balance == 499
    [recorded] = fake.requests_for("smsrent")
    assert recorded.method == "POST"
    assert recorded.path == "/smsgateway/send.php"
    assert recorded.form["msg"] == text
    assert recorded.form["in_enc"] == "UTF-8"
    assert recorded.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert b"%26" in recorded.raw_body  # the & travelled encoded
    sms = fake.sent["100001"]
    assert (sms.gateway, sms.to, sms.text, sms.sender) == (
        "smsrent",
        "79123456789",
        text,
        "TestSender",
    )

    second = await client.post(fake.smsrent_url, data=smsrent_fields("again"))
    assert second.text == "498;100002"


async def test_smsrent_cp1251_send_verifies(fake: FakeGateways, client: httpx.AsyncClient) -> None:
    text = "Заказ №5 готов, ёлки & палки"
    body = urlencode(smsrent_fields(text, encoding="cp1251"), encoding="cp1251")

    response = await client.post(fake.smsrent_url, content=body.encode("ascii"), headers=FORM)

    assert response.text == "499;100001"
    assert fake.requests[0].form["msg"] == text
    assert fake.sent["100001"].text == text


async def test_smsrent_without_in_enc_defaults_to_cp1251(
    fake: FakeGateways, client: httpx.AsyncClient
) -> None:
    fields = smsrent_fields("Привет", encoding="cp1251")
    del fields["in_enc"]
    body = urlencode(fields, encoding="cp1251").encode("ascii")

    response = await client.post(fake.smsrent_url, content=body, headers=FORM)
    assert response.text == "499;100001"
    assert fake.sent["100001"].text == "Привет"


async def test_smsrent_utf8_text_signed_as_cp1251_is_refused(
    fake: FakeGateways, client: httpx.AsyncClient
) -> None:
    fields = smsrent_fields("Привет", encoding="cp1251")
    fields["in_enc"] = "UTF-8"  # httpx sends UTF-8, but the sign was over cp1251

    response = await client.post(fake.smsrent_url, data=fields)
    assert response.text == "Sign not valid"


async def test_smsrent_get_query_works(fake: FakeGateways, client: httpx.AsyncClient) -> None:
    response = await client.get(fake.smsrent_url, params=smsrent_fields("hi & bye"))

    assert response.text == "499;100001"
    assert fake.requests[0].method == "GET"
    assert fake.requests[0].form["msg"] == "hi & bye"


async def test_smsrent_wrong_sign(fake: FakeGateways, client: httpx.AsyncClient) -> None:
    fields = smsrent_fields("hello", sign_skey="another-key")

    response = await client.post(fake.smsrent_url, data=fields)

    assert response.text == "Sign not valid"
    assert fake.sent == {}
    assert fake.smsrent_balance == 500


@pytest.mark.parametrize(
    ("change", "answer"),
    [
        ({"msg": ""}, "Access denied! Empty request!"),
        ({"sign": ""}, "Access denied! Empty request!"),
        ({"project_id": 99}, "Access denied! Project type is not accepted!"),
        ({"skey": "wrong"}, "Access denied! Secret key is not valid!"),
    ],
)
async def test_smsrent_validation_errors(
    fake: FakeGateways,
    client: httpx.AsyncClient,
    change: dict[str, str | int],
    answer: str,
) -> None:
    msg = str(change.get("msg", "hello"))
    project_id = int(change.get("project_id", PROJECT_ID))
    fields = smsrent_fields(msg, project_id=project_id, skey=str(change.get("skey", SKEY)))
    if "sign" in change:
        fields["sign"] = str(change["sign"])

    response = await client.post(fake.smsrent_url, data=fields)

    assert response.text == answer
    assert fake.sent == {}


async def test_smsrent_ip_denied_and_empty_balance(
    fake: FakeGateways, client: httpx.AsyncClient
) -> None:
    fake.ip_denied = True
    denied = await client.post(fake.smsrent_url, data=smsrent_fields("x"))
    assert denied.text == "Access denied! IP=127.0.0.1 is not valid!"

    fake.ip_denied = False
    fake.smsrent_balance = 1
    last = await client.post(fake.smsrent_url, data=smsrent_fields("x"))
    assert last.text == "0;100001"
    empty = await client.post(fake.smsrent_url, data=smsrent_fields("x"))
    assert empty.text == "Balance is empty"
    assert list(fake.sent) == ["100001"]


# -------------------------------------------------------------------------- smska


async def test_smska_send_balance_query_round_trip(client: httpx.AsyncClient) -> None:
    async with FakeGateways(delivery_after=0.15) as fake:
        balance = await client.post(fake.smska_url, data=smska_auth(Action="balance"))
        assert balance.text == "0|Balance status|7464"

        text = "Проверка & 100% 🎉"
        sent = await client.post(
            fake.smska_url,
            data=smska_auth(Message=text, MSISDN="79041764995", SenderID="test"),
        )
        status, kind, msg_id, label, left = sent.text.split("|")
        assert (status, kind, label, left) == ("0", "Message sent", "Balance status", "7463")
        assert len(msg_id) == 17
        assert msg_id.isalnum()
        assert msg_id == msg_id.lower()
        assert fake.sent[msg_id].text == text
        assert fake.sent[msg_id].gateway == "smska"

        query = smska_auth(Action="query", BatchId=msg_id)
        accepted = await client.get(fake.smska_url, params=query)
        assert accepted.text == "0|Status|3|ACCEPTD"
        await asyncio.sleep(0.2)
        delivered = await client.get(fake.smska_url, params=query)
        assert delivered.text == "0|Status|4|DELIVRD"

        fake.set_status(msg_id, 5, "REJECTD")
        rejected = await client.post(fake.smska_url, data=query)
        assert rejected.text == "0|Status|5|REJECTD"

        after = await client.post(fake.smska_url, data=smska_auth(Action="balance"))
        assert after.text == "0|Balance status|7463"
        assert [r.form.get("Action", "send") for r in fake.requests_for("smska")] == [
            "balance",
            "send",
            "query",
            "query",
            "query",
            "balance",
        ]


@pytest.mark.parametrize(
    ("fields", "answer"),
    [
        ({"APIPassword": "nope", "Action": "balance"}, SMSKA_AUTH_FAILED),
        ({"Action": "query", "BatchId": "ah1acugxz98a27t9z"}, SMSKA_ARGUMENTS_INVALID),
        ({"MSISDN": "79041764995", "SenderID": "test"}, SMSKA_ARGUMENTS_INVALID),
        ({"Message": "x", "MSISDN": "+79041764995", "SenderID": "t"}, SMSKA_INVALID_MSISDN),
        ({"Message": "x", "MSISDN": "7904176", "SenderID": "t"}, SMSKA_INVALID_MSISDN),
        (
            {"Message": "x", "MSISDN": "79041764995", "SenderID": "TwelveChars!"},
            SMSKA_SENDER_NOT_VALID,
        ),
    ],
)
async def test_smska_errors(
    fake: FakeGateways, client: httpx.AsyncClient, fields: dict[str, str], answer: str
) -> None:
    response = await client.post(fake.smska_url, data=smska_auth(**fields))

    assert response.text == answer
    assert fake.sent == {}
    assert fake.smska_balance == 7464


async def test_smska_insufficient_credits(fake: FakeGateways, client: httpx.AsyncClient) -> None:
    fake.smska_balance = 0
    fields = smska_auth(Message="x", MSISDN="79041764995", SenderID="test")

    response = await client.post(fake.smska_url, data=fields)

    assert response.text == SMSKA_NO_CREDITS


# ------------------------------------------------------------------ fault injection


async def test_queued_answers_are_fifo_per_gateway(
    fake: FakeGateways, client: httpx.AsyncClient
) -> None:
    fake.queue_answer("smsrent", "Sign not valid")
    fake.queue_behaviour("smsrent", Behaviour.HTTP_500)
    fake.queue_answer("smsrent", "Error gateway:7", status=200)
    fake.queue_answer("smska", "3|Sent Error")
    assert fake.pending("smsrent") == 3

    smska = await client.post(fake.smska_url, data=smska_auth(Action="balance"))
    answers = [await client.post(fake.smsrent_url, data=smsrent_fields("x")) for _ in range(4)]

    assert smska.text == "3|Sent Error"
    assert [(r.status_code, r.text) for r in answers] == [
        (200, "Sign not valid"),
        (500, "Internal Server Error"),
        (200, "Error gateway:7"),
        (200, "499;100001"),
    ]
    assert fake.pending("smsrent") == 0
    assert list(fake.sent) == ["100001"]  # queued answers accept nothing


async def test_queue_rejects_unknown_gateway(fake: FakeGateways) -> None:
    with pytest.raises(ValueError, match="unknown gateway"):
        fake.queue_answer("smsru", "x")


@pytest.mark.parametrize(
    ("behaviour", "status", "body"),
    [
        (Behaviour.HTML_502, 502, "<html>"),
        (Behaviour.EMPTY, 200, ""),
        (Behaviour.GARBLED, 200, "\x00<?xml"),
        (Behaviour.HTTP_500, 500, "Internal Server Error"),
    ],
)
async def test_broken_answers_accept_nothing(
    fake: FakeGateways,
    client: httpx.AsyncClient,
    behaviour: Behaviour,
    status: int,
    body: str,
) -> None:
    fake.queue_behaviour("smsrent", behaviour)

    response = await client.post(fake.smsrent_url, data=smsrent_fields("x"))

    assert response.status_code == status
    assert response.text.startswith(body)
    assert fake.sent == {}
    assert len(fake.requests) == 1


async def test_truncated_answers_after_accepting(
    fake: FakeGateways, client: httpx.AsyncClient
) -> None:
    fake.queue_behaviour("smsrent", Behaviour.TRUNCATED)
    fake.queue_behaviour("smska", Behaviour.TRUNCATED)

    smsrent = await client.post(fake.smsrent_url, data=smsrent_fields("x"))
    smska = await client.post(
        fake.smska_url, data=smska_auth(Message="x", MSISDN="79041764995", SenderID="t")
    )

    assert (smsrent.text, smska.text) == ("49", "0|Message se")
    assert len(fake.sent) == 2


async def test_drop_closes_without_answer_but_records(
    fake: FakeGateways, client: httpx.AsyncClient
) -> None:
    fake.queue_behaviour("smsrent", Behaviour.DROP)
    text = "dropped & lost"

    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await client.post(fake.smsrent_url, data=smsrent_fields(text))

    [recorded] = fake.requests
    assert recorded.form["msg"] == text
    assert fake.sent["100001"].text == text  # the gateway did send it
    # The server keeps working for the next request.
    after = await client.post(fake.smsrent_url, data=smsrent_fields("next"))
    assert after.text == "498;100002"


async def test_slow_times_out_client_and_is_recorded_once(client: httpx.AsyncClient) -> None:
    async with FakeGateways(slow_seconds=0.5) as fake:
        fake.queue_behaviour("smska", Behaviour.SLOW)
        fields = smska_auth(Message="slow", MSISDN="79041764995", SenderID="t")
        started = time.monotonic()

        with pytest.raises(httpx.ReadTimeout):
            await client.post(fake.smska_url, data=fields, timeout=httpx.Timeout(2.0, read=0.1))

        assert time.monotonic() - started < 0.4
        assert len(fake.requests) == 1
        [sms] = fake.sent.values()
        assert sms.text == "slow"
        assert fake.smska_balance == 7463
    # stop() abandons the sleeping handler instead of waiting for it
    assert time.monotonic() - started < 0.4


async def test_slow_answers_after_slow_seconds(client: httpx.AsyncClient) -> None:
    async with FakeGateways(slow_seconds=0.1) as fake:
        fake.queue_behaviour("smsrent", Behaviour.SLOW)
        started = time.monotonic()
        response = await client.post(fake.smsrent_url, data=smsrent_fields("x"))
        assert response.text == "499;100001"
        assert time.monotonic() - started >= 0.1


async def test_hold_keeps_request_in_flight(fake: FakeGateways, client: httpx.AsyncClient) -> None:
    fake.hold = asyncio.Event()
    pending = asyncio.create_task(client.post(fake.smsrent_url, data=smsrent_fields("held")))

    await fake.wait_for_requests(1, timeout=1.0)
    await asyncio.sleep(0.05)
    assert not pending.done()
    assert fake.requests[0].form["msg"] == "held"
    assert fake.sent == {}  # the gateway works on it once released

    fake.hold.set()
    response = await asyncio.wait_for(pending, 1.0)
    assert response.text == "499;100001"


async def test_stop_abandons_held_requests(client: httpx.AsyncClient) -> None:
    fake = FakeGateways()
    await fake.start()
    fake.hold = asyncio.Event()
    pending = asyncio.create_task(client.post(fake.smsrent_url, data=smsrent_fields("x")))
    await fake.wait_for_requests(1, timeout=1.0)

    await asyncio.wait_for(fake.stop(), 1.0)

    with pytest.raises(httpx.TransportError):
        await pending


async def test_wait_for_requests_times_out(fake: FakeGateways) -> None:
    with pytest.raises(TimeoutError, match="expected 1 requests"):
        await fake.wait_for_requests(1, timeout=0.05)


async def test_latency_delays_every_answer(client: httpx.AsyncClient) -> None:
    async with FakeGateways(latency=0.1) as fake:
        started = time.monotonic()
        response = await client.post(fake.smska_url, data=smska_auth(Action="balance"))
        assert response.text == "0|Balance status|7464"
        assert time.monotonic() - started >= 0.1


async def test_unknown_path_is_404(fake: FakeGateways, client: httpx.AsyncClient) -> None:
    response = await client.get(f"http://127.0.0.1:{fake.port}/nope.php?a=1")

    assert response.status_code == 404
    assert fake.requests[0].gateway == "unknown"
    assert fake.requests_for("smsrent") == []


async def test_secrets_are_never_logged(
    fake: FakeGateways, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get(fake.smsrent_url, params=smsrent_fields("x"))
    await client.get(fake.smska_url, params=smska_auth(Action="balance"))
    fake.queue_behaviour("smska", Behaviour.DROP)
    with pytest.raises(httpx.TransportError):
        await client.get(fake.smska_url, params=smska_auth(Action="balance"))

    # Only the server side: httpx's own request log is the client's business.
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "tests.fakes.gateways" for r in server)  # it does log answers
    logged = "".join(f"{r.getMessage()} {r.exc_text or ''}" for r in server)
    assert SKEY not in logged
    assert API_PASSWORD not in logged


def test_runs_as_a_module() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.gateways", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            second = process.stdout.readline()
            assert first.startswith("smsrent: http://127.0.0.1:")
            smska_url = second.split()[1]
            assert smska_url.endswith("/api/httppost.php")
            answer = httpx.post(smska_url, data=smska_auth(Action="balance"), timeout=2.0)
            assert answer.text == "0|Balance status|7464"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=5) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
