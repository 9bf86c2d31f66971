"""At SIGTERM the bot's process closes its HTTP server before it waits for the sends in
flight: no API request can start a send after that wait (it would be cut off at exit),
and every send it accepted is finished and recorded."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx

from storage.db import Database
from storage.messages import MessageRepository
from storage.models import MessageState
from tests.api.conftest import ROOT, START_TIMEOUT, ServeProcess, free_port, server_env
from tests.fakes.botapi import FakeBotApi
from tests.fakes.gateways import FakeGateways


async def test_sigterm_closes_the_api_before_draining_the_sends(tmp_path: Path) -> None:
    db_path = tmp_path / "smsbot.sqlite3"
    async with FakeBotApi() as api, FakeGateways() as gateways, Database(db_path):
        token = await ServeProcess(gateways, db_path).token("shutdown")
        port = free_port()
        env = {
            **server_env(gateways, db_path, port),
            "BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "SHUTDOWN_GRACE_SECONDS": "30",
        }
        log_path = tmp_path / "bot.log"
        with log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=ROOT, stdout=log, stderr=log
            )
        try:
            await api.wait_for_call("getUpdates", timeout=START_TIMEOUT)
            gateways.hold = asyncio.Event()  # the first send stays in flight
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
                headers = {"Authorization": f"Bearer {token}"}
                first = await http.post(
                    "/api/v1/messages", headers=headers, json={"to": "79123456789", "text": "1"}
                )
                assert first.status_code == 202, first.text
                await gateways.wait_for_requests(1, timeout=30)
                proc.send_signal(signal.SIGTERM)
                # While the first send is still held (so the drain is still waiting),
                # the API stops taking requests.
                async with asyncio.timeout(20):
                    while True:
                        try:
                            await http.post(
                                "/api/v1/messages",
                                headers=headers,
                                json={"to": "79123456780", "text": "late"},
                            )
                        except httpx.TransportError:
                            break
                        await asyncio.sleep(0.05)
                assert not gateways.hold.is_set()
            gateways.hold.set()
            assert await asyncio.wait_for(proc.wait(), 30) == 0, log_path.read_text()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        async with Database(db_path) as db:
            rows = await MessageRepository(db).recent(user_id=None, limit=50)
        # every send the API accepted was finished and recorded, none cut off
        assert rows and all(r.state is MessageState.SENT for r in rows), [
            (r.id, r.recipient, r.state) for r in rows
        ]
