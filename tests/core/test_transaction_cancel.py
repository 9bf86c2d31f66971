"""A task cancelled in the middle of a write must leave the shared connection usable."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from storage.audit import AuditLog
from storage.db import Database


async def test_a_cancel_during_a_write_leaves_the_connection_usable(tmp_path: Path) -> None:
    async with Database(tmp_path / "cancel.sqlite3") as db:
        audit = AuditLog(db)
        for turns in range(6):  # cancel at each await of the write, BEGIN included
            for _ in range(5):
                task = asyncio.create_task(audit.record(1, "cancelled"))
                for _ in range(turns):
                    await asyncio.sleep(0)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await audit.record(1, "after")  # raised "cannot start a transaction within a transaction"
        assert not db.conn.in_transaction
        entries = await audit.recent(limit=100)
        assert entries[0].action == "after"
