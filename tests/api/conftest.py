"""The HTTP API end to end: ``python -m bot serve`` as a subprocess against the fake
gateways, on a free port of 127.0.0.1, called with a real HTTP client (httpx).

One server (and one event loop) per test module: starting the process takes seconds.
Each test makes tokens of its own, so that quotas and ownership do not mix."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from bot.settings import setting_env_names
from services.limits import Limits
from services.tokens import DEFAULT_SCOPES, TokenService
from storage.audit import AuditEntry, AuditLog
from storage.db import Database
from storage.tokens import TokenRepository
from tests.conftest import TEST_SENDER
from tests.fakes.gateways import FakeGateways

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
#: the server's per-token limit per minute (API_SENDS_PER_MINUTE)
PER_MINUTE = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(gateways: FakeGateways, db_path: Path, port: int | None) -> dict[str, str]:
    names = {n.upper() for n in setting_env_names()}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(
        {
            "SMSRENT_URL": gateways.smsrent_url,
            "SMSRENT_PROJECT_ID": str(gateways.smsrent_project_id),
            "SMSRENT_SECRET_KEY": gateways.smsrent_secret_key,
            "SMSRENT_SENDER": TEST_SENDER,
            "SMSKA_URL": gateways.smska_url,
            "SMSKA_API_KEY": gateways.smska_api_key,
            "SMSKA_API_PASSWORD": gateways.smska_api_password,
            "SMSKA_SENDER": TEST_SENDER,
            "DEFAULT_PROVIDER": "smska",
            "DATABASE_PATH": str(db_path),
            "HTTP_READ_TIMEOUT": "5",
            "STATUS_POLL_FIRST_SECONDS": "0.2",
            "API_SENDS_PER_MINUTE": str(PER_MINUTE),
            "LOG_LEVEL": "DEBUG",
        }
    )
    if port is not None:
        env["HTTP_PORT"] = str(port)
    return env


class ServeProcess:
    def __init__(self, gateways: FakeGateways, db_path: Path) -> None:
        self.gateways = gateways
        self.db_path = db_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = db_path.parent / "serve.log"
        self.proc: asyncio.subprocess.Process | None = None
        #: settings of this server beyond ``server_env``'s
        self.extra_env: dict[str, str] = {}

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            env={**server_env(self.gateways, self.db_path, self.port), **self.extra_env},
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc.returncode is not None:
                    raise AssertionError(
                        f"serve exited with {self.proc.returncode}:\n{self.logs()}"
                    )
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"serve did not start:\n{self.logs()}")
                try:
                    answer = await client.get(f"{self.url}/api/v1/openapi.json")
                    if answer.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout=30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise

    async def kill(self) -> int:
        """SIGKILL: the process dies at once, whatever it was doing."""
        assert self.proc is not None
        self.proc.kill()
        return await self.proc.wait()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def token(self, name: str, scopes: frozenset[str] = DEFAULT_SCOPES) -> str:
        """A new token, made in the server's database as ``tokens create`` does."""
        async with Database(self.db_path) as db:
            service = TokenService(TokenRepository(db), AuditLog(db), Limits(0, 0))
            return (await service.create(name, scopes, created_by=None)).token

    async def revoke(self, name: str) -> None:
        async with Database(self.db_path) as db:
            service = TokenService(TokenRepository(db), AuditLog(db), Limits(0, 0))
            assert await service.revoke(name, by=None) is not None

    async def audit(self) -> list[AuditEntry]:
        async with Database(self.db_path) as db:
            return await AuditLog(db).recent(500)

    async def count(self, sql: str) -> int:
        async with Database(self.db_path) as db:
            row = await db.fetchone(sql)
            assert row is not None
            return int(row[0])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServeProcess]:
    db_path = tmp_path_factory.mktemp("api") / "smsbot.sqlite3"
    async with FakeGateways() as gateways:
        process = ServeProcess(gateways, db_path)
        # The schema exists before the first token is made.
        async with Database(db_path):
            pass
        try:
            await process.start()
            yield process
        finally:
            if process.proc is not None and process.proc.returncode is None:
                await process.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def client(server: ServeProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        yield http
