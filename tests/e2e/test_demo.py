"""``python -m bot demo`` as a real process: a person's lines piped in, the transcript out.

It runs in an empty folder whose ``.env`` and environment point at a real-looking gateway
and database: the demo must use neither (the sandbox and its own database only)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

START_TIMEOUT = 60.0  # importing aiogram alone takes seconds on a busy machine


def _refused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with a ``.env`` holding a bot token, gateway credentials and a database
    path, as a real installation has."""
    gateway = f"http://127.0.0.1:{_refused_port()}/api/httppost.php"
    (tmp_path / ".env").write_text(
        "BOT_TOKEN=999999:REAL-token-never-used\n"
        f"SMSKA_URL={gateway}\nSMSKA_API_KEY=login\nSMSKA_API_PASSWORD=secret-pw\n"
        "SMSKA_SENDER=Real\nDEFAULT_PROVIDER=smska\nDATABASE_PATH=real.sqlite3\n",
        encoding="utf-8",
    )
    return tmp_path


def _env(folder: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "SMSRENT_PROJECT_ID": "1234",
        "SMSRENT_SECRET_KEY": "real-skey",
        "SMSRENT_SENDER": "Real",
        "DATABASE_PATH": str(folder / "real-env.sqlite3"),
    }


async def _demo(folder: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        *args,
        cwd=folder,
        env=_env(folder),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_demo_sends_through_the_sandbox_and_exits_at_end_of_input(folder: Path) -> None:
    lines = ["!help", "/start", "/send 79123456789 hi", "!press 1", "/status 1", "/history"]
    proc = await _demo(folder)
    out, err = await asyncio.wait_for(
        proc.communicate("\n".join(lines).encode() + b"\n"), START_TIMEOUT
    )
    transcript, errors = out.decode(), err.decode()

    assert proc.returncode == 0, transcript + errors
    assert "smsbot demo: you are Telegram user 111 (an admin)" in transcript
    assert "!press N" in transcript  # !help
    assert "I send SMS through the gateway sandbox." in transcript  # /start
    assert "/allow 123456789 Ivan — add a user" in transcript  # the console user is an admin
    assert "📨 Send this SMS?" in transcript
    assert "[1] ✅ Send   [2] ✖️ Cancel" in transcript
    assert "🧪 #1 accepted by the sandbox for +79123456789 — nothing was really sent." in (
        transcript
    )
    assert "Balance left: 999 SMS" in transcript
    assert "#1 → +79123456789 via sandbox" in transcript  # /status 1
    assert "#1 " in transcript.split("> /history", 1)[1]
    assert transcript.rstrip().endswith("demo stopped.")
    assert "Traceback" not in errors
    # Its own database; neither the .env's nor the environment's was touched.
    assert (folder / "data" / "demo.sqlite3").exists()
    assert not (folder / "real.sqlite3").exists()
    assert not (folder / "real-env.sqlite3").exists()
    for secret in ("secret-pw", "real-skey", "REAL-token"):
        assert secret not in transcript + errors


async def test_demo_starts_from_an_empty_database_each_time(folder: Path) -> None:
    for _ in range(2):
        proc = await _demo(folder, "--lang", "ru")
        out, _err = await asyncio.wait_for(
            proc.communicate(b"/send 79123456789 hi\n!press 1\n"), START_TIMEOUT
        )
        assert proc.returncode == 0
        # The second run is answered too (not taken for a repeat) and numbers from #1.
        assert "🧪 #1 принято тестовым шлюзом sandbox" in out.decode()


async def test_ctrl_c_stops_the_demo_cleanly(folder: Path) -> None:
    proc = await _demo(folder)
    assert proc.stdout is not None and proc.stdin is not None
    banner = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
    assert banner.startswith(b"smsbot demo:")
    proc.send_signal(signal.SIGINT)  # stdin stays open: only the signal stops it
    assert proc.stderr is not None
    out = await asyncio.wait_for(proc.stdout.read(), START_TIMEOUT)
    err = await asyncio.wait_for(proc.stderr.read(), START_TIMEOUT)
    assert await asyncio.wait_for(proc.wait(), START_TIMEOUT) == 0, (out + err).decode()
    assert b"demo stopped." in out
    assert b"Traceback" not in err
    proc.stdin.close()
