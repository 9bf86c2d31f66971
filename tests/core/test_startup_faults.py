"""Faults at start, as real processes: an unusable database, a malformed Telegram
URL, Telegram unreachable or refusing the token, an exception nobody caught.

Each must end (or recover) within seconds with one plain sentence, never a hang,
never a traceback, never a secret. ``timeout=30`` on every run is a hang guard, not
a timing assertion. The bot imports aiogram (seconds per start): few bot starts here.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.exit_codes import EXIT_CONFIG
from storage.db import Database
from storage.schema import MIGRATIONS
from tests.fakes.botapi import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD = 30.0
TOKEN = "123456:SECRET-part-of-the-token"
TOKEN_SECRET = "SECRET-part-of-the-token"


def clean_env(db_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(db_path.parent),
        "LANG": "C.UTF-8",
        "DATABASE_PATH": str(db_path),
        "SANDBOX_DELIVERY_SECONDS": "0",
        **extra,
    }


def run_sync(
    args: Sequence[str], env: dict[str, str], prefix: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [*prefix, sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def without_privileges() -> list[str]:
    """Root ignores file modes; dropping the capabilities that let it (as
    ``setpriv`` does) makes a 0444 file really read-only to the child."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "running as root: setpriv (util-linux) is needed"
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


async def real_database(path: Path) -> None:
    async with Database(path) as db, db.transaction() as conn:
        for i in range(200):
            await conn.execute(
                "INSERT INTO audit (at, action, detail) VALUES ('2024-01-01', 'test', ?)",
                ("x" * 200 + str(i),),
            )


# ------------------------------------------------------------------ database


def _random_bytes(path: Path) -> list[str]:
    path.write_bytes(os.urandom(16384))
    return []


def _truncated(path: Path) -> list[str]:
    asyncio.run(real_database(path))
    data = path.read_bytes()
    assert len(data) > 16384
    path.write_bytes(data[: len(data) // 2])
    return []


def _directory(path: Path) -> list[str]:
    path.mkdir()
    return []


def _file_in_the_way(path: Path) -> list[str]:
    path.parent.write_text("not a folder")
    return []


def _read_only(path: Path) -> list[str]:
    asyncio.run(real_database(path))
    path.chmod(0o444)
    return without_privileges()


def _newer_schema(path: Path) -> list[str]:
    asyncio.run(real_database(path))
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    return []


DB_FAULTS = {
    "random bytes": (_random_bytes, "not an SQLite database"),
    "truncated": (_truncated, "corrupted"),
    "a directory": (_directory, "folder"),
    "a file where the folder should be": (_file_in_the_way, "cannot create the folder"),
    "read-only": (_read_only, "read-only"),
    "newer schema": (_newer_schema, "newer"),
}


@pytest.mark.parametrize("fault", list(DB_FAULTS))
def test_command_line_names_database_path_and_exits_3(tmp_path: Path, fault: str) -> None:
    make, reason = DB_FAULTS[fault]
    path = tmp_path / "in" / "smsbot.sqlite3"
    if fault != "a file where the folder should be":
        path.parent.mkdir()
    prefix = make(path)
    result = run_sync(["balance"], clean_env(path), prefix)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: DATABASE_PATH={path}: "), lines[0]
    assert reason in lines[0]


def test_command_line_json_reports_an_unusable_database(tmp_path: Path) -> None:
    path = tmp_path / "smsbot.sqlite3"
    path.mkdir()
    result = run_sync(["status", "1", "--json"], clean_env(path))
    assert result.returncode == EXIT_CONFIG
    assert '"error_kind": "DatabaseUnavailable"' in result.stdout
    assert "Traceback" not in result.stderr


def test_bot_with_a_corrupted_database_exits_3_with_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "smsbot.sqlite3"
    _random_bytes(path)
    env = clean_env(path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}")
    result = run_sync([], env)
    assert result.returncode == EXIT_CONFIG, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: DATABASE_PATH={path}: ")
    assert "not an SQLite database" in lines[0]


async def test_a_failed_connect_raises_the_typed_error_and_keeps_nothing_open(
    tmp_path: Path,
) -> None:
    from storage.db import DatabaseUnavailable  # here: the module imports without it

    path = tmp_path / "smsbot.sqlite3"
    _random_bytes(path)
    db = Database(path)
    with pytest.raises(DatabaseUnavailable) as caught:
        await db.connect()
    assert caught.value.reason.startswith("the file is not an SQLite database")
    with pytest.raises(RuntimeError, match="not connected"):
        _ = db.conn


# ------------------------------------------------------------------ URLs and secrets


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999",
        "ftp://x",
        "http://127.0.0.1:0",
        "http://",
        "http://127.0.0.1:8081/?x=1",
        "http://127.0.0.1:8081/#x",
    ],
)
def test_a_bad_telegram_api_url_is_refused_without_the_token(tmp_path: Path, url: str) -> None:
    env = clean_env(tmp_path / "smsbot.sqlite3", BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url)
    result = run_sync([], env)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert TOKEN_SECRET not in result.stderr + result.stdout
    assert "TELEGRAM_API_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


