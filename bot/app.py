"""Running the Telegram bot: ``python -m bot`` (or the ``smsbot`` script)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, BotCommandScopeDefault, User
from aiogram.utils.token import TokenValidationError
from aiohttp import web
from pydantic import SecretStr

from bot.core import Core, open_core
from bot.exit_codes import EXIT_CONFIG
from bot.factory import create_dispatcher
from bot.logging_setup import configure_logging, install_redacting_hooks, redact_loop_errors
from bot.ops import DISPATCHER_KEY, DispatcherState
from bot.settings import Settings
from bot.telegram import TelegramNotifier, build_bot, count_api_errors
from bot.web import create_web_app, run_web
from bot.webhook import (
    ForeignWebhook,
    WebhookRefused,
    add_webhook_route,
    leave_webhook,
    register_webhook,
)
from handlers.middlewares import InFlightMiddleware
from handlers.texts import LANGS, Lang, command_menu, menu_language_code
from services.domain import load_country_names
from services.sending import UNATTENDED_RESUME_MAX_AGE
from services.status import DeliveryTracker
from storage.db import DatabaseUnavailable, utcnow
from storage.ops import OpsQueries

log = logging.getLogger("bot")

#: the longest wait between two tries to reach Telegram at start
MAX_RETRY_SECONDS = 30.0


class NotTheBotApi(Exception):
    """``getMe`` at start was answered, but not as the Bot API answers it (a wrong
    TELEGRAM_API_URL path: 404/400, or a web page): a setting to fix, not an outage."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


#: The command menu per language, from the text catalogue.
COMMANDS: dict[Lang, list[tuple[str, str]]] = {lang: command_menu(lang) for lang in LANGS}


