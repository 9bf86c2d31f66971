"""The API in the bot's process (``python -m bot`` with HTTP_PORT) keeps serving while
Telegram cannot be reached."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx

from storage.db import Database
from tests.api.conftest import ROOT, START_TIMEOUT, ServeProcess, free_port, server_env
from tests.fakes.gateways import FakeGateways


async def test_the_bots_api_serves_while_telegram_is_unreachable(tmp_path: Path) -> None:
    db_path = tmp_path / "smsbot.sqlite3"
    async with FakeGateways() as gateways, Database(db_path):
        helper = ServeProcess(gateways, db_path)  # for its token helper only
        token = await helper.token("bot-process")
        port = free_port()
        env = {
            **server_env(gateways, db_path, port),
            "BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi",
            # nothing listens there: Telegram is unreachable for the whole test
            "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
        }
        log_path = tmp_path / "bot.log"
        with log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=ROOT, stdout=log, stderr=log
            )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
                deadline = asyncio.get_running_loop().time() + START_TIMEOUT
                while True:
                    assert proc.returncode is None, log_path.read_text()
                    assert asyncio.get_running_loop().time() < deadline, log_path.read_text()
                    try:
                        if (await http.get("/api/v1/openapi.json")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                sent = await http.post(
                    "/api/v1/messages",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"to": "79123456789", "text": "Telegram is down"},
                )
                assert sent.status_code == 202, sent.text
                await gateways.wait_for_requests(1, timeout=30)

            async def told_unreachable() -> None:
                while "Telegram is unreachable" not in log_path.read_text():
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(told_unreachable(), 30)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 30)
        assert proc.returncode == 0, log_path.read_text()
        assert [s.text for s in gateways.sent.values()] == ["Telegram is down"]
        assert token not in log_path.read_text()
