"""Acceptance of ``python -m bot demo`` with odd input: what the bot answers to a
button press (a pop-up or a short notice on the phone) is shown in the terminal too,
or the person at the demo sees nothing happen when a press is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.test_demo import START_TIMEOUT, _demo, folder

__all__ = ["folder"]  # the fixture, shared with test_demo


async def test_the_answer_to_a_button_press_is_shown(folder: Path) -> None:
    lines = ["!press 1 nonsense", "/send 79123456789 hi", "!press 1"]
    proc = await _demo(folder)
    out, err = await asyncio.wait_for(
        proc.communicate("\n".join(lines).encode() + b"\n"), START_TIMEOUT
    )
    transcript = out.decode()
    assert proc.returncode == 0, transcript + err.decode()
    assert "(pop-up: This button is no longer valid. Nothing was done.)" in transcript
    assert "(notice: ⏳ Sending…)" in transcript
