"""The HTTP API against the running ``python -m bot serve`` (see conftest.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import PER_MINUTE, ServeProcess

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROBLEM = "application/problem+json"
TO = "79123456789"
TO2 = "79123456780"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    assert isinstance(body["detail"], str) and body["detail"].endswith(".")
    return body


def sent_with(server: ServeProcess, text: str) -> list[str]:
    """The numbers the fake gateways accepted ``text`` for."""
    return [sms.to for sms in server.gateways.sent.values() if sms.text == text]


async def settled(client: httpx.AsyncClient, token: str, job_id: int) -> dict[str, Any]:
    """The job once none of its messages is queued or sending."""
    while True:
        job: dict[str, Any] = (
            await client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token))
        ).json()
        if not {"queued", "sending"} & set(job["states"]):
            return job
        await asyncio.sleep(0.05)


ROUTES = [
    ("POST", "/api/v1/messages", "send"),
    ("GET", "/api/v1/messages/1", "read"),
    ("GET", "/api/v1/jobs/1", "read"),
    ("GET", "/api/v1/balance", "read"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
async def test_a_missing_wrong_or_revoked_token_is_401_and_a_wrong_scope_403(
    server: ServeProcess, client: httpx.AsyncClient, method: str, path: str, scope: str
) -> None:
    body = {"to": TO, "text": "hi"}
    sent_before = len(server.gateways.requests)
    jobs_before = await server.count("SELECT COUNT(*) FROM jobs")

    missing = await client.request(method, path, json=body)
    assert_problem(missing, 401)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")

    for header in ("Bearer smsbot_nonsense", "Basic dXNlcjpwYXNz", "Bearer", "Token abc"):
        wrong = await client.request(method, path, json=body, headers={"Authorization": header})
        assert_problem(wrong, 401)
        assert "Bearer" in wrong.headers["WWW-Authenticate"]

    name = f"revoked-{scope}-{method}-{path.count('/')}-{len(path)}"
    token = await server.token(name)
    await server.revoke(name)
    revoked = await client.request(method, path, json=body, headers=bearer(token))
    assert 'error="invalid_token"' in revoked.headers["WWW-Authenticate"]
    assert "revoked" in assert_problem(revoked, 401)["detail"]

    other = "read" if scope == "send" else "send"
    limited = await server.token(f"only-{other}-{method}-{len(path)}", frozenset({other}))
    forbidden = await client.request(method, path, json=body, headers=bearer(limited))
    assert scope in assert_problem(forbidden, 403)["detail"]
    assert 'error="insufficient_scope"' in forbidden.headers["WWW-Authenticate"]

    assert len(server.gateways.requests) == sent_before
    assert await server.count("SELECT COUNT(*) FROM jobs") == jobs_before
    audit = [e.detail for e in await server.audit() if e.action.startswith("api_")]
    assert any(name in d and "revoked" in d for d in audit)
    assert any(f"only-{other}" in d for d in audit)
    for token_value in (token, limited):
        assert token_value not in server.logs()
        assert all(token_value not in d for d in audit)


BAD_REQUESTS: list[tuple[str, Any, dict[str, str], int, str]] = [
    ("not JSON", b"{bad", {}, 400, "bad-request"),
    ("not UTF-8", b'{"to": "\xff"}', {}, 400, "bad-request"),
    ("a list", [TO], {}, 400, "bad-request"),
    ("a string", "hello", {}, 400, "bad-request"),
    ("an unknown field", {"to": TO, "text": "x", "gatway": "smska"}, {}, 400, "bad-request"),
    ("no to", {"text": "x"}, {}, 400, "bad-request"),
    ("no text", {"to": TO}, {}, 400, "bad-request"),
    ("to a number", {"to": 79123456789, "text": "x"}, {}, 400, "bad-request"),
    ("to null", {"to": None, "text": "x"}, {}, 400, "bad-request"),
    ("to a list of numbers", {"to": [79123456789], "text": "x"}, {}, 400, "bad-request"),
    ("text a number", {"to": TO, "text": 5}, {}, 400, "bad-request"),
    ("gateway a number", {"to": TO, "text": "x", "gateway": 1}, {}, 400, "bad-request"),
    ("a long key", {"to": TO, "text": "x"}, {"Idempotency-Key": "k" * 201}, 400, "bad-request"),
    ("to empty", {"to": "", "text": "x"}, {}, 422, "invalid-recipients"),
    ("to an empty list", {"to": [], "text": "x"}, {}, 422, "invalid-recipients"),
    ("to a blank entry", {"to": [TO, " "], "text": "x"}, {}, 422, "invalid-recipients"),
    ("a bad number", {"to": [TO, "123"], "text": "x"}, {}, 422, "invalid-recipients"),
    ("an unknown name", {"to": f"{TO}, nobody", "text": "x"}, {}, 422, "invalid-recipients"),
    ("no such country", {"to": "+999 1234567", "text": "x"}, {}, 422, "invalid-recipients"),
    ("empty text", {"to": TO, "text": ""}, {}, 422, "invalid-message"),
    ("blank text", {"to": TO, "text": "   "}, {}, 422, "invalid-message"),
    ("too long text", {"to": TO, "text": "x" * 5000}, {}, 422, "invalid-message"),
    ("an unknown gateway", {"to": TO, "text": "x", "gateway": "nope"}, {}, 422, "unknown-gateway"),
    ("a blank gateway", {"to": TO, "text": "x", "gateway": ""}, {}, 422, "unknown-gateway"),
    (
        "an unconfigured gateway",
        {"to": TO, "text": "x", "gateway": "sandbox"},
        {},
        422,
        "unknown-gateway",
    ),
]


async def test_every_bad_request_is_a_problem_and_sends_nothing(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    token = await server.token("validation")
    sent_before = len(server.gateways.requests)
    jobs_before = await server.count("SELECT COUNT(*) FROM jobs")
    for label, body, headers, status, slug in BAD_REQUESTS:
        kwargs: dict[str, Any] = (
            {"content": body} if isinstance(body, bytes) else {"content": json.dumps(body)}
        )
        answer = await client.post(
            "/api/v1/messages", headers={**bearer(token), **headers}, **kwargs
        )
        problem = assert_problem(answer, status)
        assert problem["type"].endswith(slug), (label, problem)
    assert len(server.gateways.requests) == sent_before
    assert await server.count("SELECT COUNT(*) FROM jobs") == jobs_before


async def test_refused_recipients_are_listed_each_with_its_reason(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    token = await server.token("refusals")
    answer = await client.post(
        "/api/v1/messages",
        headers=bearer(token),
        json={"to": [TO, "123", "nobody", TO2], "text": "x"},
    )
    problem = assert_problem(answer, 422)
    assert [r["entry"] for r in problem["refused"]] == ["123", "nobody"]
    assert all(r["reason"] for r in problem["refused"])
    assert "Nothing was sent" in problem["detail"]


async def test_a_send_answers_202_at_once_and_its_states_can_be_read(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    token = await server.token("sender")
    answer = await client.post(
        "/api/v1/messages",
        headers=bearer(token),
        json={"to": f"{TO}, +7 912 345-67-80, 8 912 345 67 89", "text": "Server down"},
    )
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["total"] == 2 and job["gateway"] == "smska" and job["repeated"] is False
    assert [m["to"] for m in job["messages"]] == [TO, TO2]
    assert all(m["state"] in ("queued", "sending", "sent") for m in job["messages"])
    assert job["duplicates"] == [{"entry": "8 912 345 67 89", "same_as": TO}]

    read = await asyncio.wait_for(settled(client, token, job["id"]), 30)
    assert read["id"] == job["id"] and set(read["states"]) <= {"sent", "delivered"}
    message_id = job["messages"][0]["id"]
    message = (await client.get(f"/api/v1/messages/{message_id}", headers=bearer(token))).json()
    assert message["state"] in ("sent", "delivered") and message["job_id"] == job["id"]
    assert sorted(sent_with(server, "Server down")) == [TO2, TO]
    # serve tracks delivery as the bot does: smska reports it delivered

    async def delivered() -> None:
        state = message["state"]
        while state != "delivered":
            await asyncio.sleep(0.05)
            path = f"/api/v1/messages/{message_id}"
            state = (await client.get(path, headers=bearer(token))).json()["state"]

    await asyncio.wait_for(delivered(), 30)

    # Another token does not see this token's job or messages.
    other = await server.token("someone-else")
    assert_problem(await client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(other)), 404)
    assert_problem(await client.get(f"/api/v1/messages/{message_id}", headers=bearer(other)), 404)
    for path in (
        "/api/v1/jobs/999999",
        "/api/v1/messages/abc",
        "/api/v1/jobs/99999999999999999999",
    ):
        assert_problem(await client.get(path, headers=bearer(token)), 404)
    audit = [e.detail for e in await server.audit() if e.action == "api_send"]
    assert any("sender" in d and f"job {job['id']}" in d for d in audit)
    assert token not in server.logs()


async def test_a_repeated_idempotency_key_returns_the_first_job_and_sends_nothing(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    token = await server.token("repeater")
    body = {"to": [TO], "text": "once only", "gateway": "smsrent"}
    headers = {**bearer(token), "Idempotency-Key": "alert-42"}
    first = await client.post("/api/v1/messages", headers=headers, json=body)
    assert first.status_code == 202, first.text
    again = await client.post("/api/v1/messages", headers=headers, json=body)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["repeated"] is True
    assert [m["id"] for m in again.json()["messages"]] == [
        m["id"] for m in first.json()["messages"]
    ]

    other_body = await client.post(
        "/api/v1/messages", headers=headers, json={**body, "text": "another text"}
    )
    assert assert_problem(other_body, 409)["job_id"] == first.json()["id"]
    jobs = await server.count("SELECT COUNT(*) FROM jobs WHERE idempotency_key LIKE '%alert-42'")
    assert jobs == 1
    # The same key of another token is another key.
    second = await server.token("repeater-2")
    theirs = await client.post(
        "/api/v1/messages", headers={**bearer(second), "Idempotency-Key": "alert-42"}, json=body
    )
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]
    await asyncio.wait_for(settled(client, token, first.json()["id"]), 30)
    await asyncio.wait_for(settled(client, second, theirs.json()["id"]), 30)
    assert sent_with(server, "once only") == [TO, TO]  # once per token, never repeated


async def test_the_same_key_at_once_makes_one_job_and_one_sms(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    token = await server.token("racer")
    body = {"to": TO, "text": "at once"}
    headers = {**bearer(token), "Idempotency-Key": "same-moment"}
    answers = await asyncio.gather(
        *(client.post("/api/v1/messages", headers=headers, json=body) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 202]
    assert len({a.json()["id"] for a in answers}) == 1
    await asyncio.wait_for(settled(client, token, answers[0].json()["id"]), 30)
    assert sent_with(server, "at once") == [TO]


async def test_the_token_limit_answers_429_with_retry_after_and_sends_nothing(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    token = await server.token("limited")
    numbers = [f"7912345{n:04d}" for n in range(PER_MINUTE)]
    first = await client.post(
        "/api/v1/messages", headers=bearer(token), json={"to": numbers[:-1], "text": "x"}
    )
    assert first.status_code == 202, first.text
    jobs_before = await server.count("SELECT COUNT(*) FROM jobs")
    over = await client.post(
        "/api/v1/messages", headers=bearer(token), json={"to": [*numbers[-1:], TO], "text": "x"}
    )
    problem = assert_problem(over, 429)
    assert int(over.headers["Retry-After"]) >= 1 and problem["retry_after"] >= 1
    assert await server.count("SELECT COUNT(*) FROM jobs") == jobs_before
    # another token has its own limit
    fresh = await server.token("not-limited")
    ok = await client.post("/api/v1/messages", headers=bearer(fresh), json={"to": TO, "text": "x"})
    assert ok.status_code == 202
    await asyncio.wait_for(settled(client, token, first.json()["id"]), 30)
    await asyncio.wait_for(settled(client, fresh, ok.json()["id"]), 30)


async def test_balance_lists_every_gateway_and_names_one_that_fails(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    from tests.fakes.gateways import Behaviour

    token = await server.token("balances", frozenset({"read"}))
    server.gateways.queue_behaviour("smska", Behaviour.HTTP_500)
    answer = await client.get("/api/v1/balance", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    lines = {b["gateway"]: b for b in answer.json()["balances"]}
    assert set(lines) == {"smsrent", "smska"}
    assert "smska" in lines["smska"]["error"] and lines["smska"]["amount"] is None
    assert server.gateways.pending("smska") == 0  # the balance request got the 500
    assert "test-skey" not in answer.text and "test-password" not in answer.text


async def test_errors_of_aiohttp_itself_are_problems(
    server: ServeProcess, client: httpx.AsyncClient
) -> None:
    token = await server.token("large")
    assert_problem(await client.get("/api/v1/nothing"), 404)
    not_allowed = await client.delete("/api/v1/balance")
    assert_problem(not_allowed, 405)
    too_large = await client.post(
        "/api/v1/messages",
        headers=bearer(token),
        content=b"{" + b" " * (5 * 1024 * 1024) + b"}",
    )
    assert_problem(too_large, 413)


async def test_the_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["openapi"].startswith("3.1")


async def test_sigterm_stops_the_server_cleanly(server: ServeProcess) -> None:
    # Last in this module: the server does not serve after it.
    assert await server.stop() == 0
    assert "Traceback" not in server.logs()
