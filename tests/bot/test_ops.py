"""Health and metrics on the bot's HTTP server (issue 11): served by the real aiohttp
app in-process, asked over HTTP on 127.0.0.1, while the bot polls the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.ops import DISPATCHER_KEY, DispatcherState
from bot.telegram import count_api_errors
from bot.web import create_web_app
from tests.bot.conftest import ADMIN, PHONE, BotHarness, HarnessFactory
from tests.fakes.gateways import SMSKA_INVALID_MSISDN

Fetch = Callable[..., Any]


async def served(harness: BotHarness, dispatcher: DispatcherState | None) -> TestServer:
    app = create_web_app(harness.core)
    if dispatcher is not None:
        app[DISPATCHER_KEY] = dispatcher
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def get_json(http: ClientSession, server: TestServer, path: str) -> tuple[int, Any]:
    async with http.get(server.make_url(path)) as response:
        return response.status, await response.json()


async def settled(harness: BotHarness, message_id: int) -> None:
    """Wait (bounded) until send ``message_id`` has its result recorded."""
    for _ in range(250):
        record = await harness.core.store.messages.get(message_id)
        if record is not None and not record.state.in_flight:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"send #{message_id} did not settle")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


# ---------------------------------------------------------------------------- health


async def test_health_is_200_when_everything_works(
    harness: BotHarness, http: ClientSession
) -> None:
    await harness.say(ADMIN, f"/send {PHONE} health")
    await settled(harness, 1)
    server = await served(harness, DispatcherState("polling", running=True))
    try:
        status, body = await get_json(http, server, "/health")
    finally:
        await server.close()
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["problems"] == []
    assert body["database"]["writable"] is True
    assert body["dispatcher"] == {"applicable": True, "mode": "polling", "running": True}
    assert body["gateways"]["smsrent"]["last_result"] == "sent"
    assert body["gateways"]["smsrent"]["at"]
    assert body["gateways"]["smska"]["last_result"] is None  # nothing sent through it yet


async def test_health_without_a_dispatcher_says_not_applicable(
    harness: BotHarness, http: ClientSession
) -> None:
    server = await served(harness, None)
    try:
        status, body = await get_json(http, server, "/health")
    finally:
        await server.close()
    assert status == 200, body
    assert body["dispatcher"] == {"applicable": False}


async def test_health_is_503_naming_a_dispatcher_that_stopped(
    harness: BotHarness, http: ClientSession
) -> None:
    server = await served(harness, DispatcherState("webhook", running=False))
    try:
        status, body = await get_json(http, server, "/health")
    finally:
        await server.close()
    assert status == 503
    assert body["status"] == "failing"
    assert any("dispatcher" in problem for problem in body["problems"])


async def test_health_is_503_naming_a_database_that_cannot_be_written(
    harness: BotHarness, http: ClientSession
) -> None:
    server = await served(harness, DispatcherState("polling", running=True))
    await harness.core.db.conn.execute("PRAGMA query_only = ON")
    try:
        status, body = await get_json(http, server, "/health")
    finally:
        await harness.core.db.conn.execute("PRAGMA query_only = OFF")
        await server.close()
    assert status == 503, body
    assert body["database"]["writable"] is False
    assert any(problem.startswith("database:") for problem in body["problems"])


async def test_health_is_503_naming_a_gateway_whose_last_send_failed(
    harness: BotHarness, http: ClientSession
) -> None:
    harness.gateways.queue_answer("smsrent", "Balance is empty")
    await harness.say(ADMIN, f"/send {PHONE} no money")
    await settled(harness, 1)
    server = await served(harness, DispatcherState("polling", running=True))
    try:
        status, body = await get_json(http, server, "/health")
        assert status == 503, body
        assert body["gateways"]["smsrent"]["last_result"] == "failed"
        assert body["gateways"]["smsrent"]["ok"] is False
        assert [p for p in body["problems"] if p.startswith("gateway smsrent")]
        # The next send goes through: the gateway is healthy again.
        await harness.say(ADMIN, f"/send {PHONE} money again")
        await settled(harness, 2)
        status, body = await get_json(http, server, "/health")
        assert status == 200, body
    finally:
        await server.close()


async def test_a_refused_number_does_not_make_the_gateway_unhealthy(
    harness: BotHarness, http: ClientSession
) -> None:
    harness.gateways.queue_answer("smska", SMSKA_INVALID_MSISDN)
    await harness.say(ADMIN, f"/send smska {PHONE} bad number")
    await settled(harness, 1)
    record = await harness.core.store.messages.get(1)
    assert record is not None and record.error_kind == "InvalidRecipient", record
    server = await served(harness, DispatcherState("polling", running=True))
    try:
        status, body = await get_json(http, server, "/health")
    finally:
        await server.close()
    assert status == 200, body
    assert body["gateways"]["smska"]["last_result"] == "failed"


# --------------------------------------------------------------------------- metrics


async def test_metrics_count_a_send_and_a_failure(
    start_bot: HarnessFactory, http: ClientSession
) -> None:
    harness = await start_bot()
    count_api_errors(harness.bot, harness.core.metrics.telegram_errors)
    await harness.say(ADMIN, f"/send {PHONE} one")
    await settled(harness, 1)
    harness.gateways.queue_answer("smsrent", "Balance is empty")
    await harness.say(ADMIN, f"/send {PHONE} two")
    await settled(harness, 2)
    harness.api.fail_next["sendMessage"] = 500
    harness.api.send_text(ADMIN, "/help")
    await harness.settle()
    server = await served(harness, DispatcherState("polling", running=True))
    try:
        async with http.get(server.make_url("/metrics")) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    finally:
        await server.close()
    found = samples(text)
    sms = "smsbot_sms_total"
    assert found[(sms, (("gateway", "smsrent"), ("result", "accepted")))] == 1
    assert found[(sms, (("gateway", "smsrent"), ("result", "failed")))] == 1
    assert found[("smsbot_sms_state", (("state", "sent"),))] == 1
    assert found[("smsbot_sms_state", (("state", "failed"),))] == 1
    assert found[("smsbot_jobs_queued", ())] == 0
    assert found[("smsbot_sends_in_flight", ())] == 0
    latency = ("smsbot_gateway_request_seconds_count", (("gateway", "smsrent"),))
    assert found[latency] == 2
    errors = "smsbot_telegram_api_errors_total"
    labels = (("error", "TelegramServerError"), ("method", "SendMessage"))
    assert found[(errors, labels)] == 1
    # No URL and no secret in any label.
    assert harness.gateways.smsrent_secret_key not in text
    assert "/smsgateway" not in text