@pytest.mark.parametrize("variable", ["SMSRENT_URL", "SMSKA_URL"])
@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:0", "https://"])
def test_a_bad_gateway_url_names_the_setting(tmp_path: Path, variable: str, url: str) -> None:
    env = clean_env(tmp_path / "smsbot.sqlite3", **{variable: url})
    result = run_sync(["balance"], env)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


HOOKS_SCRIPT = f"""
import asyncio, threading
from bot.logging_setup import configure_logging, install_redacting_hooks, redact_loop_errors
secrets = [{TOKEN!r}, "rent:skey/1"]
configure_logging("INFO", secrets)
install_redacting_hooks(secrets)

def in_thread():
    raise ValueError("thread saw https://api.telegram.org/bot{TOKEN}/getMe")

thread = threading.Thread(target=in_thread, name="worker")
thread.start()
thread.join()

async def main():
    redact_loop_errors(secrets)
    loop = asyncio.get_running_loop()
    loop.call_exception_handler(
        {{"message": "loop saw {TOKEN}", "exception": KeyError("rent:skey/1")}}
    )

asyncio.run(main())
raise RuntimeError("main saw {TOKEN} and rent%3Askey%2F1 and rent:skey/1")
"""


def test_uncaught_exceptions_are_printed_with_every_secret_masked() -> None:
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", HOOKS_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert result.returncode == 1
    err = result.stderr
    assert "Exception in thread worker" in err and "ValueError: thread saw" in err
    assert "loop saw ***" in err and "KeyError" in err
    assert "RuntimeError: main saw *** and" in err
    assert TOKEN_SECRET not in err
    assert "skey" not in err


# ------------------------------------------------------------------ Telegram at start


class BotRun:
    """The real bot process, its stdout and stderr into one file."""

    def __init__(self, tmp_path: Path, api_url: str, token: str) -> None:
        self.log_path = tmp_path / "bot.log"
        self.env = clean_env(
            tmp_path / "smsbot.sqlite3",
            BOT_TOKEN=token,
            TELEGRAM_API_URL=api_url,
            ADMIN_IDS="111",
        )
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=ROOT, env=self.env, stdout=log, stderr=log
            )

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def wait_for_log(self, text: str) -> None:
        assert self.proc is not None
        async with asyncio.timeout(60):
            while text not in self.logs():
                assert self.proc.returncode is None, self.logs()
                await asyncio.sleep(0.1)

    async def wait(self) -> int:
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), HANG_GUARD)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await self.wait()


async def test_telegram_unreachable_at_start_is_retried_until_it_answers(tmp_path: Path) -> None:
    port = free_port()
    api = FakeBotApi(token=TOKEN)
    bot = BotRun(tmp_path, f"http://127.0.0.1:{port}", TOKEN)
    await bot.start()
    try:
        await bot.wait_for_log("Telegram is unreachable")
        await api.start(port)
        async with asyncio.timeout(60):
            await api.wait_for_call("getUpdates", timeout=60)
        api.send_text(111, "/start", language_code="en")
        answer = await api.wait_for_message(111, lambda m: True, timeout=15)
        assert answer.text
        assert await bot.stop() == 0
    finally:
        if bot.proc is not None and bot.proc.returncode is None:
            bot.proc.kill()
            await bot.proc.wait()
        await api.stop()
    logs = bot.logs()
    warnings = [line for line in logs.splitlines() if "Telegram is unreachable" in line]
    assert warnings and all("retrying in" in line for line in warnings)
    assert "Traceback" not in logs
    assert TOKEN_SECRET not in logs


async def test_sigterm_while_telegram_is_unreachable_stops_the_bot(tmp_path: Path) -> None:
    bot = BotRun(tmp_path, f"http://127.0.0.1:{free_port()}", TOKEN)
    await bot.start()
    await bot.wait_for_log("Telegram is unreachable")
    assert await bot.stop() == 0
    assert "Traceback" not in bot.logs()
    assert "Unclosed" not in bot.logs()


async def test_a_refused_token_is_one_sentence_and_exit_3(tmp_path: Path) -> None:
    wrong = "654321:WRONG-secret-token"
    async with FakeBotApi(token=TOKEN) as api:
        bot = BotRun(tmp_path, api.base_url, wrong)
        await bot.start()
        code = await bot.wait()
    logs = bot.logs()
    assert code == EXIT_CONFIG, logs
    lines = logs.splitlines()
    assert len(lines) == 1, logs
    assert "BOT_TOKEN" in lines[0]
    assert "Unclosed" not in logs
    assert "WRONG-secret-token" not in logs
