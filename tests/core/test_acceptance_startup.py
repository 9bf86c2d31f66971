"""Acceptance: a TELEGRAM_API_URL that points at something that is not the Bot API
(a wrong path answered 404 or 400 by Telegram, a web server answering HTML) ends the
bot at start with one sentence naming the setting and exit 3: no traceback, no token."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from bot.exit_codes import EXIT_CONFIG
from tests.core.test_startup_faults import HANG_GUARD, ROOT, TOKEN, TOKEN_SECRET, clean_env

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(status: int, description: str) -> Handler:
    async def handle(_request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"ok": False, "error_code": status, "description": description}, status=status
        )

    return handle


def _html(status: int) -> Handler:
    async def handle(_request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=status, text="<html><body>nginx</body></html>", content_type="text/html"
        )

    return handle


ANSWERS: dict[str, Handler] = {
    "404 Not Found": _json(404, "Not Found"),
    "400 Bad Request": _json(400, "Bad Request: invalid method"),
    "403 Forbidden": _json(403, "Forbidden"),
    "an HTML page with 200": _html(200),
    "an HTML page with 404": _html(404),
}


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://operator:url-password@127.0.0.1:{port}/wrong/path"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("answer", list(ANSWERS))
async def test_a_url_that_is_not_the_bot_api_is_one_sentence_and_exit_3(
    tmp_path: Path, answer: str
) -> None:
    async with serving(ANSWERS[answer]) as url:
        env = clean_env(tmp_path / "smsbot.sqlite3", BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), HANG_GUARD)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    stderr = err.decode(errors="replace")
    assert proc.returncode == EXIT_CONFIG, stderr
    assert out == b""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "TELEGRAM_API_URL" in lines[0]
    assert "Traceback" not in stderr
    assert TOKEN_SECRET not in stderr
    assert "url-password" not in stderr
