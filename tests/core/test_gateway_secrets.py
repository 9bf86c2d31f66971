"""Every adapter masks every configured secret (the bot token and the other
gateway's credential too) in the answers it passes on: a gateway, or a proxy in
front of it, may echo anything, and raw answers reach error texts and records."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.core import open_core
from services.sending import Origin
from tests.conftest import TEST_SENDER
from tests.core.conftest import RECIPIENT, gateway_settings
from tests.fakes.gateways import FakeGateways

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:BOT-token-secret-part"
HANG_GUARD = 30.0


def echo_of_every_secret(fake: FakeGateways) -> str:
    """An unparseable answer quoting every secret, raw and URL-encoded."""
    return (
        f"<html>proxy error: skey={fake.smsrent_secret_key} pass={fake.smska_api_password} "
        f"url=/bot{TOKEN}/getMe enc=/bot{TOKEN.replace(':', '%3A')}</html>"
    )


def assert_no_secret(text: str, fake: FakeGateways) -> None:
    for secret in (fake.smsrent_secret_key, fake.smska_api_password, "BOT-token-secret-part"):
        assert secret not in text


@pytest.mark.parametrize(("command", "provider"), [("balance", "smska"), ("send", "smska")])
async def test_command_line_masks_every_secret_in_a_gateway_answer(
    fake_gateways: FakeGateways, tmp_path: Path, command: str, provider: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_PATH": str(tmp_path / "cli.sqlite3"),
        "BOT_TOKEN": TOKEN,
        "SMSRENT_URL": fake_gateways.smsrent_url,
        "SMSRENT_PROJECT_ID": str(fake_gateways.smsrent_project_id),
        "SMSRENT_SECRET_KEY": fake_gateways.smsrent_secret_key,
        "SMSRENT_SENDER": TEST_SENDER,
        "SMSKA_URL": fake_gateways.smska_url,
        "SMSKA_API_KEY": fake_gateways.smska_api_key,
        "SMSKA_API_PASSWORD": fake_gateways.smska_api_password,
        "SMSKA_SENDER": TEST_SENDER,
    }
    fake_gateways.queue_answer(provider, echo_of_every_secret(fake_gateways))
    args = ["--provider", provider, "--json"]
    if command == "send":
        args = [RECIPIENT, "hello", *args]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        command,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), HANG_GUARD)
    text = out.decode() + err.decode()
    assert process.returncode not in (0, 1), text
    assert "proxy error" in text  # the raw answer is shown ...
    assert "***" in text  # ... with the secrets masked
    assert_no_secret(text, fake_gateways)
    # The record keeps no secret either.
    if command == "send":
        settings = gateway_settings(fake_gateways, tmp_path / "cli.sqlite3", bot_token=TOKEN)
        async with open_core(settings) as core:
            record = await core.store.messages.get(1)
        assert record is not None and record.error_text
        assert_no_secret(record.error_text, fake_gateways)


async def test_smsrent_masks_the_smska_password_and_the_token(
    fake_gateways: FakeGateways, db_path: Path
) -> None:
    settings = gateway_settings(fake_gateways, db_path, bot_token=TOKEN)
    fake_gateways.queue_answer("smsrent", echo_of_every_secret(fake_gateways))
    async with open_core(settings) as core:
        prepared = core.sender.prepare(RECIPIENT, "hello", "smsrent")
        outcome = await core.sender.send(prepared, Origin(source="cli"))
    assert outcome.error is not None
    raw = getattr(outcome.error, "raw", "")
    assert "proxy error" in raw
    assert_no_secret(str(outcome.error) + raw + (outcome.record.error_text or ""), fake_gateways)
