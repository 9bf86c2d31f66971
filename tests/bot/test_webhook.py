"""Telegram webhook mode against the fake Bot API (issue 11): the bot's own aiohttp app
served in-process on 127.0.0.1 and posted to over HTTP, as Telegram would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.app import register_lifecycle, run_webhook, watch_dispatcher
from bot.core import Core, open_core
from bot.factory import create_dispatcher
from bot.ops import DISPATCHER_KEY
from bot.settings import ConfigError, load_settings
from bot.telegram import TelegramNotifier, build_bot
from bot.web import create_web_app
from bot.webhook import (
    ForeignWebhook,
    WebhookRefused,
    add_webhook_route,
    leave_webhook,
    register_webhook,
)
from services.status import DeliveryTracker
from storage.ops import OpsQueries
from tests.bot.conftest import ADMIN, PHONE, bot_settings, close_session, plain
from tests.fakes.botapi import FakeBotApi
from tests.fakes.gateways import FakeGateways

URL = "https://bot.example.test/telegram/updates"
SECRET = "s3cret-token_for-the-webhook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class WebhookBot:
    api: FakeBotApi
    gateways: FakeGateways
    core: Core
    bot: Bot
    dp: Dispatcher
    server: TestServer
    http: ClientSession

    def update(self, user_id: int, text: str) -> dict[str, Any]:
        """A message update as Telegram would post it (built by the fake)."""
        update_id = self.api.send_text(user_id, text, language_code="en")
        return next(u for u in self.api.pending_updates if u["update_id"] == update_id)

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {HEADER: secret} if secret is not None else {}
        url = self.server.make_url("/telegram/updates")
        async with self.http.post(url, json=update, headers=headers) as response:
            return response.status


@pytest.fixture
async def webhook_bot(tmp_path: Path) -> AsyncIterator[WebhookBot]:
    async with contextlib.AsyncExitStack() as stack:
        api = await stack.enter_async_context(FakeBotApi())
        gateways = await stack.enter_async_context(FakeGateways())
        settings = bot_settings(
            api,
            gateways,
            tmp_path / "bot.sqlite3",
            webhook_url=URL,
            webhook_secret=SECRET,
            http_port=8443,
        )
        core = await stack.enter_async_context(open_core(settings))
        bot = build_bot(api.token, api.base_url)
        stack.push_async_callback(close_session, bot)
        notifier = TelegramNotifier(bot, core.store.messages)
        tracker = DeliveryTracker(core.status, core.store.messages, notifier, idle_interval=0.5)
        dp = create_dispatcher(core, tracker)
        register_lifecycle(dp, core, bot, tracker, notifier)
        receiving = watch_dispatcher(dp, settings)
        await core.store.users.ensure_admin(ADMIN)
        app = create_web_app(core)
        app[DISPATCHER_KEY] = receiving
        add_webhook_route(app, dp, bot, URL, SECRET, receiving)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        stack.push_async_callback(server.close)
        http = await stack.enter_async_context(ClientSession())
        stop = asyncio.Event()
        assert settings.webhook_secret is not None
        running = asyncio.create_task(
            run_webhook(dp, bot, OpsQueries(core.db), receiving, URL, settings.webhook_secret, stop)
        )

        async def finish() -> None:
            stop.set()
            await asyncio.wait_for(running, timeout=10)

        stack.push_async_callback(finish)
        await api.wait_for_call("setWebhook", timeout=5.0)
        yield WebhookBot(api, gateways, core, bot, dp, server, http)


async def test_setwebhook_carries_the_secret_and_the_update_types(webhook_bot: WebhookBot) -> None:
    webhook = webhook_bot.api.webhook
    assert webhook is not None
    assert webhook["url"] == URL
    assert webhook["secret_token"] == SECRET
    assert webhook["allowed_updates"] == webhook_bot.dp.resolve_used_update_types()
    assert "message" in webhook["allowed_updates"]
    assert "callback_query" in webhook["allowed_updates"]
    assert webhook.get("drop_pending_updates") in (None, False, "false")


async def test_an_update_with_the_right_secret_is_handled(webhook_bot: WebhookBot) -> None:
    status = await webhook_bot.post(webhook_bot.update(ADMIN, f"/send {PHONE} by webhook"))
    assert status == 200
    reply = await webhook_bot.api.wait_for_message(ADMIN, lambda m: "#1" in m.text)
    assert "#1" in plain(reply)
    assert len(webhook_bot.gateways.requests_for("smsrent")) == 1


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-of-the-same-size!", SECRET + "x"])
async def test_an_update_without_the_right_secret_is_refused(
    webhook_bot: WebhookBot, secret: str | None
) -> None:
    update = webhook_bot.update(ADMIN, f"/send {PHONE} forged")
    assert await webhook_bot.post(update, secret=secret) == 401
    # Not handled: the update was never recorded as seen, nothing sent, no answer.
    assert await webhook_bot.core.store.updates.first_time(update["update_id"])
    assert webhook_bot.gateways.requests_for("smsrent") == []
    assert webhook_bot.api.messages_to(ADMIN) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"update_id": "x"}',
        # nested too deep for json: a RecursionError, which was a 500 Telegram retries
        b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
async def test_a_body_that_is_not_an_update_is_answered_400(
    webhook_bot: WebhookBot, body: bytes
) -> None:
    url = webhook_bot.server.make_url("/telegram/updates")
    headers = {HEADER: SECRET, "Content-Type": "application/json"}
    async with webhook_bot.http.post(url, data=body, headers=headers) as response:
        assert response.status == 400
    assert await webhook_bot.post(webhook_bot.update(ADMIN, "/help")) == 200
    await webhook_bot.api.wait_for_message(ADMIN, lambda m: bool(m.text))


async def test_a_repeated_update_is_handled_once(webhook_bot: WebhookBot) -> None:
    update = webhook_bot.update(ADMIN, f"/send {PHONE} once")
    assert await webhook_bot.post(update) == 200
    await webhook_bot.api.wait_for_message(ADMIN, lambda m: "#1" in m.text)
    # Telegram posts it again (its answer to us was lost).
    assert await webhook_bot.post(update) == 200
    check = webhook_bot.update(ADMIN, "/help")
    assert await webhook_bot.post(check) == 200
    await webhook_bot.api.wait_for_message(ADMIN, lambda m: "#1" not in m.text)
    assert len(webhook_bot.gateways.requests_for("smsrent")) == 1
    assert len([m for m in webhook_bot.api.messages_to(ADMIN) if "#1" in m.text]) == 1


async def test_switching_to_polling_deletes_the_webhook_this_bot_set(
    webhook_bot: WebhookBot,
) -> None:
    ops = OpsQueries(webhook_bot.core.db)
    await leave_webhook(webhook_bot.bot, ops)
    assert webhook_bot.api.webhook is None
    assert webhook_bot.api.calls_of("deleteWebhook")
    assert await ops.get_state("webhook_url") is None
    # Nothing to remove the next time.
    await leave_webhook(webhook_bot.bot, ops)


async def test_polling_refuses_a_webhook_set_by_someone_else(webhook_bot: WebhookBot) -> None:
    webhook_bot.api.webhook = {"url": "https://other.example.test/hook"}
    with pytest.raises(ForeignWebhook, match=r"other\.example\.test"):
        await leave_webhook(webhook_bot.bot, OpsQueries(webhook_bot.core.db))
    assert webhook_bot.api.webhook is not None  # left alone
    assert not webhook_bot.api.calls_of("deleteWebhook")


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"webhook_url": "http://bot.example.test/hook"}, "https://"),
        ({"webhook_url": "https://bot.example.test/"}, "path of its own"),
        ({"webhook_url": "https://bot.example.test/health"}, "path of its own"),
        # the API's own paths: the server could not start (a route twice)
        ({"webhook_url": "https://bot.example.test/api/v1/messages"}, "path of its own"),
        ({"webhook_url": "https://bot.example.test/api/v1/alertmanager"}, "path of its own"),
        ({"webhook_url": "https://bot.example.test/api/telegram"}, "path of its own"),
        ({"webhook_secret": None}, "WEBHOOK_SECRET is required"),
        ({"webhook_secret": "short"}, "16 to 256"),
        ({"webhook_secret": "x" * 257}, "16 to 256"),
        ({"webhook_secret": "has spaces and ! in it"}, "A-Z a-z 0-9 _ -"),
        ({"http_port": None}, "HTTP_PORT is required"),
        ({"webhook_url": None}, "WEBHOOK_URL is not"),
    ],
)
def test_webhook_settings_are_checked(values: dict[str, Any], named: str) -> None:
    settings: dict[str, Any] = {
        "_env_file": None,
        "webhook_url": URL,
        "webhook_secret": "secret-value-not-echoed",
        "http_port": 8443,
        **values,
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(**settings)
    assert named in str(caught.value)
    assert "secret-value-not-echoed" not in str(caught.value)
    if values.get("webhook_secret"):
        assert str(values["webhook_secret"]) not in str(caught.value)


def test_the_webhook_secret_is_redacted_like_the_other_secrets() -> None:
    settings = load_settings(_env_file=None, webhook_url=URL, webhook_secret=SECRET, http_port=1)
    assert SECRET in settings.secret_values()


def test_a_blank_http_port_means_no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", " ")
    assert load_settings(_env_file=None).http_port is None


async def test_a_webhook_telegram_refuses_is_said_plainly(webhook_bot: WebhookBot) -> None:
    webhook_bot.api.fail_next["setWebhook"] = 400
    with pytest.raises(WebhookRefused, match="Telegram refused WEBHOOK_URL"):
        await register_webhook(
            webhook_bot.bot, webhook_bot.dp, OpsQueries(webhook_bot.core.db), URL, SECRET
        )
