"""The delivery tracker always stops: shutdown must never hang on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from providers.sandbox import SandboxProvider
from services.gateways import Gateways
from services.status import DeliveryTracker, StatusService
from storage.db import Database
from storage.messages import MessageRepository


async def _tracker(db: Database) -> DeliveryTracker:
    messages = MessageRepository(db)
    gateways = Gateways(providers={"sandbox": SandboxProvider()}, default="sandbox")
    return DeliveryTracker(StatusService(gateways, messages), messages, idle_interval=30)


async def test_stop_ends_the_loop_without_a_cancel(tmp_path: Path) -> None:
    async with Database(tmp_path / "t.sqlite3") as db:
        tracker = await _tracker(db)
        task = asyncio.create_task(tracker.run())
        await asyncio.sleep(0.05)
        tracker.stop()
        await asyncio.wait_for(task, timeout=2)
        assert task.done()
        assert not task.cancelled()


async def test_a_cancel_arriving_with_a_wake_still_stops_it(tmp_path: Path) -> None:
    async with Database(tmp_path / "t.sqlite3") as db:
        for _ in range(20):
            tracker = await _tracker(db)
            task = asyncio.create_task(tracker.run())
            await asyncio.sleep(0.01)
            tracker.wake()  # the event is set in the same turn as the cancel
            task.cancel()
            done, _pending = await asyncio.wait({task}, timeout=2)
            assert task in done
