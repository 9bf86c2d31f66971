"""``python -m bot demo``: the real bot in this terminal, no token and no account needed.

A Telegram stand-in (``bot.standin``) runs on 127.0.0.1 and the real bot (``bot.app.serve``:
its handlers, database and texts) polls it in the same event loop. The person at the
terminal is a Telegram user, and an admin; the bot's answers are printed, buttons are
pressed with ``!press N``. The demo always uses the sandbox gateway (nothing is really
sent, whatever ``.env`` or the environment say about gateways) and its own database,
emptied at each start, so it never touches the real one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from bot.exit_codes import EXIT_CONFIG, EXIT_OK
from bot.settings import ConfigError, Settings, load_settings
from bot.standin import CONSOLE_HELP, Console, FakeBotApi, read_lines, wait_for_answer

DEMO_DATABASE = Path("data/demo.sqlite3")
DEMO_USER_ID = 111


def demo_settings(api: FakeBotApi, user_id: int, database: Path) -> Settings:
    """The demo's settings: the stand-in, the sandbox only, its own database; ``.env``
    is not read (its gateway credentials must never be used by a demo)."""
    return load_settings(
        _env_file=None,
        bot_token=api.token,
        telegram_api_url=api.base_url,
        admin_ids=[user_id],
        smsrent_project_id=None,
        smsrent_secret_key=None,
        smsrent_sender=None,
        smska_api_key=None,
        smska_api_password=None,
        smska_sender=None,
        default_gateway="sandbox",
        default_provider="sandbox",
        failover=[],
        database_path=database,
        log_level=os.environ.get("LOG_LEVEL", "WARNING").strip().upper() or "WARNING",
    )


def fresh_database(path: Path) -> None:
    """The demo starts from an empty database each time (a new stand-in numbers its
    updates from the start again, which an old database would take as repeats)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def run_demo(args: argparse.Namespace) -> int:
    database = Path(args.database)
    try:
        fresh_database(database)
    except OSError as exc:
        print(f"error: cannot reset the demo database {database}: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return asyncio.run(_demo(args.user_id, args.lang, database))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:  # Ctrl-C before the bot handles signals itself
        return EXIT_OK


async def _demo(user_id: int, lang: str, database: Path) -> int:
    from bot.app import serve
    from bot.logging_setup import configure_logging
    from bot.telegram import build_bot

    api = FakeBotApi()
    console = Console(api, user_id=user_id, first_name="Demo", language_code=lang)
    api.on_message = console.show
    api.on_file = console.show_file
    api.on_callback_answer = console.show_callback_answer
    await api.start()
    try:
        settings = demo_settings(api, user_id, database)
        configure_logging(settings.log_level, settings.secret_values())
        if settings.log_level == "WARNING":  # "Received SIGINT signal" is no news here
            logging.getLogger("aiogram.dispatcher").setLevel(logging.ERROR)
        bot = build_bot(api.token, api.base_url)
        bot_task = asyncio.create_task(serve(settings, bot), name="bot")
        polling = asyncio.create_task(api.wait_for_call("getUpdates", timeout=30.0))
        await asyncio.wait({bot_task, polling}, return_when=asyncio.FIRST_COMPLETED)
        if bot_task.done():  # the bot could not start: its error is raised here
            polling.cancel()
            await bot_task
            return EXIT_OK
        await polling
        console.print(
            f"smsbot demo: you are Telegram user {user_id} (an admin), talking to the real bot.\n"
            f"Gateway: the sandbox (nothing is really sent). Database: {database} "
            "(emptied at each start).\n"
            "Type a message, e.g. /help or /send 79123456789 Hello; !help lists the console "
            "commands; Ctrl-D or Ctrl-C stops."
        )
        if sys.stdin.isatty():
            console.print(CONSOLE_HELP)
        await _console_loop(console, api, bot_task)
        if not bot_task.done():
            # The bot's own SIGINT handler (installed by aiogram's polling) stops it
            # gracefully: handlers and sends in flight finish and are recorded.
            signal.raise_signal(signal.SIGINT)
        await bot_task
        console.print("demo stopped.")
        return EXIT_OK
    finally:
        await api.stop()


async def _console_loop(console: Console, api: FakeBotApi, bot_task: asyncio.Task[None]) -> None:
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    threading.Thread(target=read_lines, args=(loop, lines), daemon=True, name="stdin").start()
    while not bot_task.done():
        getter = asyncio.ensure_future(lines.get())
        await asyncio.wait({getter, bot_task}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():  # the bot stopped (Ctrl-C)
            getter.cancel()
            return
        line = getter.result()
        if line is None or line.strip() == "!quit":
            return
        if not sys.stdin.isatty():
            console.print(f"> {line}")  # piped input: show what "the user" typed
        before = len(api.calls)
        if console.handle(line) and not await wait_for_answer(api, before):
            console.print("(no answer from the bot yet)")
