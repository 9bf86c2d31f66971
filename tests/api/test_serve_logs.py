"""``python -m bot serve`` honours LOG_FORMAT=json as the bot does: every line it logs
from start to stop is one JSON object."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import httpx

from storage.db import Database
from tests.api.conftest import ROOT, START_TIMEOUT, free_port, server_env
from tests.fakes.gateways import FakeGateways


async def test_serve_logs_json_lines_with_log_format_json(tmp_path: Path) -> None:
    db_path = tmp_path / "smsbot.sqlite3"
    async with FakeGateways() as gateways, Database(db_path):
        port = free_port()
        env = {**server_env(gateways, db_path, port), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        try:
            async with httpx.AsyncClient() as client, asyncio.timeout(START_TIMEOUT):
                while True:
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/health")).status_code:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode(errors="replace")
    lines = err.decode().splitlines()
    events = [json.loads(line) for line in lines]  # every line is JSON
    assert all(isinstance(e, dict) and {"time", "level", "message"} <= set(e) for e in events)
    assert any("stopped" in e["message"] for e in events)
