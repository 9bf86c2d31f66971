"""A Telegram stand-in: a small fake Bot API server for ``python -m bot demo``, local
try-outs and the end-to-end tests (``tests/fakes/botapi.py`` re-exports it).

It is a real aiohttp server on 127.0.0.1 that answers ``{base}/bot{token}/{method}`` the way
Telegram does, closely enough for aiogram 3 to run a real ``Dispatcher`` against it::

    async with FakeBotApi() as fake:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        bot = Bot(fake.token, session=session)
        fake.send_text(42, "/start")
        reply = await fake.wait_for_message(42, lambda m: "Hello" in m.text)

Everything (injection helpers, ``wait_for_*``, the server) lives in the event loop that called
``start()``; call the helpers from that loop's thread.

What it models:

* every object carries the fields aiogram's pydantic types require (``getMe.is_bot``,
  ``callback_query.chat_instance``, ...); unknown methods answer ``{"ok": true, "result": true}``;
* ``getUpdates`` honours ``offset`` (confirming updates), ``limit`` and real long polling
  (``timeout`` seconds); a newer ``getUpdates`` ends an older, still waiting one with 409
  Conflict, as Telegram does when two bot instances poll;
* message ids are counted per chat and shared by the user's and the bot's messages;
* Telegram's usual refusals: ``message is not modified``, ``message to edit not found``,
  ``message text is empty``, ``message is too long``, ``can't parse entities`` for broken
  ``parse_mode=HTML`` markup, ``BUTTON_DATA_INVALID`` for callback data over 64 bytes,
  ``BOT_COMMAND_INVALID``, 401 for a token other than ``FakeBotApi.token``;
* injected faults: ``retry_after`` (429 with ``parameters.retry_after``) and ``fail_next``;
* a webhook: ``setWebhook`` (https only; ``FakeBotApi.webhook`` keeps its parameters),
  ``getWebhookInfo`` and ``deleteWebhook``; while one is set ``getUpdates`` answers 409,
  as Telegram does. Updates are not posted to it: a test posts them itself.

``python -m bot demo`` runs the bot against it with a console in the terminal (``Console``).
On its own: ``python -m bot.standin --port 8081``, point a bot at the printed address, then
type messages on stdin (``!help`` lists the console commands).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import html
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TextIO

from aiohttp import web

__all__ = ["ApiCall", "Console", "FakeBotApi", "SentMessage", "render_text"]

#: Form fields parsed to ``int`` when they hold a (possibly negative) integer.
INT_FIELDS = frozenset({"chat_id", "message_id", "user_id"})
#: Free-text form fields that are never JSON-decoded, even if they look like JSON.
# fmt: off
TEXT_FIELDS = frozenset({
    "text", "caption", "description", "short_description", "title", "name", "question",
    "explanation", "callback_query_id", "url", "data", "inline_message_id",
    "business_connection_id",
})
#: Tags Telegram accepts with ``parse_mode=HTML``.
HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji", "tg-time",
})
# fmt: on
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
FIRST_UPDATE_ID = 1000

_TAG_RE = re.compile(r"<(/?)([^\s<>/]*)[^<>]*>")
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_INT_RE = re.compile(r"-?\d+")


@dataclass
class ApiCall:
    """One request the bot made.

    ``status`` and ``result`` (the answer's ``result``, or the whole error answer) are filled in
    once the fake has answered. ``getUpdates`` is recorded when it arrives, so
    ``wait_for_call("getUpdates")`` tells that the bot polls; until it is answered its ``result``
    is None.
    """

    method: str
    params: dict[str, Any]
    token: str
    at: float
    status: int = 200
    result: Any = None


@dataclass
class SentMessage:
    """A message the bot sent with ``sendMessage``, in its current state after edits.

    ``text`` is the text as the bot sent it (HTML tags included); the ``Message`` objects the fake
    hands back to the bot carry the rendered plain text, as Telegram does.
    """

    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    parse_mode: str | None
    edits: list[str] = field(default_factory=list)
    date: int = 0
    edit_date: int | None = None
    deleted: bool = False


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": status, "description": ...}``."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad_request(detail: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {detail}")


@dataclass
class _Queued:
    update: dict[str, Any]
    forced: bool = False  # a re-delivered update_id: dropped by offset only once delivered
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


def _now() -> int:
    return int(time.time())


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _as_int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value)
    return default


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"true", "1"})


def _convert(key: str, value: str) -> Any:
    if key in INT_FIELDS and _INT_RE.fullmatch(value):
        return int(value)
    if key not in TEXT_FIELDS and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def render_html(text: str) -> str:
    """Plain text of a ``parse_mode=HTML`` message; raises ``ApiError`` as Telegram would."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) >= 0:
        out.append(html.unescape(text[pos:start]))
        offset = len(text[:start].encode())
        match = _TAG_RE.match(text, start)
        if match is None:
            raise _bad_request(f"can't parse entities: Unclosed start tag at byte offset {offset}")
        closing, name = match.group(1) == "/", match.group(2).lower()
        if closing:
            if not stack:
                raise _bad_request(
                    f"can't parse entities: Unexpected end tag at byte offset {offset}"
                )
            if stack[-1] != name:
                raise _bad_request(
                    f"can't parse entities: Unmatched end tag at byte offset {offset}, expected \""
                    f'</{stack[-1]}>", found "</{name}>"'
                )
            stack.pop()
        elif name in HTML_TAGS:
            stack.append(name)
        else:
            raise _bad_request(
                f'can\'t parse entities: Unsupported start tag "{match.group(2)}" '
                f"at byte offset {offset}"
            )
        pos = match.end()
    out.append(html.unescape(text[pos:]))
    if stack:
        raise _bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(out)


def render_text(text: str, parse_mode: str | None) -> str:
    """The text a user sees: HTML markup is removed; Markdown is left as sent."""
    if parse_mode is not None and parse_mode.lower() == "html":
        return render_html(text)
    return text


def command_entities(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entity Telegram attaches to a text starting with a command."""
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group())}]


def _check_reply_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if set(button) <= {"text"}:
                raise _bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")


class FakeBotApi:
    """A fake Telegram Bot API server; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-token",
        bot_id: int = 123456,
        bot_username: str = "smsbot_test_bot",
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = "SMS Test Bot"
        self.base_url = ""
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.retry_after: dict[str, int] = {}
        self.fail_next: dict[str, int] = {}
        self.commands: list[dict[str, str]] = []
        #: the parameters of the last ``setWebhook`` (``None``: no webhook)
        self.webhook: dict[str, Any] | None = None
        #: Called whenever the bot sends or edits a message (the try-out prints them).
        self.on_message: Callable[[SentMessage], None] | None = None
        #: a document or photo the bot sent (the Message object as returned to the bot)
        self.on_file: Callable[[dict[str, Any]], None] | None = None
        #: Called with the parameters of each ``answerCallbackQuery`` (the notice or
        #: pop-up a phone shows after a button press; the try-out prints it).
        self.on_callback_answer: Callable[[dict[str, Any]], None] | None = None
        self._queue: list[_Queued] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._next_message_ids: dict[int, int] = {}
        self._user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._first_names: dict[int, str] = {}
        self._touched: dict[tuple[int, int], int] = {}
        self._sequence = itertools.count()
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        #: files users sent (``send_document``): file_id -> (file_path, content)
        self._files: dict[str, tuple[str, bytes]] = {}
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> None:
        """Listens on 127.0.0.1:``port`` (0: an ephemeral port) and sets ``base_url``."""
        if self._runner is not None:
            msg = "FakeBotApi is already started"
            raise RuntimeError(msg)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._closing = False
        bound_port = runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{bound_port}"

    async def stop(self) -> None:
        """Answers waiting long polls with ``[]`` and closes the server."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._notify()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ inspection

    def calls_of(self, method: str) -> list[ApiCall]:
        """Calls of ``method`` (compared case-insensitively, as Telegram does), oldest first."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in ``chat_id`` (deleted ones included), by message_id."""
        found = [m for (chat, _), m in self.messages.items() if chat == chat_id]
        return sorted(found, key=lambda m: m.message_id)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by an offset."""
        return [queued.update for queued in self._queue]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,
    ) -> ApiCall:
        """The first call (already made or new) of ``method`` matching ``predicate``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            for call in self.calls:  # all of them again: a getUpdates call completes later
                if call.method.lower() == method.lower() and (predicate is None or predicate(call)):
                    return call
            if not await self._wait_changed(changed, deadline - loop.time()):
                msg = f"no {method} call matching the predicate within {timeout}s\n"
                raise AssertionError(msg + self.dump_calls(include_polls=method == "getUpdates"))

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
    ) -> SentMessage:
        """The most recently sent or edited, not deleted bot message in ``chat_id`` matching.

        Messages already there count too. The result is the live object: later edits show in it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            found = [
                m
                for m in self.messages_to(chat_id)
                if not m.deleted and (predicate is None or predicate(m))
            ]
            if found:
                return max(found, key=lambda m: self._touched[(m.chat_id, m.message_id)])
            if not await self._wait_changed(changed, deadline - loop.time()):
                lines = [f"no message in chat {chat_id} matching the predicate within {timeout}s"]
                lines.append("messages in that chat:")
                lines.extend(f"  {m!r}" for m in self.messages_to(chat_id))
                raise AssertionError("\n".join(lines) + "\n" + self.dump_calls())

    def dump_calls(self, last: int = 20, *, include_polls: bool = False) -> str:
        """Recent calls, one a line, for assertion messages."""
        calls = [c for c in self.calls if include_polls or c.method.lower() != "getupdates"]
        polls = len(self.calls) - len(calls)
        lines = [
            f"last {min(last, len(calls))} of {len(calls)} calls ({polls} getUpdates left out):"
        ]
        for call in calls[-last:]:
            params = json.dumps(call.params, ensure_ascii=False, default=repr)
            if len(params) > 300:
                params = params[:297] + "..."
            lines.append(f"  {call.method} -> {call.status} {params}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ injecting updates

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "User",
        language_code: str | None = "ru",
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """Queues a text message from the user; returns its update_id.

        ``chat_id`` defaults to the user's private chat; ``reply_to_message_id`` names a message
        of that chat (the bot's or the user's) the text replies to.
        """
        chat = user_id if chat_id is None else chat_id
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat),
            "date": _now(),
            "chat": self._chat(chat),
            "from": user,
            "text": text,
        }
        if entities := command_entities(text):
            message["entities"] = entities
        if reply_to_message_id is not None:
            replied = self._message_object(chat, reply_to_message_id)
            if replied is None:
                msg = f"no message {reply_to_message_id} in chat {chat} to reply to"
                raise KeyError(msg)
            message["reply_to_message"] = replied
        self._user_messages[(chat, message["message_id"])] = copy.deepcopy(message)
        return self._enqueue({"message": message})

    def press_button(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        language_code: str | None = "ru",
    ) -> int:
        """Queues a callback_query for a button of the bot's message; returns its update_id.

        The data is not checked against the message's keyboard (stale buttons can be pressed).
        An unknown or deleted message arrives as an inaccessible message (``date`` 0).
        """
        user = self._user(user_id, language_code=language_code)
        sent = self.messages.get((chat_id, message_id))
        message: dict[str, Any]
        if sent is not None and not sent.deleted:
            message = self._bot_message_object(sent)
        else:
            message = {"chat": self._chat(chat_id), "message_id": message_id, "date": 0}
        callback_query = {
            "id": str(4_000_000_000_000_000 + next(self._callback_ids)),
            "from": user,
            "chat_instance": str(7_000_000_000_000_000_000 + abs(chat_id)),
            "message": message,
            "data": data,
        }
        return self._enqueue({"callback_query": callback_query})

    def send_document(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
        language_code: str | None = "ru",
        chat_id: int | None = None,
    ) -> int:
        """Queues a document the user sends (with an optional caption); returns its
        update_id. The bot fetches it with getFile and the file URL, as from Telegram.
        ``file_size`` is what the message declares (the content's length by default)."""
        chat = user_id if chat_id is None else chat_id
        number = next(self._file_ids)
        file_id = f"fake-user-file-{number}"
        self._files[file_id] = (f"documents/file_{number}", content)
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"fake-user-unique-{number}",
            "file_name": file_name,
            "file_size": len(content) if file_size is None else file_size,
        }
        if mime_type is not None:
            document["mime_type"] = mime_type
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat),
            "date": _now(),
            "chat": self._chat(chat),
            "from": self._user(user_id, language_code=language_code),
            "document": document,
        }
        if caption is not None:
            message["caption"] = caption
        self._user_messages[(chat, message["message_id"])] = copy.deepcopy(message)
        return self._enqueue({"message": message})

    def edit_text(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> int:
        """Queues an edited_message: the user edited their message; returns its update_id."""
        chat = user_id if chat_id is None else chat_id
        original = self._user_messages.get((chat, message_id))
        message: dict[str, Any]
        if original is not None:
            message = copy.deepcopy(original)
        else:
            message = {
                "message_id": message_id,
                "date": _now(),
                "chat": self._chat(chat),
                "from": self._user(user_id),
            }
        message["text"] = text
        message.pop("entities", None)
        if entities := command_entities(text):
            message["entities"] = entities
        message["edit_date"] = _now()
        self._user_messages[(chat, message_id)] = copy.deepcopy(message)
        return self._enqueue({"edited_message": message})

    def add_raw_update(self, update: dict[str, Any]) -> int:
        """Queues ``update`` as given; returns its update_id (assigned when missing).

        An update_id that was already issued is delivered once more even if the bot has confirmed
        it, so tests can check that a re-delivered update is handled once.
        """
        update = copy.deepcopy(update)
        if "update_id" not in update:
            return self._enqueue(update)
        update_id = int(update["update_id"])
        forced = update_id < self._next_update_id
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._queue.append(_Queued(update, forced=forced))
        self._notify()
        return update_id

    # ------------------------------------------------------------------ object builders

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _user(
        self, user_id: int, *, first_name: str | None = None, language_code: str | None = None
    ) -> dict[str, Any]:
        if first_name is not None:
            self._first_names[user_id] = first_name
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": self._first_names.get(user_id, "User"),
        }
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {
                "id": chat_id,
                "type": "private",
                "first_name": self._first_names.get(chat_id, "User"),
            }
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "Test group"}

    def _bot_message_object(self, sent: SentMessage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": sent.date,
            "chat": self._chat(sent.chat_id),
            "from": self.bot_user,
            "text": render_text(sent.text, sent.parse_mode),
        }
        if sent.edit_date is not None:
            message["edit_date"] = sent.edit_date
        if sent.reply_markup is not None and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = copy.deepcopy(sent.reply_markup)
        return message

    def _message_object(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        sent = self.messages.get((chat_id, message_id))
        if sent is not None:
            return self._bot_message_object(sent)
        if (user_message := self._user_messages.get((chat_id, message_id))) is not None:
            replied = copy.deepcopy(user_message)
            replied.pop("reply_to_message", None)
            return replied
        return None

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_ids.get(chat_id, 1)
        self._next_message_ids[chat_id] = message_id + 1
        return message_id

    def _enqueue(self, update: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._queue.append(_Queued({"update_id": update_id, **update}))
        self._notify()
        return update_id

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_changed(self, changed: asyncio.Event, remaining: float) -> bool:
        """Waits for ``changed``; False when ``remaining`` seconds passed first."""
        if remaining <= 0:
            return False
        try:
            async with asyncio.timeout(remaining):
                await changed.wait()
        except TimeoutError:
            return False
        return True

    def _touch(self, sent: SentMessage) -> None:
        self._touched[(sent.chat_id, sent.message_id)] = next(self._sequence)
        if self.on_message is not None:
            self.on_message(sent)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        call = ApiCall(method=method, params={}, token=token, at=time.time())
        recorded = False
        try:
            call.params = await self._read_params(request)
            if token != self.token:
                raise ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            self._raise_injected(method)
            if method.lower() == "getupdates":
                self.calls.append(call)  # recorded on arrival: a sign the bot polls
                recorded = True
                self._notify()
                result: Any = await self._get_updates(call.params)
            else:
                result = self._dispatch(method.lower(), call.params)
            body: dict[str, Any] = {"ok": True, "result": result}
            call.result = result
        except ApiError as error:
            call.status = error.status
            body = {"ok": False, "error_code": error.status, "description": error.description}
            if error.parameters:
                body["parameters"] = error.parameters
            call.result = body
        if not recorded:
            self.calls.append(call)
        self._notify()
        return web.json_response(body, status=call.status)

    async def _download(self, request: web.Request) -> web.Response:
        """The file URL of a getFile answer: the content, as Telegram serves it."""
        if request.match_info["token"] != self.token:
            return web.Response(status=HTTPStatus.UNAUTHORIZED)
        path = request.match_info["path"]
        for file_path, content in self._files.values():
            if file_path == path:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=HTTPStatus.NOT_FOUND)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad_request("can't parse JSON body") from None
                if not isinstance(body, dict):
                    raise _bad_request("JSON body must be an object")
                params.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = {
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "data": value.file.read(),
                        }
                    else:
                        params[key] = value
        return {k: _convert(k, v) if isinstance(v, str) else v for k, v in params.items()}

    def _raise_injected(self, method: str) -> None:
        for key in list(self.retry_after):
            if key.lower() == method.lower():
                seconds = self.retry_after.pop(key)
                raise ApiError(
                    HTTPStatus.TOO_MANY_REQUESTS,
                    f"Too Many Requests: retry after {seconds}",
                    {"retry_after": seconds},
                )
        for key in list(self.fail_next):
            if key.lower() == method.lower():
                status = HTTPStatus(self.fail_next.pop(key))
                parameters = {"retry_after": 1} if status == HTTPStatus.TOO_MANY_REQUESTS else None
                raise ApiError(status, status.phrase, parameters)

    # ------------------------------------------------------------------ methods

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getme": self._get_me,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "senddocument": self._send_file,
            "sendphoto": self._send_file,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
        }
        handler = handlers.get(method)
        if handler is None:  # sendChatAction, close, ...
            return True
        return handler(params)

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """getFile: a file a user sent, with the path to download it from."""
        file_id = str(params.get("file_id", ""))
        found = self._files.get(file_id)
        if found is None:
            raise _bad_request("wrong file_id or the file is temporarily unavailable")
        file_path, content = found
        return {
            "file_id": file_id,
            "file_unique_id": file_id.replace("file", "unique", 1),
            "file_size": len(content),
            "file_path": file_path,
        }

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        if self.on_callback_answer is not None:
            self.on_callback_answer(params)
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:  # an empty url removes the webhook, as deleteWebhook does
            return self._delete_webhook(params)
        if not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("bad webhook: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):  # form data carries the list as JSON
            allowed = json.loads(allowed)
        self.webhook = {**params, "url": url, "allowed_updates": allowed}
        if _truthy(params.get("drop_pending_updates")):
            self._queue.clear()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if _truthy(params.get("drop_pending_updates")):
            self._queue.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook and self.webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(HTTPStatus.CONFLICT, WEBHOOK_CONFLICT)
        offset = _as_int(params.get("offset"), 0)
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(_as_int(params.get("timeout"), 0), 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older poll still waiting answers 409 now, as in Telegram
        if offset < 0:
            self._queue = self._queue[offset:]
        elif offset > 0:
            self._queue = [
                q for q in self._queue if q.update_id >= offset or (q.forced and not q.delivered)
            ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise ApiError(HTTPStatus.CONFLICT, CONFLICT)
            if self._queue:
                break
            if not await self._wait_changed(changed, deadline - loop.time()):
                return []
        batch = self._queue[:limit]
        for queued in batch:
            queued.delivered = True
        return [copy.deepcopy(queued.update) for queued in batch]

    def _chat_id(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise _bad_request("chat not found")
        return chat_id

    def _checked_text(self, params: dict[str, Any]) -> tuple[str, str | None]:
        text = params.get("text")
        parse_mode = params.get("parse_mode") or None
        if not isinstance(text, str) or not text.strip():
            raise _bad_request("message text is empty")
        rendered = render_text(text, parse_mode)
        if not rendered.strip():
            raise _bad_request("message text is empty")
        if _utf16_len(rendered) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text, parse_mode

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and "message_id" in reply:
            return _as_int(reply["message_id"], 0)
        if "reply_to_message_id" in params:
            return _as_int(params["reply_to_message_id"], 0)
        return None

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text, parse_mode = self._checked_text(params)
        reply_markup = params.get("reply_markup")
        _check_reply_markup(reply_markup)
        sent = SentMessage(
            message_id=self._new_message_id(chat_id),
            chat_id=chat_id,
            text=text,
            reply_markup=reply_markup,
            parse_mode=parse_mode,
            edits=[],
            date=_now(),
        )
        self.messages[(chat_id, sent.message_id)] = sent
        self._touch(sent)
        result = self._bot_message_object(sent)
        if (target := self._reply_target(chat_id, params)) is not None:
            replied = self._message_object(chat_id, target)
            if replied is not None:
                result["reply_to_message"] = replied
        return result

    def _message_to_edit(self, params: dict[str, Any]) -> SentMessage | None:
        """The bot's message an edit names; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        sent = self.messages.get((chat_id, message_id))
        if sent is None or sent.deleted:
            raise _bad_request("message to edit not found")
        return sent

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        sent = self._message_to_edit(params)
        text, parse_mode = self._checked_text(params)
        reply_markup = params.get("reply_markup")
        _check_reply_markup(reply_markup)
        if sent is None:
            return True
        if (text, parse_mode, reply_markup) == (sent.text, sent.parse_mode, sent.reply_markup):
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        if text != sent.text:
            sent.edits.append(sent.text)
            sent.text = text
        sent.parse_mode = parse_mode
        sent.reply_markup = reply_markup
        sent.edit_date = _now()
        self._touch(sent)
        return self._bot_message_object(sent)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        sent = self._message_to_edit(params)
        reply_markup = params.get("reply_markup")
        _check_reply_markup(reply_markup)
        if sent is None:
            return True
        if reply_markup == sent.reply_markup:
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        sent.reply_markup = reply_markup
        sent.edit_date = _now()
        self._touch(sent)
        return self._bot_message_object(sent)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        sent = self.messages.get((chat_id, message_id)) if isinstance(message_id, int) else None
        if sent is not None:
            sent.deleted = True
            self._touch(sent)
        return True

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON array")
        stored: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad_request("BOT_COMMAND_INVALID")
            command, description = str(item.get("command", "")), str(item.get("description", ""))
            if not _BOT_COMMAND_RE.fullmatch(command):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": command, "description": description})
        self.commands = stored
        return True

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands = []
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return [dict(command) for command in self.commands]

    def _send_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendDocument / sendPhoto: a Message with a minimal document or photo."""
        chat_id = self._chat_id(params)
        number = next(self._file_ids)
        file_id = {"file_id": f"fake-file-{number}", "file_unique_id": f"fake-unique-{number}"}
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": _now(),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
        }
        if "document" in params:
            document = params["document"]
            message["document"] = dict(file_id)
            if isinstance(document, str) and document.startswith("attach://"):
                upload = params.get(document.removeprefix("attach://"))
                if isinstance(upload, dict):
                    message["document"]["file_name"] = upload.get("filename")
                    message["document"]["file_size"] = len(upload.get("data", b""))
        else:
            message["photo"] = [{**file_id, "width": 320, "height": 240}]
        if isinstance(caption := params.get("caption"), str) and caption:
            message["caption"] = render_text(caption, params.get("parse_mode") or None)
        if self.on_file is not None:
            self.on_file(message)
        return message


# ---------------------------------------------------------------------- console


CONSOLE_HELP = """console commands:
  any text                    you send it to the bot as a Telegram message
  !press N                    press button N of the bot's last message with buttons
  !press <message_id> <data>  press a button by its message id and callback data
  !edit <message_id> <text>   edit a message you sent
  !file <path> [caption]      send a file (e.g. a .txt or .csv of numbers, the text as caption)
  !calls                      the bot's recent Bot API calls
  !help                       this text
  Ctrl-D (or !quit), Ctrl-C   stop"""


@dataclass(frozen=True)
class _Button:
    chat_id: int
    message_id: int
    text: str
    data: str


class Console:
    """A person typing as a Telegram user: lines go to the stand-in as that user's
    messages (or console commands), the bot's messages are printed as rendered text with
    their buttons numbered for ``!press N``."""

    def __init__(
        self,
        api: FakeBotApi,
        *,
        user_id: int,
        first_name: str = "Tester",
        language_code: str | None = "ru",
        out: TextIO | None = None,
    ) -> None:
        self.api = api
        self.user_id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self._out = out
        self._buttons: list[_Button] = []
        self._keyboard_of: tuple[int, int] | None = None

    def print(self, text: str) -> None:
        print(text, file=self._out or sys.stdout, flush=True)

    def show(self, message: SentMessage) -> None:
        """Print a message the bot sent or edited (``FakeBotApi.on_message``)."""
        if message.deleted:
            self.print(f"[bot deleted message {message.message_id}]")
            return
        label = "edited" if message.edits else "new"
        text = render_text(message.text, message.parse_mode)
        lines = [f"── bot ({label}, message {message.message_id}) ──", text]
        markup = message.reply_markup or {}
        buttons = [
            _Button(message.chat_id, message.message_id, str(b.get("text")), str(data))
            for row in markup.get("inline_keyboard", [])
            for b in row
            if isinstance(b, dict) and (data := b.get("callback_data")) is not None
        ]
        if buttons:
            self._buttons, self._keyboard_of = buttons, (message.chat_id, message.message_id)
            lines.append(
                "   ".join(f"[{n}] {b.text}" for n, b in enumerate(buttons, 1))
                + "   (press one with !press N)"
            )
        elif self._keyboard_of == (message.chat_id, message.message_id):
            self._buttons, self._keyboard_of = [], None  # its keyboard is gone
        for row in markup.get("keyboard", []):
            lines.append("  ".join(f"[{b.get('text') if isinstance(b, dict) else b}]" for b in row))
        self.print("\n".join(lines))

    def show_file(self, message: dict[str, Any]) -> None:
        """Print a file the bot sent (``FakeBotApi.on_file``): its name and size."""
        document = message.get("document") or {}
        name = document.get("file_name") or "a photo"
        size = document.get("file_size")
        lines = [f"── bot (file, message {message['message_id']}) ──", f"📎 {name}"]
        if size is not None:
            lines[-1] += f" ({size} bytes)"
        if caption := message.get("caption"):
            lines.append(str(caption))
        self.print("\n".join(lines))

    def show_callback_answer(self, params: dict[str, Any]) -> None:
        """Print what a phone shows after a button press (``on_callback_answer``):
        a pop-up to dismiss, or a short notice; nothing when the answer has no text."""
        text = params.get("text")
        if text:
            kind = "pop-up" if _truthy(params.get("show_alert")) else "notice"
            self.print(f"({kind}: {text})")

    def handle(self, line: str) -> bool:
        """Act on one typed line; True when something was sent to the bot."""
        command, _, rest = line.strip().partition(" ")
        if command == "!help":
            self.print(CONSOLE_HELP)
            return False
        if command == "!calls":
            self.print(self.api.dump_calls())
            return False
        if command == "!press":
            return self._press(rest.split(maxsplit=1))
        if command == "!edit":
            message_id, _, text = rest.strip().partition(" ")
            if not message_id.isdigit() or not text:
                self.print("usage: !edit <message_id> <text>")
                return False
            self.api.edit_text(self.user_id, int(message_id), text)
            return True
        if command == "!file":
            return self._file(rest.strip())
        if command.startswith("!"):
            self.print(f"unknown console command {command}: !help lists them")
            return False
        if not line.strip():
            return False
        self.api.send_text(
            self.user_id, line, first_name=self.first_name, language_code=self.language_code
        )
        return True

    def _file(self, rest: str) -> bool:
        path_text, _, caption = rest.partition(" ")
        if not path_text:
            self.print("usage: !file <path> [caption]")
            return False
        path = Path(path_text).expanduser()
        try:
            content = path.read_bytes()
        except OSError as exc:
            self.print(f"cannot read {path}: {exc.strerror or exc}")
            return False
        self.api.send_document(
            self.user_id,
            path.name,
            content,
            caption=caption.strip() or None,
            language_code=self.language_code,
        )
        return True

    def _press(self, args: list[str]) -> bool:
        if len(args) == 1 and args[0].isdigit():
            number = int(args[0])
            if not 1 <= number <= len(self._buttons):
                shown = f"1 to {len(self._buttons)}" if self._buttons else "none"
                self.print(f"there is no button {number} (buttons shown: {shown})")
                return False
            button = self._buttons[number - 1]
            self.print(f"(you press [{number}] {button.text})")
            self.api.press_button(
                self.user_id,
                button.chat_id,
                button.message_id,
                button.data,
                language_code=self.language_code,
            )
            return True
        if len(args) == 2 and args[0].isdigit():
            self.api.press_button(
                self.user_id,
                self.user_id,
                int(args[0]),
                args[1],
                language_code=self.language_code,
            )
            return True
        self.print("usage: !press N   or   !press <message_id> <data>")
        return False


async def wait_for_answer(
    api: FakeBotApi, calls_before: int, *, timeout: float = 15.0, quiet: float = 0.3
) -> bool:
    """After an update was queued: wait until the bot has reacted (a call other than
    getUpdates) and then gone quiet for ``quiet`` seconds, or ``timeout`` passed.
    True if it reacted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = calls_before
    reacted = False
    last_change = loop.time()
    while loop.time() < deadline:
        calls = [c for c in api.calls[calls_before:] if c.method.lower() != "getupdates"]
        if len(calls) != seen:
            seen, reacted, last_change = len(calls), True, loop.time()
        elif reacted and loop.time() - last_change >= quiet:
            return True
        await asyncio.sleep(0.05)
    return reacted


def read_lines(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """Feed stdin's lines into ``lines`` (None at end of input); run in a daemon thread."""
    try:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n"))
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    with contextlib.suppress(RuntimeError):  # the loop is already closed
        loop.call_soon_threadsafe(lines.put_nowait, None)


async def _tryout(args: argparse.Namespace) -> None:
    fake = FakeBotApi(token=args.token, bot_id=int(args.token.split(":")[0]))
    console = Console(fake, user_id=args.user_id, first_name=args.first_name)
    fake.on_message = console.show
    fake.on_file = console.show_file
    fake.on_callback_answer = console.show_callback_answer
    await fake.start(args.port)
    console.print(f"Telegram stand-in at {fake.base_url}, token {fake.token}")
    console.print(
        f"run the bot with TELEGRAM_API_URL={fake.base_url} BOT_TOKEN={fake.token} "
        f"ADMIN_IDS={args.user_id}; you are user {args.user_id}"
    )
    console.print(CONSOLE_HELP)
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    threading.Thread(target=read_lines, args=(loop, lines), daemon=True).start()
    try:
        while (line := await lines.get()) is not None and line.strip() != "!quit":
            console.handle(line)
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.standin", description="A Telegram stand-in for local try-outs"
    )
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--user-id", type=int, default=111)
    parser.add_argument("--first-name", default="Tester")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_tryout(args))


if __name__ == "__main__":
    main()
