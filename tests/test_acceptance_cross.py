"""Acceptance across features: where the bot, ``python -m bot serve``, the command line
and the Alertmanager receiver meet on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core import Core, open_core
from bot.ops import health_report
from services.sending import Origin
from storage.messages import NewJob
from storage.models import MessageState
from tests.core.conftest import SETTING_ENV_NAMES, gateway_settings
from tests.fakes.gateways import FakeGateways

MakeCore = Callable[..., Awaitable[Core]]
API = Origin(source="api", api_token_id=None)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTING_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def make_core(fake_gateways: FakeGateways, tmp_path: Path) -> AsyncIterator[MakeCore]:
    """Cores over ONE database (the bot, ``serve``, the command line side by side)."""
    db_path = tmp_path / "data" / "smsbot.sqlite3"
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


def numbers(count: int) -> list[str]:
    return [f"7912345{index:04d}" for index in range(1, count + 1)]


@pytest.mark.parametrize("source", ["api", "alertmanager", "cli"])
async def test_a_live_jobs_queued_rows_are_not_failed_by_another_processs_reading(
    make_core: MakeCore, fake_gateways: FakeGateways, source: str
) -> None:
    """A job of ``serve`` (or of the Alertmanager receiver, or of the command line) whose
    rows wait for a slot longer than the stale age (1,000 numbers behind a slow gateway)
    is alive: the bot reading the same database (/history, /status, the tracker, its
    start) must not call the waiting rows 'stopped before sending', or they are never
    sent though the sender said they would be."""
    serve = await make_core(default_provider="smska", smska_concurrency=1)
    bot = await make_core(default_provider="smska")
    fake_gateways.hold = asyncio.Event()
    prepared = serve.sender.prepare(numbers(1)[0], "cross", "smska")
    started = await serve.sender.submit(numbers(3), prepared, Origin(source=source))
    await fake_gateways.wait_for_requests(1)
    # the bot reads long after (a stale age of zero stands for the time gone by)
    assert await bot.sender.recover_interrupted(bot_starting=True, stale_after=timedelta(0)) == []
    assert (
        await serve.sender.recover_interrupted(bot_starting=False, stale_after=timedelta(0)) == []
    )
    fake_gateways.hold.set()
    outcomes = await asyncio.wait_for(started.outcomes(), 20)
    assert [o.state for o in outcomes] == [MessageState.SENT] * 3
    assert len(fake_gateways.requests_for("smska")) == 3


async def test_a_job_its_owner_chose_not_to_send_does_not_make_health_fail(
    make_core: MakeCore,
) -> None:
    """A Stop, then "Don't send" (or ``job cancel``): the rows left become ``failed``
    (cancelled, nothing sent). That is the owner's choice, nothing bad about the
    gateway: /health stays 200 (a 503 restarts the container, pages the team)."""
    core = await make_core(default_provider="smska")
    owner = 7
    prepared = core.sender.prepare(numbers(1)[0], "stop me", "smska")
    started = await core.sender.submit(
        numbers(2), prepared, Origin(source="telegram", user_id=owner, chat_id=owner)
    )
    await asyncio.wait_for(started.outcomes(), 20)
    # a second job, stopped before any of it went out, then dropped by its owner
    created = await core.store.messages.create_job(
        NewJob(
            source="telegram",
            recipients=tuple(numbers(5)[2:]),
            text=prepared.text.text,
            encoding=prepared.text.encoding,
            parts=prepared.text.parts,
            provider="smska",
            user_id=owner,
            chat_id=owner,
        )
    )
    await core.jobs.stop(created.job.id, owner)
    assert len(await core.sender.cancel(created.job.id, owner)) == 3
    report = await health_report(core, None)
    assert report["problems"] == []
    assert report["gateways"]["smska"]["ok"] is True


async def test_revoking_a_token_stops_what_its_running_job_has_not_sent(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """A token revoked (it leaked) while ``serve`` sends its job of many: the request
    out finishes; nothing else of the job goes out, from this or another process; the
    rows left are ``failed`` (cancelled, nothing sent), so the caller's GET says so."""
    serve = await make_core(default_provider="smska", smska_concurrency=1)
    admin = await make_core(default_provider="smska")  # the bot or the command line
    created = await serve.tokens.create("crm", created_by=None)
    caller = await serve.tokens.authenticate(created.token)
    fake_gateways.hold = asyncio.Event()
    found = await serve.api.send(
        caller, numbers(4), "leaked", None, idempotency_key=None, request_hash="h"
    )
    await fake_gateways.wait_for_requests(1)
    assert await admin.tokens.revoke("crm", by=None) is not None
    fake_gateways.hold.set()
    await serve.sender.drain(20)
    assert len(fake_gateways.requests_for("smska")) == 1
    rows = await serve.store.messages.of_job(found.job.id)
    assert [r.state for r in rows] == [MessageState.SENT] + [MessageState.FAILED] * 3
    assert {r.error_kind for r in rows[1:]} == {"Cancelled"}
