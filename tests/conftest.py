"""Shared fixtures: the fake gateways over real HTTP, one http client, both adapters.

Keep this small and generic; a subfolder that needs more adds its own conftest.py.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from providers.http import create_http_client
from providers.smska import SmskaConfig, SmskaProvider
from providers.smsrent import SmsrentConfig, SmsrentProvider
from tests.fakes.gateways import FakeGateways

TEST_SENDER = "TestSender"


@pytest.fixture
async def fake_gateways() -> AsyncIterator[FakeGateways]:
    """Both fake gateways on 127.0.0.1 (an ephemeral port), stopped after the test."""
    # A SLOW answer waits this long; stop() abandons it, so it never delays teardown.
    async with FakeGateways(slow_seconds=5.0) as fake:
        yield fake


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    """The adapters' client with small timeouts (loopback answers take milliseconds)."""
    client = create_http_client(connect_timeout=1.0, read_timeout=2.0)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def refused_port() -> int:
    """A loopback port with nothing listening: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def smsrent_config(fake_gateways: FakeGateways) -> SmsrentConfig:
    """An smsrent configuration the fake accepts (vary it with ``dataclasses.replace``)."""
    return SmsrentConfig(
        project_id=fake_gateways.smsrent_project_id,
        secret_key=SecretStr(fake_gateways.smsrent_secret_key),
        sender=TEST_SENDER,
        url=fake_gateways.smsrent_url,
    )


@pytest.fixture
def smska_config(fake_gateways: FakeGateways) -> SmskaConfig:
    """An smska configuration the fake accepts (vary it with ``dataclasses.replace``)."""
    return SmskaConfig(
        api_key=fake_gateways.smska_api_key,
        api_password=SecretStr(fake_gateways.smska_api_password),
        sender=TEST_SENDER,
        url=fake_gateways.smska_url,
    )


@pytest.fixture
def smsrent_provider(
    smsrent_config: SmsrentConfig, http_client: httpx.AsyncClient
) -> SmsrentProvider:
    return SmsrentProvider(smsrent_config, http_client)


@pytest.fixture
def smska_provider(smska_config: SmskaConfig, http_client: httpx.AsyncClient) -> SmskaProvider:
    return SmskaProvider(smska_config, http_client)
