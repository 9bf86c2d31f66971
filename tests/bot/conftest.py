"""End-to-end harness for the bot: a real aiogram ``Dispatcher`` polls the fake Bot API
(tests/fakes/botapi.py) while the real services talk to the fake gateways
(tests/fakes/gateways.py), both over HTTP on 127.0.0.1.

A test asks for ``start_bot`` (a factory taking ``Settings`` overrides) or for ``harness``
(the defaults: no confirmation step), then drives the bot like a person would::

    reply = await harness.say(ADMIN, "/send 79123456789 hi")
    assert "#1" in reply.plain
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession

from bot.app import register_lifecycle
from bot.core import Core, open_core
from bot.factory import create_dispatcher
from bot.settings import Settings, load_settings
from bot.telegram import TelegramNotifier, build_bot
from services.status import DeliveryTracker
from tests.fakes.botapi import ApiCall, FakeBotApi, SentMessage, render_text
from tests.fakes.gateways import FakeGateways

ADMIN = 111
USER = 222
STRANGER = 999
PHONE = "79123456789"
SENDER = "TestSender"
#: The loggers of the project itself: an ERROR there means a handler or the tracker crashed.
PROJECT_LOGGERS = ("bot", "handlers", "services", "storage", "providers")

MessageState = tuple[str, int, str]


def _state(message: SentMessage) -> MessageState:
    return (message.text, len(message.edits), json.dumps(message.reply_markup, sort_keys=True))


def plain(message: SentMessage) -> str:
    """What the person sees: the message text with its HTML markup rendered."""
    return render_text(message.text, message.parse_mode)


def is_alert(params: dict[str, Any]) -> bool:
    """Whether an ``answerCallbackQuery`` call shows a pop-up (form data carries "true")."""
    return params.get("show_alert") in (True, "true", "True")


def buttons(message: SentMessage) -> list[str]:
    """The callback data of the message's inline buttons, row by row."""
    markup = message.reply_markup or {}
    return [
        str(button["callback_data"])
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]


