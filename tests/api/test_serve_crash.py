"""``python -m bot serve`` killed with SIGKILL while an API job of several recipients
is under way (the gateway holding its first request, one slot): at the next start what
was left queued is sent (the caller got its 202 and will not retry, and nobody else can
be asked), the request that was out is never repeated (``unknown`` once its stale time passes), and nobody is
reached twice."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import httpx

from storage.db import Database
from storage.messages import MessageRepository
from storage.models import MessageState
from tests.api.conftest import ServeProcess
from tests.fakes.gateways import FakeGateways

NUMBERS = ["79123456780", "79123456781", "79123456782", "79123456783"]


async def test_serve_killed_mid_job_sends_the_rest_at_its_next_start(tmp_path: Path) -> None:
    db_path = tmp_path / "smsbot.sqlite3"
    async with FakeGateways() as gateways, Database(db_path):
        server = ServeProcess(gateways, db_path)
        server.extra_env["SMSKA_CONCURRENCY"] = "1"  # the rest of a job waits queued
        token = await server.token("crash")
        await server.start()
        gateways.hold = asyncio.Event()  # the first request stays out
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
            answer = await http.post(
                "/api/v1/messages",
                headers={"Authorization": f"Bearer {token}"},
                json={"to": NUMBERS, "text": "Disk full on db1"},
            )
        assert answer.status_code == 202, answer.text
        await gateways.wait_for_requests(1, timeout=30)
        assert await server.kill() == -signal.SIGKILL
        gateways.hold.set()

        await server.start()
        try:
            for _ in range(300):
                if len(gateways.sent) >= len(NUMBERS):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # nothing more goes out
        finally:
            assert await server.stop() == 0, server.logs()
        sent_to = Counter(sms.to for sms in gateways.sent.values())
        assert sorted(sent_to) == sorted(NUMBERS), server.logs()
        assert set(sent_to.values()) == {1}  # nobody twice
        async with Database(db_path) as db:
            rows = await MessageRepository(db).of_job(1)
        states = Counter(r.state for r in rows)
        # the request that was out: "sending" until its stale time, then "unknown";
        # never sent again either way
        assert states[MessageState.SENDING] + states[MessageState.UNKNOWN] == 1, states
        assert states[MessageState.SENT] + states[MessageState.DELIVERED] == 3, states
