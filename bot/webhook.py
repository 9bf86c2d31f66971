"""Telegram webhook mode (``WEBHOOK_URL`` set), and leaving it for polling.

In webhook mode the bot serves the URL's path on its own HTTP server (``HTTP_PORT``,
behind the HTTPS proxy the URL names) with aiogram's ``SimpleRequestHandler``: a
request without the right ``X-Telegram-Bot-Api-Secret-Token`` is answered 401 and
not handled; one that comes while the dispatcher is starting or stopping is answered
503, which Telegram retries later. At start the bot calls ``setWebhook`` with the
secret and the update types its handlers use, keeping the updates Telegram holds
(``drop_pending_updates`` is not set: a message sent while the bot was down is still
answered, as in polling), and remembers the URL in the database (``bot_state``).

In polling mode a webhook on the token must go first (Telegram refuses
``getUpdates`` while one is set): the one this bot registered is deleted; one set by
someone else (another installation on the same token) stops the start with a
message saying so, rather than taking that installation's updates away.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramServerError
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.ops import DispatcherState
from storage.ops import OpsQueries

log = logging.getLogger("bot.webhook")

#: ``bot_state`` key of the webhook URL this bot registered
WEBHOOK_URL_KEY = "webhook_url"


class ForeignWebhook(Exception):
    """A webhook this bot did not set is registered for its token."""

    def __init__(self, url: str) -> None:
        self.host = urlsplit(url).hostname or "?"
        super().__init__(
            f"a webhook to {self.host} is set for this BOT_TOKEN, not by this bot: another "
            "installation may be receiving its updates in webhook mode. Stop it, or remove "
            "the webhook (Bot API deleteWebhook), or run this bot with WEBHOOK_URL set to "
            "that address."
        )


class WebhookRefused(Exception):
    """Telegram refused ``setWebhook`` (an address it cannot use, a bad secret)."""

    def __init__(self, answer: str) -> None:
        super().__init__(
            f"Telegram refused WEBHOOK_URL ({answer}): it must be a public https:// address "
            "with a valid certificate, on port 443, 80, 88 or 8443."
        )


class WebhookHandler(SimpleRequestHandler):
    """aiogram's handler, answering 503 while the dispatcher is not running. The bot's
    session is closed by ``bot.app.serve``, not when the web server stops."""

    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, secret: str, receiving: DispatcherState
    ) -> None:
        super().__init__(dispatcher=dispatcher, bot=bot, secret_token=secret)
        self._receiving = receiving

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not self.verify_secret(secret, bot):
            log.warning("webhook: a request without the right secret token: refused (401)")
            return web.Response(text="Unauthorized", status=401)
        if not self._receiving.running:
            return web.Response(text="starting or stopping: try again later", status=503)
        try:
            Update.model_validate(await request.json(), context={"bot": bot})
        except (ValueError, RecursionError):  # not JSON (or nested too deep), not an update
            return web.Response(text="not a Telegram update", status=400)
        return await super().handle(request)

    async def close(self) -> None:
        return None


def add_webhook_route(
    app: web.Application,
    dp: Dispatcher,
    bot: Bot,
    url: str,
    secret: str,
    receiving: DispatcherState,
) -> None:
    """Serve Telegram's updates on ``url``'s path of ``app`` (before it starts)."""
    WebhookHandler(dp, bot, secret, receiving).register(app, path=urlsplit(url).path)


async def register_webhook(
    bot: Bot, dp: Dispatcher, ops: OpsQueries, url: str, secret: str
) -> None:
    # Remembered first: if the call's answer is lost, polling later still knows it.
    await ops.set_state(WEBHOOK_URL_KEY, url)
    try:
        await bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=dp.resolve_used_update_types(),
            drop_pending_updates=False,
        )
    except TelegramBadRequest as exc:
        raise WebhookRefused(" ".join(exc.message.split())[:120]) from None
    log.info("webhook registered at %s", urlsplit(url).hostname)


async def leave_webhook(bot: Bot, ops: OpsQueries) -> None:
    """Before polling: delete the webhook this bot set; raise ``ForeignWebhook`` for
    one set by someone else."""
    try:
        info = await bot.get_webhook_info()
    except (TelegramNetworkError, TelegramServerError) as exc:
        # Telegram was reached a moment ago: polling retries, and a webhook still set
        # shows there as a conflict in the log.
        log.warning("could not check for a webhook (%s): polling", exc)
        return
    ours = await ops.get_state(WEBHOOK_URL_KEY)
    if info.url:
        if info.url != ours:
            raise ForeignWebhook(info.url)
        await bot.delete_webhook(drop_pending_updates=False)
        log.info("the webhook this bot set is removed: polling")
    if ours is not None:
        await ops.set_state(WEBHOOK_URL_KEY, None)
