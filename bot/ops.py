"""``GET /health`` and ``GET /metrics`` on the process's HTTP server. Neither asks
for a token: keep ``HTTP_HOST`` on loopback, or behind a proxy that hides them.

Health is 200 when everything works and 503 naming what does not, as JSON:
``{"status": "ok"|"failing", "problems": [...], "database": {...},
"dispatcher": {...}, "gateways": {name: {...}}}``.

* database: a write transaction is opened (``BEGIN IMMEDIATE``) and rolled back,
  within ``HEALTH_DB_TIMEOUT`` seconds;
* dispatcher: in the bot, whether polling or the webhook is running; a process
  without a dispatcher (``python -m bot serve``) reports it as not applicable;
* gateways: each configured gateway's last settled send (from the database: its
  state and time). Its last send failing for the gateway's sake (refused
  credentials, no money, no connection, no answer) makes health 503; a refused
  number does not.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.core import Core
from services.kinds import ErrorKind
from storage.messages import CANCELLED
from storage.ops import OpsQueries

log = logging.getLogger("bot.ops")

#: the longest the health check waits for the database's write lock
HEALTH_DB_TIMEOUT = 2.0

#: a last send that failed with these says nothing bad about the gateway (``CANCELLED``:
#: its owner chose not to send what a stopped job left; nothing of it was requested)
_NOT_THE_GATEWAYS_FAULT: frozenset[str] = frozenset(
    {
        CANCELLED,
        ErrorKind.INVALID_RECIPIENT,
        ErrorKind.INVALID_REQUEST,
        ErrorKind.MESSAGE_NOT_FOUND,
        ErrorKind.INTERRUPTED,
        ErrorKind.NOT_STARTED,
        ErrorKind.RECORD_NOT_WRITTEN,
        ErrorKind.INTERNAL,
    }
)


@dataclass
class DispatcherState:
    """Set by the bot's start-up and shutdown: whether updates are being received."""

    mode: str  # "polling" or "webhook"
    running: bool = False


DISPATCHER_KEY = web.AppKey("dispatcher_state", DispatcherState)
OPS_CORE_KEY = web.AppKey("ops_core", Core)


def add_ops_routes(app: web.Application, core: Core) -> None:
    """``/health`` and ``/metrics`` on ``app``. The bot sets ``app[DISPATCHER_KEY]``
    before serving; without it the dispatcher is reported as not applicable."""
    app[OPS_CORE_KEY] = core
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)


async def health(request: web.Request) -> web.Response:
    report = await health_report(request.app[OPS_CORE_KEY], request.app.get(DISPATCHER_KEY))
    status = 200 if not report["problems"] else 503
    return web.json_response(report, status=status)


async def health_report(core: Core, dispatcher: DispatcherState | None) -> dict[str, Any]:
    problems: list[str] = []
    queries = OpsQueries(core.db)

    database: dict[str, Any] = {"writable": True}
    try:
        await queries.check_writable(HEALTH_DB_TIMEOUT)
    except TimeoutError:
        database = {"writable": False, "error": f"no write lock within {HEALTH_DB_TIMEOUT:g} s"}
    except (sqlite3.Error, OSError, RuntimeError) as exc:
        database = {"writable": False, "error": _one_line(exc)}
    if not database["writable"]:
        problems.append(f"database: {database['error']}")

    if dispatcher is None:
        receiving: dict[str, Any] = {"applicable": False}
    else:
        receiving = {"applicable": True, "mode": dispatcher.mode, "running": dispatcher.running}
        if not dispatcher.running:
            problems.append(f"dispatcher: {dispatcher.mode} is not running")

    gateways: dict[str, Any] = {}
    for name in core.gateways.names:
        entry: dict[str, Any] = {"last_result": None, "at": None}
        if database["writable"]:
            try:
                last = await queries.last_result(name)
            except (sqlite3.Error, OSError, RuntimeError) as exc:
                last = None
                log.warning("health: could not read %s's last send: %s", name, exc)
            if last is not None:
                kind = last.error_kind
                entry = {
                    "last_result": last.state,
                    "error": kind,
                    "message_id": last.message_id,
                    "at": last.at.isoformat(),
                }
                if last.state in ("failed", "unknown") and kind not in _NOT_THE_GATEWAYS_FAULT:
                    entry["ok"] = False
                    problems.append(
                        f"gateway {name}: last send #{last.message_id} {last.state} ({kind})"
                    )
                else:
                    entry["ok"] = True
        gateways[name] = entry

    return {
        "status": "ok" if not problems else "failing",
        "problems": problems,
        "database": database,
        "dispatcher": receiving,
        "gateways": gateways,
    }


async def metrics(request: web.Request) -> web.Response:
    core = request.app[OPS_CORE_KEY]
    queries = OpsQueries(core.db)
    try:
        counts = await queries.counts()
        queued = await queries.queued_jobs()
    except (sqlite3.Error, OSError, RuntimeError) as exc:
        log.warning("metrics: the database cannot be read: %s", exc)
        return web.Response(status=503, text=f"the database cannot be read: {_one_line(exc)}\n")
    core.metrics.update(counts, queued, core.sender.in_flight)
    body = generate_latest(core.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
