"""Acceptance attacks on the HTTP API of the running ``python -m bot serve``: inputs
the issue does not list, each answered with a 4xx problem that sends nothing."""

from __future__ import annotations

import asyncio
import itertools
import sys

import httpx
import pytest

from tests.api.conftest import ROOT, ServeProcess, free_port, server_env
from tests.api.test_alertmanager_process import fixture
from tests.api.test_api_process import assert_problem, bearer

pytestmark = pytest.mark.asyncio(loop_scope="module")

_names = itertools.count(1)


async def new_token(server: ServeProcess) -> str:
    return await server.token(f"acceptance-{next(_names)}")


async def nothing_sent(server: ServeProcess, requests_before: int, jobs_before: int) -> None:
    assert len(server.gateways.requests) == requests_before
    assert await server.count("SELECT COUNT(*) FROM jobs") == jobs_before


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"to": "79123456789", "text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"to": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b', "text": "x"}',
    ],
    ids=["array", "in-a-field", "objects"],
)
async def test_json_nested_too_deep_is_a_400_not_a_server_error(
    server: ServeProcess, client: httpx.AsyncClient, body: bytes
) -> None:
    token = await new_token(server)
    requests, jobs = len(server.gateways.requests), await server.count("SELECT COUNT(*) FROM jobs")
    answer = await client.post(
        "/api/v1/messages",
        content=body,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    problem = assert_problem(answer, 400)
    assert "nested" in problem["detail"]
    await nothing_sent(server, requests, jobs)


@pytest.mark.parametrize(
    "body",
    [
        b'{"to": "79123456781", "text": "hi", "to": "79123456782"}',
        b'{"to": "79123456781", "text": "one", "text": "two"}',
        b'{"to": "79123456781", "text": "hi", "gateway": "smska", "gateway": "smsrent"}',
        b'{"to": "79123456781", "text": "hi", "to": "79123456781"}',
    ],
    ids=["to", "text", "gateway", "same-value"],
)
async def test_a_field_given_twice_is_refused_not_guessed(
    server: ServeProcess, client: httpx.AsyncClient, body: bytes
) -> None:
    """Which of two "to" the sender meant cannot be known: the last one silently won."""
    token = await new_token(server)
    requests, jobs = len(server.gateways.requests), await server.count("SELECT COUNT(*) FROM jobs")
    answer = await client.post(
        "/api/v1/messages",
        content=body,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    problem = assert_problem(answer, 400)
    assert "more than once" in problem["detail"]
    await nothing_sent(server, requests, jobs)


@pytest.mark.parametrize(
    "query",
    [
        "to=79123456781&to=79123456782",
        "to=79123456781&to=",
        "to=79123456781&gateway=smska&gateway=smsrent",
    ],
    ids=["to", "to-blank", "gateway"],
)
async def test_alertmanager_parameters_given_twice_are_refused_not_half_used(
    server: ServeProcess, client: httpx.AsyncClient, query: str
) -> None:
    """``?to=A&to=B`` sent to A alone and answered 202, as if B had it too."""
    token = await new_token(server)
    requests, jobs = len(server.gateways.requests), await server.count("SELECT COUNT(*) FROM jobs")
    answer = await client.post(
        f"/api/v1/alertmanager?{query}", json=fixture("firing.json"), headers=bearer(token)
    )
    problem = assert_problem(answer, 400)
    assert "once" in problem["detail"]
    await nothing_sent(server, requests, jobs)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[" * 10_000 + b"]" * 10_000, b'{"version": "4"}', b'{"version": 4}'],
    ids=["not-json", "nested", "no-fields", "version-number"],
)
async def test_a_bad_notification_is_said_in_whole_sentences(
    server: ServeProcess, client: httpx.AsyncClient, body: bytes
) -> None:
    """ "…: the body is not JSON Nothing was sent." ran two sentences together."""
    token = await new_token(server)
    answer = await client.post(
        "/api/v1/alertmanager?to=79123456781",
        content=body,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    detail = assert_problem(answer, 400)["detail"]
    assert detail.endswith(". Nothing was sent."), detail
    assert ".." not in detail


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy"])
async def test_healthcheck_asks_the_local_server_not_a_proxy(
    server: ServeProcess, variable: str
) -> None:
    """A container with a proxy for its outgoing traffic (HTTP_PROXY) sent the health
    check's request for 127.0.0.1 to that proxy: a healthy server was called unhealthy."""
    env = server_env(server.gateways, server.db_path, server.port)
    env[variable] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "healthcheck",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    assert out.decode().strip() == "healthy"


@pytest.mark.parametrize(
    "to",
    [
        ["7912"] * 10_001,  # each refused, after a phone number check each
        ["79123456789"] * 10_001,  # one number, listed past the limit
        ",".join(["7912"] * 10_001),  # the same as one string
    ],
    ids=["refused", "duplicates", "string"],
)
async def test_a_list_past_max_recipients_is_refused_before_any_entry_is_checked(
    server: ServeProcess, client: httpx.AsyncClient, to: list[str] | str
) -> None:
    """Every entry was checked first: 300,000 of them (3 MB, under the body limit)
    held the server, every other client included, for half a minute."""
    token = await new_token(server)
    requests, jobs = len(server.gateways.requests), await server.count("SELECT COUNT(*) FROM jobs")
    answer = await client.post(
        "/api/v1/messages", json={"to": to, "text": "many"}, headers=bearer(token)
    )
    problem = assert_problem(answer, 422)
    assert problem["type"].endswith("too-many-recipients")
    assert "10000" in problem["detail"]
    await nothing_sent(server, requests, jobs)
