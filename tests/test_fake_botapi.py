"""The fake Telegram Bot API against a real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.standin import Console
from tests.fakes.botapi import FakeBotApi

USER = 42
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Pick", callback_data="pick:1")]]
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def make_bot(fake: FakeBotApi, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(token or fake.token, session=session)


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    bot = make_bot(fake)
    try:
        yield bot
    finally:
        await bot.session.close()


async def run_polling(bot: Bot, router: Router, scenario: Callable[[], Awaitable[None]]) -> None:
    """Runs ``scenario`` while a real Dispatcher polls the fake, then stops polling cleanly."""
    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False)
    )
    try:
        await scenario()
    finally:
        if not polling.done():
            await dp.stop_polling()
        await asyncio.wait_for(polling, timeout=2)


async def test_get_me(fake: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == fake.bot_id == bot.id
    assert me.is_bot
    assert me.username == fake.bot_username
    assert me.can_join_groups is not None
    assert [call.method for call in fake.calls] == ["getMe"]
    assert fake.calls[0].token == fake.token


async def test_send_then_edit_round_trip(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Hello", reply_markup=KEYBOARD)

    assert sent.message_id == 1
    assert sent.chat.id == USER
    assert sent.chat.type == "private"
    assert sent.from_user is not None
    assert sent.from_user.id == fake.bot_id
    assert sent.text == "Hello"
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == KEYBOARD.model_dump()
    call = fake.calls_of("sendMessage")[0]
    assert call.params["chat_id"] == USER
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Pick", "callback_data": "pick:1"}]]
    }

    edited = await bot.edit_message_text("Bye", chat_id=USER, message_id=sent.message_id)

    assert isinstance(edited, Message)
    assert edited.text == "Bye"
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # no reply_markup in the edit removes the keyboard
    state = fake.messages[(USER, sent.message_id)]
    assert (state.text, state.edits, state.reply_markup) == ("Bye", ["Hello"], None)
    assert fake.messages_to(USER) == [state]

    again = await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=KEYBOARD
    )
    assert isinstance(again, Message)
    assert again.reply_markup is not None
    assert again.reply_markup.model_dump() == KEYBOARD.model_dump()
    assert state.edits == ["Hello"]


async def test_edit_refusals_match_telegram(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Same", reply_markup=KEYBOARD)

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Same", chat_id=USER, message_id=sent.message_id, reply_markup=KEYBOARD
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("Other", chat_id=USER, message_id=99)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, " ")

    assert fake.messages[(USER, sent.message_id)].edits == []
    assert [call.status for call in fake.calls] == [200, 400, 400, 400]


async def test_html_is_checked_and_rendered(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER, "<b>Sent</b> to &lt;+7999&gt;", parse_mode="HTML")

    assert sent.text == "Sent to <+7999>"
    assert fake.messages[(USER, 1)].text == "<b>Sent</b> to &lt;+7999&gt;"
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "to <+7999>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            USER,
            "x",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="t", callback_data="d" * 65)]]
            ),
        )


async def test_injected_faults(fake: FakeBotApi, bot: Bot) -> None:
    fake.retry_after["sendMessage"] = 7
    fake.fail_next["getMe"] = 502

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "hi")
    assert caught.value.retry_after == 7
    assert "retry after 7" in caught.value.message
    with pytest.raises(TelegramServerError):
        await bot.get_me()

    assert fake.retry_after == {}
    assert fake.fail_next == {}
    assert (await bot.send_message(USER, "hi")).message_id == 1  # once only
    assert [(c.method, c.status) for c in fake.calls] == [
        ("sendMessage", 429),
        ("getMe", 502),
        ("sendMessage", 200),
    ]


async def test_unknown_methods_and_wrong_token(fake: FakeBotApi, bot: Bot) -> None:
    assert await bot.send_chat_action(USER, "typing") is True
    assert await bot.answer_callback_query("1", text="ok") is True
    await bot.set_my_commands([BotCommand(command="send", description="Send an SMS")])
    assert fake.commands == [{"command": "send", "description": "Send an SMS"}]
    assert [c.command for c in await bot.get_my_commands()] == ["send"]
    assert await bot.delete_my_commands() is True
    assert fake.commands == []

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.base_url}/bot{fake.token}/someFutureMethod", data={"a": "1"}) as resp,
    ):
        assert resp.status == 200
        assert await resp.json() == {"ok": True, "result": True}
    assert fake.calls_of("someFutureMethod")[0].params == {"a": "1"}

    stranger = make_bot(fake, token="999:other-token")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_get_updates_offset_and_long_polling(fake: FakeBotApi, bot: Bot) -> None:
    first = fake.send_text(USER, "one")
    second = fake.send_text(USER, "two")
    assert (first, second) == (1000, 1001)

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first]  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    assert await bot.get_updates(offset=second + 1) == []
    assert fake.pending_updates == []

    started = time.monotonic()
    assert await bot.get_updates(offset=second + 1, timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 2

    loop = asyncio.get_running_loop()
    loop.call_later(0.2, fake.send_text, USER, "three")
    started = time.monotonic()
    updates = await bot.get_updates(offset=second + 1, timeout=5)
    assert time.monotonic() - started < 1
    assert [(u.update_id, u.message and u.message.text) for u in updates] == [(1002, "three")]


async def test_second_poller_ends_the_first_with_conflict(fake: FakeBotApi, bot: Bot) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_for_call("getUpdates")

    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(waiting, timeout=1)
    assert [c.status for c in fake.calls_of("getUpdates")] == [409, 200]


async def test_injected_updates_validate_in_aiogram(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER, "<i>Choose</i>", parse_mode="HTML", reply_markup=KEYBOARD)
    fake.send_text(USER, "/start@smsbot_test_bot now", first_name="Ann", language_code=None)
    fake.send_text(USER, "that one", reply_to_message_id=sent.message_id)
    fake.press_button(USER, USER, sent.message_id, "pick:1")
    fake.edit_text(USER, 2, "/help")
    fake.press_button(USER, USER, 77, "stale")

    command, reply, press, edit, stale = await bot.get_updates()

    assert command.message is not None
    assert command.message.message_id == 2  # after the bot's message 1: one counter per chat
    assert command.message.from_user is not None
    assert command.message.from_user.first_name == "Ann"
    assert command.message.from_user.language_code is None
    assert command.message.entities is not None
    assert (command.message.entities[0].type, command.message.entities[0].length) == (
        "bot_command",
        len("/start@smsbot_test_bot"),
    )
    assert reply.message is not None
    replied = reply.message.reply_to_message
    assert replied is not None
    assert replied.from_user is not None
    assert replied.from_user.is_bot
    assert (replied.message_id, replied.text) == (sent.message_id, "Choose")
    assert press.callback_query is not None
    assert press.callback_query.chat_instance
    assert press.callback_query.data == "pick:1"
    assert isinstance(press.callback_query.message, Message)
    assert press.callback_query.message.reply_markup is not None
    assert press.callback_query.message.reply_markup.model_dump() == KEYBOARD.model_dump()
    assert edit.edited_message is not None
    assert (edit.edited_message.message_id, edit.edited_message.text) == (2, "/help")
    assert edit.edited_message.edit_date is not None
    assert stale.callback_query is not None
    assert stale.callback_query.message is not None
    assert not isinstance(stale.callback_query.message, Message)  # inaccessible


async def test_dispatcher_echo(fake: FakeBotApi, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Welcome")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        assert message.from_user is not None
        await message.answer(f"echo: {message.text} ({message.from_user.language_code})")

    async def scenario() -> None:
        fake.send_text(USER, "/start")
        await fake.wait_for_message(USER, lambda m: m.text == "Welcome", timeout=3)
        fake.send_text(USER, "ping")
        reply = await fake.wait_for_message(USER, lambda m: m.text.startswith("echo"), timeout=3)
        assert reply.text == "echo: ping (ru)"
        assert reply.message_id == 4  # user 1, bot 2, user 3, bot 4

    await run_polling(bot, router, scenario)
    assert [m.text for m in fake.messages_to(USER)] == ["Welcome", "echo: ping (ru)"]


async def test_callback_button_reaches_handler(fake: FakeBotApi, bot: Bot) -> None:
    router = Router()
    seen: list[tuple[str | None, str | None, int]] = []

    @router.callback_query(F.data.startswith("pick:"))
    async def pick(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message)
        seen.append((callback.data, callback.message.text, callback.message.message_id))
        await callback.answer("Picked")
        await callback.message.edit_text(f"Picked {callback.data}")

    async def scenario() -> None:
        sent = await bot.send_message(USER, "Choose one", reply_markup=KEYBOARD)
        fake.press_button(USER, USER, sent.message_id, "pick:1")
        answer = await fake.wait_for_call("answerCallbackQuery", timeout=3)
        assert answer.params["text"] == "Picked"
        edited = await fake.wait_for_message(USER, lambda m: m.text.startswith("Picked"))
        assert edited.edits == ["Choose one"]
        assert seen == [("pick:1", "Choose one", sent.message_id)]

    await run_polling(bot, router, scenario)


async def test_offset_means_no_second_delivery(fake: FakeBotApi, bot: Bot) -> None:
    router = Router()
    handled: list[int] = []

    @router.message()
    async def count(message: Message) -> None:
        handled.append(message.message_id)
        await message.answer(f"got {message.message_id}")

    async def scenario() -> None:
        first = fake.send_text(USER, "a")
        await fake.wait_for_message(USER, lambda m: m.text == "got 1", timeout=3)
        fake.send_text(USER, "b")
        await fake.wait_for_message(USER, lambda m: m.text == "got 3", timeout=3)
        # the next poll confirms the second update
        await fake.wait_for_call("getUpdates", lambda c: c.params.get("offset") == "1002")
        assert fake.pending_updates == []
        # a re-delivered update_id (as after a Telegram hiccup) arrives exactly once more
        fake.add_raw_update({"update_id": first, "message": fake_message(1, "a")})
        await fake.wait_for_message(USER, lambda m: m.message_id == 5, timeout=3)
        await fake.wait_for_call("getUpdates", lambda c: not fake.pending_updates, timeout=3)

    await run_polling(bot, router, scenario)
    assert handled == [1, 3, 1]
    assert [m.text for m in fake.messages_to(USER)] == ["got 1", "got 3", "got 1"]


def fake_message(message_id: int, text: str) -> dict[str, object]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": USER, "type": "private", "first_name": "User"},
        "from": {"id": USER, "is_bot": False, "first_name": "User"},
        "text": text,
    }


async def test_wait_for_call_timeout_explains(fake: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(USER, "not what you wait for")

    with pytest.raises(AssertionError, match=r"no editMessageText call(.|\n)*sendMessage -> 200"):
        await fake.wait_for_call("editMessageText", timeout=0.1)
    with pytest.raises(AssertionError, match="no message in chat 42"):
        await fake.wait_for_message(USER, lambda m: "#1" in m.text, timeout=0.1)


async def test_the_console_sends_a_file_and_shows_the_files_the_bot_sends(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    api = FakeBotApi()
    console = Console(api, user_id=111, out=out)
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("79123456789\n79123456780\n", encoding="utf-8")

    assert console.handle(f"!file {numbers} Disk full on db1")
    (update,) = api.pending_updates
    message = update["message"]
    assert message["document"]["file_name"] == "numbers.txt"
    assert message["caption"] == "Disk full on db1"
    assert not console.handle(f"!file {tmp_path / 'missing.txt'}")
    assert not console.handle("!file")
    assert "cannot read" in out.getvalue() and "usage: !file" in out.getvalue()

    console.show_file(
        {"message_id": 7, "document": {"file_name": "job-1.csv", "file_size": 12}, "caption": "x"}
    )
    assert "📎 job-1.csv (12 bytes)" in out.getvalue()