@dataclass
class BotHarness:
    api: FakeBotApi
    gateways: FakeGateways
    core: Core
    bot: Bot
    dp: Dispatcher

    @property
    def settings(self) -> Settings:
        return self.core.settings

    def snapshot(self, chat_id: int) -> dict[int, MessageState]:
        return {m.message_id: _state(m) for m in self.api.messages_to(chat_id)}

    async def changed_since(
        self,
        chat_id: int,
        before: dict[int, MessageState],
        until: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> SentMessage:
        """The bot's newest message in ``chat_id`` that is new or edited since ``before``
        (and matches ``until``, if given)."""

        def fresh(message: SentMessage) -> bool:
            changed = before.get(message.message_id) != _state(message)
            return changed and (until is None or until(message))

        return await self.api.wait_for_message(chat_id, fresh, timeout=timeout)

    async def say(
        self,
        user_id: int,
        text: str,
        *,
        lang: str | None = "ru",
        reply_to: int | None = None,
        until: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> SentMessage:
        """Send ``text`` as ``user_id`` (in their private chat) and return the bot's next
        new or edited message there."""
        before = self.snapshot(user_id)
        self.api.send_text(user_id, text, language_code=lang, reply_to_message_id=reply_to)
        return await self.changed_since(user_id, before, until, timeout)

    async def press(
        self,
        user_id: int,
        message: SentMessage,
        data: str,
        *,
        lang: str | None = "ru",
        timeout: float = 5.0,
    ) -> ApiCall:
        """Press a button of the bot's ``message`` as ``user_id``; returns the bot's
        ``answerCallbackQuery`` call for that press."""
        seen = {id(call) for call in self.api.calls_of("answerCallbackQuery")}
        self.api.press_button(
            user_id, message.chat_id, message.message_id, data, language_code=lang
        )
        return await self.api.wait_for_call(
            "answerCallbackQuery", lambda call: id(call) not in seen, timeout=timeout
        )

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every queued update was fetched and its handler has finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        while quiet < 3:  # idle three looks in a row: nothing is still on its way
            busy = bool(self.api.pending_updates) or any(
                not task.done() for task in self.dp._handle_update_tasks
            )
            quiet = 0 if busy else quiet + 1
            if loop.time() > deadline:
                raise AssertionError("the bot did not finish its updates in time")
            await asyncio.sleep(0.02)

    def requests(self, gateway: str) -> int:
        return len(self.gateways.requests_for(gateway))

    def bot_messages(self, chat_id: int) -> list[SentMessage]:
        return self.api.messages_to(chat_id)


HarnessFactory = Callable[..., Awaitable[BotHarness]]


async def close_session(bot: Bot) -> None:
    """Close the bot's HTTP session. ``AiohttpSession.close`` then sleeps 0.25 s for TLS
    connections to wind down; over plain loopback HTTP there are none, so the aiohttp
    session is closed directly (a quarter of a second saved per test)."""
    session = bot.session
    if isinstance(session, AiohttpSession) and session._session is not None:
        await session._session.close()
    else:
        await session.close()


def bot_settings(
    api: FakeBotApi, gateways: FakeGateways, database: Path, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "bot_token": api.token,
        "telegram_api_url": api.base_url,
        "admin_ids": [ADMIN],
        "send_confirmation": False,
        "preview_ttl_seconds": 600,
        "smsrent_url": gateways.smsrent_url,
        "smsrent_project_id": gateways.smsrent_project_id,
        "smsrent_secret_key": gateways.smsrent_secret_key,
        "smsrent_sender": SENDER,
        "smsrent_encoding": "UTF-8",
        "smska_url": gateways.smska_url,
        "smska_api_key": gateways.smska_api_key,
        "smska_api_password": gateways.smska_api_password,
        "smska_sender": SENDER,
        "default_provider": None,
        "failover": [],
        "http_connect_timeout": 1.0,
        "http_read_timeout": 2.0,
        "sends_per_minute": 20,
        "sends_per_day": 200,
        # Tracking stays out of the way unless a test asks for it (its edits would race
        # with the replies a test waits for).
        "status_poll_first_seconds": 30.0,
        "status_poll_max_seconds": 60.0,
        "database_path": database,
        "shutdown_grace_seconds": 2.0,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def refused_url() -> str:
    """An http URL on a loopback port where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/httppost.php"


@pytest.fixture
async def start_bot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[HarnessFactory]:
    """``await start_bot(**settings_overrides, gateway_options={...})`` starts the fakes and
    the bot polling them; everything is stopped after the test."""
    caplog.set_level(logging.INFO)
    count = 0
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            *,
            gateway_options: dict[str, Any] | None = None,
            **overrides: Any,
        ) -> BotHarness:
            nonlocal count
            count += 1
            api = await stack.enter_async_context(FakeBotApi())
            options: dict[str, Any] = {"slow_seconds": 3.0, **(gateway_options or {})}
            gateways = await stack.enter_async_context(FakeGateways(**options))
            settings = bot_settings(api, gateways, tmp_path / f"bot{count}.sqlite3", **overrides)
            core_context = open_core(settings)
            core = await core_context.__aenter__()
            bot = build_bot(api.token, api.base_url)

            async def close() -> None:
                await asyncio.gather(close_session(bot), core_context.__aexit__(None, None, None))

            stack.push_async_callback(close)
            notifier = TelegramNotifier(bot, core.store.messages)
            tracker = DeliveryTracker(core.status, core.store.messages, notifier, idle_interval=0.5)
            dp = create_dispatcher(core, tracker)
            register_lifecycle(dp, core, bot, tracker, notifier)
            await core.store.users.ensure_admin(ADMIN)
            harness = BotHarness(api=api, gateways=gateways, core=core, bot=bot, dp=dp)
            polling = asyncio.create_task(
                dp.start_polling(
                    bot, handle_signals=False, polling_timeout=1, close_bot_session=False
                )
            )

            async def stop() -> None:
                with contextlib.suppress(AssertionError):
                    await harness.settle(timeout=3.0)
                if not polling.done():
                    with contextlib.suppress(RuntimeError):  # polling never started
                        await dp.stop_polling()
                await asyncio.wait_for(polling, timeout=5.0)

            stack.push_async_callback(stop)
            await api.wait_for_call("getUpdates", timeout=5.0)
            return harness

        yield start

    crashes = [
        record
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.name.split(".")[0] in PROJECT_LOGGERS
    ]
    assert not crashes, "the bot logged errors:\n" + "\n".join(
        f"{r.name}: {r.getMessage()}" for r in crashes
    )


@pytest.fixture
async def harness(start_bot: HarnessFactory) -> BotHarness:
    """The bot with its defaults for these tests: sends go out without a preview."""
    return await start_bot()