def run(settings: Settings) -> int:
    """Run the bot until SIGINT/SIGTERM. ``settings`` come from ``load_bot_settings``."""
    assert settings.bot_token is not None
    configure_logging(settings.log_level, settings.secret_values(), settings.log_format)
    install_redacting_hooks(settings.secret_values())
    try:
        bot = build_bot(settings.bot_token.get_secret_value(), settings.telegram_api_url)
    except TokenValidationError:
        print(
            "BOT_TOKEN does not look like a Telegram bot token (123456:ABC...): check it "
            "in @BotFather.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        asyncio.run(serve(settings, bot))
    except TelegramUnauthorizedError:
        print("Telegram refused BOT_TOKEN (unauthorized): check it in @BotFather.", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (ForeignWebhook, WebhookRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except NotTheBotApi as exc:
        answer = exc.answer
        for secret in settings.secret_values():
            answer = answer.replace(secret, "***")
        print(
            # The URL itself is not echoed: it may carry a user name and password.
            f"TELEGRAM_API_URL does not lead to the Telegram Bot API (getMe was answered: "
            f"{answer}): check the setting.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    return 0


async def serve(settings: Settings, bot: Bot) -> None:
    redact_loop_errors(settings.secret_values())
    try:
        async with open_core(settings) as core:
            notifier = TelegramNotifier(bot, core.store.messages)
            tracker = DeliveryTracker(core.status, core.store.messages, notifier)
            dp = create_dispatcher(core, tracker)
            runners: list[web.AppRunner] = []

            async def stop_http() -> None:
                # First of the shutdown: no API, Alertmanager or webhook request may
                # start a send after the sends in flight are drained (then it would be
                # cut off at exit); clients get "connection refused" and retry.
                for runner in runners:
                    if runner.server is not None:
                        await runner.cleanup()

            dp.shutdown.register(stop_http)  # before register_lifecycle's drain
            register_lifecycle(dp, core, bot, tracker, notifier)
            count_api_errors(bot, core.metrics.telegram_errors)
            receiving = watch_dispatcher(dp, settings)
            ops = OpsQueries(core.db)
            async with contextlib.AsyncExitStack() as web:
                if settings.http_port is not None:
                    app = create_web_app(core)
                    app[DISPATCHER_KEY] = receiving
                    if settings.webhook_url is not None and settings.webhook_secret is not None:
                        secret = settings.webhook_secret.get_secret_value()
                        add_webhook_route(app, dp, bot, settings.webhook_url, secret, receiving)
                    # Serves before and regardless of Telegram: monitoring needs it most
                    # when Telegram is out of reach.
                    runners.append(await web.enter_async_context(run_web(app, settings)))
                if await wait_for_telegram(bot) is None:
                    return  # SIGTERM/SIGINT while Telegram was unreachable
                if settings.webhook_url is not None and settings.webhook_secret is not None:
                    await run_webhook(
                        dp, bot, ops, receiving, settings.webhook_url, settings.webhook_secret
                    )
                    return
                await leave_webhook(bot, ops)
                await dp.start_polling(bot, handle_signals=True, close_bot_session=True)
    finally:
        # Also when start fails (a refused token): no "Unclosed client session".
        await bot.session.close()


def watch_dispatcher(dp: Dispatcher, settings: Settings) -> DispatcherState:
    """What ``/health`` reports of the dispatcher: running from its start-up to its
    shutdown."""
    receiving = DispatcherState("webhook" if settings.webhook_url is not None else "polling")

    async def started() -> None:
        receiving.running = True

    async def stopping() -> None:
        receiving.running = False

    dp.startup.register(started)
    dp.shutdown.register(stopping)
    return receiving


async def run_webhook(
    dp: Dispatcher,
    bot: Bot,
    ops: OpsQueries,
    receiving: DispatcherState,
    url: str,
    secret: SecretStr,
    stop: asyncio.Event | None = None,
) -> None:
    """Webhook mode: start the dispatcher, register the webhook, and receive updates
    on the HTTP server until SIGTERM/SIGINT (or ``stop``)."""
    await dp.emit_startup(bot=bot, dispatcher=dp, bots=[bot], **dp.workflow_data)
    try:
        await register_webhook(bot, dp, ops, url, secret.get_secret_value())
        log.info("receiving updates by webhook")
        await wait_for_signal(stop)
    finally:
        # Updates coming now are answered 503 (Telegram retries them) while the
        # handlers running finish.
        receiving.running = False
        await dp.emit_shutdown(bot=bot, dispatcher=dp, bots=[bot], **dp.workflow_data)


async def wait_for_signal(stop: asyncio.Event | None = None) -> None:
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def wait_for_telegram(bot: Bot, *, max_delay: float = MAX_RETRY_SECONDS) -> User | None:
    """``getMe`` until Telegram answers, as polling itself does: one warning a try,
    waiting 1 s, 2 s, 4 s ... up to ``max_delay``. ``None`` when SIGTERM/SIGINT came
    first. A refused token (``TelegramUnauthorizedError``) is raised at once; any other
    answer that is not the Bot API's (404, 400, a web page) raises ``NotTheBotApi``."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # start_polling installs its own handlers in their place.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    delay = 1.0
    while True:
        attempt = asyncio.ensure_future(bot.me())
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({attempt, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not attempt.done():
            attempt.cancel()
            with contextlib.suppress(BaseException):
                await attempt
            return None
        try:
            return attempt.result()
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            log.warning("Telegram is unreachable (%s): retrying in %g s", exc, delay)
        except TelegramUnauthorizedError:
            raise
        except TelegramAPIError as exc:
            answer = " ".join(exc.message.split())[:80]
            raise NotTheBotApi(answer or type(exc).__name__) from None
        except ClientDecodeError:
            raise NotTheBotApi("an answer that is not Bot API JSON") from None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return None
        delay = min(delay * 2, max_delay)


def register_lifecycle(
    dp: Dispatcher, core: Core, bot: Bot, tracker: DeliveryTracker, notifier: TelegramNotifier
) -> None:
    settings = core.settings
    tasks: list[asyncio.Task[None]] = []

    async def on_startup() -> None:
        me = await bot.me()  # fetched by wait_for_telegram
        for seeded in await core.users.seed_admins(settings.admin_ids):
            if seeded.made_admin:
                log.info("user %s is an admin (ADMIN_IDS)", seeded.user_id)
            elif not seeded.is_admin:
                log.warning(
                    "user %s is in ADMIN_IDS but an admin removed or demoted them: not restored "
                    "(python -m bot users admin %s does it)",
                    seeded.user_id,
                    seeded.user_id,
                )
        if not settings.admin_ids and not [u for u in await core.users.list() if u.is_admin]:
            log.warning("no admin yet: set ADMIN_IDS to your Telegram id to manage users")
        await set_commands(bot)
        # before the stop rule: what a stop left queued of an API or alert job is sent
        await core.sender.resume_unattended(max_age=UNATTENDED_RESUME_MAX_AGE)
        recovered = await core.sender.recover_interrupted(
            bot_starting=True, stale_after=settings.stale_send_age
        )
        if recovered:
            log.warning("%d send(s) were interrupted by the last stop", len(recovered))
        unreported = await core.store.messages.unreported(since=utcnow() - timedelta(days=2))
        if unreported:
            told = await notifier.report_unreported(unreported)
            log.warning(
                "%d sender(s) had no answer about a send; %d told now", len(unreported), told
            )
        if settings.allowed_countries:
            # the first refused country then reads its name without a wait
            tasks.append(asyncio.create_task(asyncio.to_thread(load_country_names)))
        waiting = await core.sender.waiting_jobs()
        if waiting:
            asked = await notifier.ask_about_waiting(waiting)
            log.warning(
                "%d job(s) were stopped before sending; %d owner(s) asked to send or drop them",
                len(waiting),
                asked,
            )
        await core.store.updates.prune()
        tasks.append(asyncio.create_task(tracker.run(), name="delivery-tracker"))
        log.info(
            "@%s started: gateways %s, default %s%s",
            me.username,
            ", ".join(core.gateways.names),
            core.gateways.default,
            f", failover {' > '.join(core.gateways.failover)}" if core.gateways.failover else "",
        )

    async def on_shutdown() -> None:
        # Polling has stopped; let the handlers running now finish (and reply) while
        # the Bot session is still open.
        in_flight: InFlightMiddleware = dp["in_flight"]
        if not await in_flight.wait(settings.shutdown_grace_seconds):
            log.warning("handlers still running at exit: their senders are told at the next start")
        await core.sender.drain_at_exit(settings.shutdown_grace_seconds)
        # Their sends have ended: the jobs' progress messages get their summaries.
        followers = dp["job_deps"].followers
        if not await followers.wait(min(5.0, settings.shutdown_grace_seconds)):
            log.warning("job progress messages not finished at exit: stopped")
        await followers.close()
        tracker.stop()
        for task in tasks:
            task.cancel()
        if tasks:
            _done, stuck = await asyncio.wait(tasks, timeout=5)
            if stuck:
                log.warning("background tasks did not stop in time: %s", stuck)
        log.info("stopped")

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)


async def set_commands(bot: Bot) -> None:
    try:
        for lang, commands in COMMANDS.items():
            await bot.set_my_commands(
                [BotCommand(command=c, description=d) for c, d in commands],
                scope=BotCommandScopeDefault(),
                language_code=menu_language_code(lang),
            )
    except TelegramAPIError as exc:  # the menu is a convenience; never a reason not to start
        log.warning("could not set the command menu: %s", exc)
