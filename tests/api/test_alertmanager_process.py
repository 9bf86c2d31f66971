"""Alertmanager's webhook against the running ``python -m bot serve``: the documented
payloads (tests/fixtures/alertmanager) posted with a real HTTP client, as Alertmanager
posts them, retries included."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.contacts import ContactBook
from services.domain import normalize_phone
from storage.audit import AuditLog
from storage.contacts import ContactRepository
from storage.db import Database
from tests.api.conftest import ServeProcess
from tests.api.test_api_process import assert_problem, bearer, sent_with

pytestmark = pytest.mark.asyncio(loop_scope="module")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager"
PETR, ANNA = "79123456781", "79123456782"


def fixture(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return payload


async def add_oncall(server: ServeProcess) -> None:
    """The group ``oncall`` (Petr and Anna), written as ``contacts add`` writes it."""
    async with Database(server.db_path) as db:
        book = ContactBook(ContactRepository(db), AuditLog(db), normalize_phone, {"smska"})
        for name, phone in (("Petr", PETR), ("Anna", ANNA)):
            await book.add(None, name, phone, ["oncall"])


async def sms_settled(server: ServeProcess, before: int, expected: int) -> int:
    """How many SMS the fake gateways accepted since ``before``, once ``expected`` new
    ones arrived (or 5 s); status requests of the delivery tracking do not count."""
    for _ in range(100):
        if len(server.gateways.sent) - before >= expected:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # and nothing more comes
    return len(server.gateways.sent) - before


async def test_firing_then_its_retry_then_resolved(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    await add_oncall(server)
    token = await server.token("alertmanager-main")
    url = "/api/v1/alertmanager?to=oncall,79123456783"
    firing = fixture("firing.json")
    before = len(server.gateways.sent)

    first = await client.post(url, json=firing, headers=bearer(token))
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["repeated"] is False
    assert body["text"].startswith("[FIRING:2] DiskFull: Disk almost full on db1")
    assert sorted(m["to"] for m in body["messages"]) == sorted([PETR, ANNA, "79123456783"])
    assert {m["name"] for m in body["messages"]} == {"Petr", "Anna", None}
    assert await sms_settled(server, before, 3) == 3
    assert sorted(sent_with(server, body["text"])) == sorted([PETR, ANNA, "79123456783"])

    # Alertmanager retries a notification that failed or timed out: the same
    # payload sends nothing again and is answered with the first job.
    before = len(server.gateways.sent)
    retries = await asyncio.gather(
        *(client.post(url, json=firing, headers=bearer(token)) for _ in range(3))
    )
    for retry in retries:
        assert retry.status_code == 200, retry.text
        assert retry.json()["repeated"] is True
        assert retry.json()["job_id"] == body["job_id"]
    assert await sms_settled(server, before, 1) == 0

    # (another token: the test server allows a token 5 SMS a minute)
    other = await server.token("alertmanager-second")
    resolved = await client.post(url, json=fixture("resolved.json"), headers=bearer(other))
    assert resolved.status_code == 202, resolved.text
    assert resolved.json()["text"].startswith("[RESOLVED")
    assert resolved.json()["job_id"] != body["job_id"]


async def test_grafanas_payload_is_taken(server: ServeProcess, client: httpx.AsyncClient) -> None:
    token = await server.token("grafana")
    answer = await client.post(
        "/api/v1/alertmanager?to=79123456784", json=fixture("grafana.json"), headers=bearer(token)
    )
    assert answer.status_code == 202, answer.text
    assert [m["to"] for m in answer.json()["messages"]] == ["79123456784"]


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ("?to=79123456785", b"not json", 400),
        ("?to=79123456785", json.dumps({"version": "4", "alerts": []}).encode(), 400),
        ("?to=79123456785", json.dumps({**fixture("firing.json"), "status": "odd"}).encode(), 400),
        ("", json.dumps(fixture("firing.json")).encode(), 422),
        ("?to=%20", json.dumps(fixture("firing.json")).encode(), 422),
        ("?to=nobody,79123456785", json.dumps(fixture("firing.json")).encode(), 422),
        ("?to=12", json.dumps(fixture("firing.json")).encode(), 422),
        ("?to=79123456785&gateway=nosuch", json.dumps(fixture("firing.json")).encode(), 422),
    ],
)
async def test_every_refusal_is_a_4xx_problem_and_sends_nothing(
    server: ServeProcess, client: httpx.AsyncClient, query: str, body: bytes, status: int
) -> None:
    token = await server.token(f"am-refusal-{abs(hash((query, body))) % 10**8}")
    jobs = await server.count("SELECT COUNT(*) FROM jobs")
    before = len(server.gateways.sent)
    answer = await client.post(
        "/api/v1/alertmanager" + query,
        content=body,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    problem = assert_problem(answer, status)
    assert "Nothing was sent" in problem["detail"]
    if "nobody" in query:
        assert [r["entry"] for r in problem["refused"]] == ["nobody"]
    assert await server.count("SELECT COUNT(*) FROM jobs") == jobs
    assert len(server.gateways.sent) == before


async def test_tokens_guard_the_receiver(server: ServeProcess, client: httpx.AsyncClient) -> None:
    url = "/api/v1/alertmanager?to=79123456786"
    payload = fixture("firing.json")
    assert_problem(await client.post(url, json=payload), 401)
    reader = await server.token("am-reader", frozenset({"read"}))
    assert_problem(await client.post(url, json=payload, headers=bearer(reader)), 403)
    assert sent_with(server, "x") == []
    assert await server.count("SELECT COUNT(*) FROM messages WHERE recipient = '79123456786'") == 0
