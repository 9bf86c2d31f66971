"""``python -m bot serve``: the HTTP API without Telegram (no BOT_TOKEN, no aiogram).

It opens the same core as the bot, serves ``HTTP_HOST:HTTP_PORT`` and stops on
SIGTERM/SIGINT, letting the sends in flight record their result first."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import sys
from collections.abc import Sequence

from bot.core import open_core
from bot.exit_codes import EXIT_CONFIG, EXIT_USAGE
from bot.logging_setup import configure_logging, install_redacting_hooks, redact_loop_errors
from bot.settings import ConfigError, Settings, load_settings
from bot.web import create_web_app, run_web
from services.sending import UNATTENDED_RESUME_MAX_AGE
from services.status import DeliveryTracker
from storage.db import DatabaseUnavailable

log = logging.getLogger("bot.server")


class PortUnavailable(Exception):
    pass


def main(argv: Sequence[str] = ()) -> int:
    if list(argv) in (["-h"], ["--help"]):
        print(
            "usage: python -m bot serve\n\nRuns the HTTP API on HTTP_HOST:HTTP_PORT without "
            "Telegram (BOT_TOKEN is not needed) until SIGTERM or Ctrl+C."
        )
        return 0
    if argv:
        print(
            f"error: python -m bot serve takes no arguments (got {argv[0][:40]!r}).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if settings.http_port is None:
        print(
            "error: HTTP_PORT is not set: set it (for example HTTP_PORT=8080) to serve the "
            "HTTP API.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.secret_values(), settings.log_format)
    install_redacting_hooks(settings.secret_values())
    try:
        asyncio.run(serve(settings))
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except PortUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    return 0


async def serve(settings: Settings) -> None:
    redact_loop_errors(settings.secret_values())
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with open_core(settings) as core:
        # before the stop rule: what a stop left queued of an API or alert job is sent
        await core.sender.resume_unattended(max_age=UNATTENDED_RESUME_MAX_AGE)
        recovered = await core.sender.recover_interrupted(bot_starting=False)
        if recovered:
            log.warning("%d send(s) were interrupted by the last stop", len(recovered))
        # Delivery states come in as in the bot (no Telegram answers to edit here).
        tracker = DeliveryTracker(core.status, core.store.messages)
        tracking = asyncio.create_task(tracker.run(), name="delivery-tracker")
        try:
            async with run_web(create_web_app(core), settings):
                log.info("serving the HTTP API without Telegram; SIGTERM or Ctrl+C stops it")
                await stop.wait()
                log.info("stopping")
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise PortUnavailable(
                    f"cannot listen on {settings.http_host}:{settings.http_port} "
                    f"({exc.strerror}): choose another HTTP_PORT or HTTP_HOST."
                ) from None
            raise
        finally:
            tracker.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tracking, 5)
        await core.sender.drain_at_exit(settings.shutdown_grace_seconds)
        log.info("stopped")
