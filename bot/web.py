"""The HTTP server in the bot's process (aiohttp): off unless ``HTTP_PORT`` is set.

``create_web_app`` builds the application once per process; the API, health, metrics
and the Telegram webhook add their routes to it. ``run_web`` serves it for as long as
its ``async with`` block runs: it does not depend on Telegram being reachable.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from api.routes import setup_api
from bot.core import Core
from bot.ops import add_ops_routes
from bot.settings import Settings

log = logging.getLogger("bot.web")

#: The largest request body accepted (an Alertmanager notification with many alerts
#: fits; a recipient list is bounded by ``MAX_RECIPIENTS`` anyway).
MAX_BODY_BYTES = 4 * 1024 * 1024

CORE_KEY = web.AppKey("core", Core)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def create_web_app(core: Core) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[CORE_KEY] = core
    add_ops_routes(app, core)
    setup_api(app, tokens=core.tokens, api=core.api, balances=core.balances, alerts=core.alerts)
    return app


@asynccontextmanager
async def run_web(app: web.Application, settings: Settings) -> AsyncIterator[web.AppRunner]:
    """Serve ``app`` on ``HTTP_HOST:HTTP_PORT`` until the block ends."""
    assert settings.http_port is not None
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        log.info("HTTP server on %s:%s", settings.http_host, settings.http_port)
        if not _loopback(settings.http_host):
            log.warning(
                "HTTP_HOST=%s: /health and /metrics answer without a token on every "
                "interface; keep the port behind a proxy or a firewall that only lets "
                "the webhook's path and your monitoring through",
                settings.http_host,
            )
        yield runner
    finally:
        if runner.server is not None:  # not already stopped (the bot's shutdown does)
            await runner.cleanup()
