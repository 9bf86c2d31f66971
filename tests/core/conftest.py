"""Fixtures of the core tests: a clean environment, settings aimed at the fake
gateways, and a whole core (``open_core``) over a temporary database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from bot.core import Core, open_core
from bot.settings import Settings, setting_env_names
from tests.conftest import TEST_SENDER
from tests.fakes.gateways import FakeGateways

#: every environment variable the settings read (one per field)
SETTING_ENV_NAMES: tuple[str, ...] = setting_env_names()

RECIPIENT = "79123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's environment or a ``.env`` in the cwd."""
    for name in SETTING_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def gateway_settings(fake: FakeGateways, db_path: Path, **overrides: Any) -> Settings:
    """Settings with both real gateways configured against ``fake`` (no ``.env``)."""
    values: dict[str, Any] = {
        "smsrent_url": fake.smsrent_url,
        "smsrent_project_id": fake.smsrent_project_id,
        "smsrent_secret_key": fake.smsrent_secret_key,
        "smsrent_sender": TEST_SENDER,
        "smska_url": fake.smska_url,
        "smska_api_key": fake.smska_api_key,
        "smska_api_password": fake.smska_api_password,
        "smska_sender": TEST_SENDER,
        "database_path": db_path,
        "http_connect_timeout": 1.0,
        "http_read_timeout": 0.5,
        "sandbox_delivery_seconds": 0.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "smsbot.sqlite3"


@pytest.fixture
async def make_core(
    fake_gateways: FakeGateways, db_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Core]]]:
    """``await make_core(**settings_overrides)``: a core over the fake gateways,
    closed after the test."""
    stack: list[AbstractAsyncContextManager[Core]] = []

    async def build(**overrides: Any) -> Core:
        manager = open_core(gateway_settings(fake_gateways, db_path, **overrides))
        core = await manager.__aenter__()
        stack.append(manager)
        return core

    try:
        yield build
    finally:
        for manager in reversed(stack):
            await manager.__aexit__(None, None, None)


@pytest.fixture
async def core(make_core: Callable[..., Awaitable[Core]]) -> Core:
    """Both gateways, smsrent the default, no failover."""
    return await make_core(default_provider="smsrent")
