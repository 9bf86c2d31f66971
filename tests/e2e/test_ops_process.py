"""End to end (issue 11): the real bot process in webhook mode behind its HTTP server,
its health check command, its metrics and JSON logs, then the same bot back in polling
mode removing the webhook it set; all on 127.0.0.1 against the fakes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.fakes.botapi import FakeBotApi
from tests.fakes.gateways import FakeGateways

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 111
START_TIMEOUT = 60.0  # importing aiogram alone takes seconds on a busy machine
SECRET = "e2e-webhook-secret_0123456789"
URL = "https://bot.example.test/telegram/hook"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Processes:
    def __init__(self, api: FakeBotApi, gateways: FakeGateways, tmp: Path) -> None:
        self.log_path = tmp / "bot.log"
        self.port = free_port()
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SMS", "BOT_", "TELEGRAM_", "WEBHOOK_", "HTTP_", "LOG_"))
            },
            "BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "ADMIN_IDS": str(ADMIN),
            "SEND_CONFIRMATION": "false",
            "SMSRENT_URL": gateways.smsrent_url,
            "SMSRENT_PROJECT_ID": str(gateways.smsrent_project_id),
            "SMSRENT_SECRET_KEY": gateways.smsrent_secret_key,
            "SMSRENT_SENDER": "TestSender",
            "DATABASE_PATH": str(tmp / "smsbot.sqlite3"),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.port),
        }
        self.live: list[asyncio.subprocess.Process] = []

    async def start(self, **env: str) -> asyncio.subprocess.Process:
        log = self.log_path.open("ab")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env={**self.env, **env}, cwd=ROOT, stdout=log, stderr=log
        )
        log.close()
        self.live.append(proc)
        return proc

    async def healthcheck(self, **env: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "healthcheck",
            env={**self.env, **env},
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=START_TIMEOUT)
        assert proc.returncode is not None
        return proc.returncode, out.decode()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[FakeBotApi, FakeGateways, Processes]]:
    async with FakeBotApi() as api, FakeGateways() as gateways:
        processes = Processes(api, gateways, tmp_path)
        try:
            yield api, gateways, processes
        finally:
            for proc in processes.live:  # a failed test leaves no process behind
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


async def stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), timeout=30)


def update(api: FakeBotApi, text: str) -> dict[str, Any]:
    update_id = api.send_text(ADMIN, text, language_code="en")
    return next(u for u in api.pending_updates if u["update_id"] == update_id)


async def test_webhook_mode_health_metrics_logs_and_back_to_polling(
    world: tuple[FakeBotApi, FakeGateways, Processes],
) -> None:
    api, gateways, processes = world
    proc = await processes.start(WEBHOOK_URL=URL, WEBHOOK_SECRET=SECRET, LOG_FORMAT="json")
    hook = f"http://127.0.0.1:{processes.port}/telegram/hook"
    try:
        await api.wait_for_call("setWebhook", timeout=START_TIMEOUT)
        assert api.webhook is not None
        assert api.webhook["secret_token"] == SECRET
        assert not api.calls_of("getUpdates")
        async with ClientSession() as http:
            forged = update(api, "/send 79123456789 forged")
            async with http.post(
                hook, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "x" * 20}
            ) as r:
                assert r.status == 401
            async with http.post(hook, json=forged) as r:
                assert r.status == 401
            real = update(api, "/send 79123456789 by webhook")
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(hook, json=real, headers=headers) as r:
                assert r.status == 200
            reply = await api.wait_for_message(ADMIN, lambda m: "#1" in m.text, timeout=15)
            assert "#1" in reply.text
            assert len(gateways.requests_for("smsrent")) == 1  # the forged one never went
            code, out = await processes.healthcheck()
            assert code == 0, out
            async with http.get(f"http://127.0.0.1:{processes.port}/health") as r:
                health = await r.json()
            assert health["dispatcher"] == {"applicable": True, "mode": "webhook", "running": True}
            async with http.get(f"http://127.0.0.1:{processes.port}/metrics") as r:
                metrics = await r.text()
            assert 'smsbot_sms_total{gateway="smsrent",result="accepted"} 1.0' in metrics
    finally:
        assert await stop(proc) == 0, processes.logs()
    logs = processes.logs()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    accepted = [e for e in lines if e.get("result") == "accepted"]
    assert accepted and accepted[0]["gateway"] == "smsrent" and accepted[0]["user_id"] == ADMIN
    assert "latency_ms" in accepted[0] and "message_id" in accepted[0]
    for secret in (SECRET, api.token, gateways.smsrent_secret_key):
        assert secret not in logs

    # Nothing serves /health now: the check fails.
    code, out = await processes.healthcheck()
    assert code == 1 and "did not answer" in out
    # Without HTTP_PORT there is nothing to ask: healthy.
    code, out = await processes.healthcheck(HTTP_PORT="")
    assert code == 0, out

    # Back to polling: the webhook this bot set goes, and updates are polled again.
    proc = await processes.start()
    try:
        await api.wait_for_call("deleteWebhook", timeout=START_TIMEOUT)
        await api.wait_for_call("getUpdates", timeout=START_TIMEOUT)
        assert api.webhook is None
        api.send_text(ADMIN, "/help", language_code="en")
        await api.wait_for_message(ADMIN, lambda m: "#1" not in m.text, timeout=15)
    finally:
        assert await stop(proc) == 0, processes.logs()


async def test_polling_refuses_to_start_over_someone_elses_webhook(
    world: tuple[FakeBotApi, FakeGateways, Processes],
) -> None:
    api, _gateways, processes = world
    api.webhook = {"url": "https://other.example.test/hook"}
    proc = await processes.start()
    code = await asyncio.wait_for(proc.wait(), timeout=START_TIMEOUT)
    assert code == 3, processes.logs()
    assert "other.example.test" in processes.logs()
    assert api.webhook is not None
    assert not api.calls_of("getUpdates")
