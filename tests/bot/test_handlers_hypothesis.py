"""Hypothesis drives the real handlers with arbitrary text.

Each example feeds one update to a fresh ``Dispatcher`` whose Bot API calls are
recorded by aiogram's session layer (no network), over an in-memory database: never
an unhandled exception, always a clear answer, never a send for invalid input.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, Update, User
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import open_core
from bot.factory import create_dispatcher
from bot.settings import load_settings
from handlers.texts import TEXTS
from services.status import DeliveryTracker

ADMIN = 111
USER = 222
INTERNAL_ERROR = {TEXTS["internal_error"]["ru"], TEXTS["internal_error"]["en"]}


class RecordingSession(BaseSession):
    """Answers every Bot API call locally and remembers it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.calls.append(method)
        if isinstance(method, SendMessage):
            chat = Chat(id=int(method.chat_id), type="private")
            message = Message(
                message_id=len(self.calls) + 1000,
                date=datetime.now(UTC),
                chat=chat,
                text=method.text,
            )
            return message  # type: ignore[return-value]
        return True  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # pragma: no cover - no files here
        raise NotImplementedError
        yield b""

    async def close(self) -> None:
        return None


async def feed(text: str, user_id: int, lang: str) -> tuple[list[str], int]:
    """Feed one message; return the texts the bot sent and how many sends were recorded."""
    cfg = load_settings(
        _env_file=None, database_path=":memory:", send_confirmation=True, admin_ids=[ADMIN]
    )
    async with open_core(cfg) as core:
        await core.store.users.ensure_admin(ADMIN)
        await core.store.users.upsert(USER, name="U", is_admin=False, added_by=ADMIN)
        session = RecordingSession()
        bot = Bot("123456:TEST-token", session=session)
        dp = create_dispatcher(core, DeliveryTracker(core.status, core.store.messages))
        user = User(id=user_id, is_bot=False, first_name="U", language_code=lang)
        message = Message(
            message_id=1,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=user,
            text=text,
        )
        await dp.feed_update(bot, Update(update_id=1, message=message))
        rows = await core.db.fetchone("SELECT COUNT(*) AS n FROM messages")
        sent = [str(m.text) for m in session.calls if isinstance(m, SendMessage)]
        return sent, int(rows["n"]) if rows else -1


COMMANDS = st.sampled_from(
    [
        "",
        "/send ",
        "/send smska ",
        "/send sandbox ",
        "/status ",
        "/history ",
        "/balance ",
        "/allow ",
        "/deny ",
        "/limits ",
        "/help ",
        "/start ",
        "/cancel ",
    ]
)
HOSTILE = st.text(
    alphabet=st.characters(codec="utf-8", include_characters="\u200f\u202e\x00\x1b\n\t"),
    max_size=300,
)
NUMBERS = st.from_regex(r"\+?[78]?[ (]?9\d\d[) -]?\d{3}[ -]?\d\d[ -]?\d\d", fullmatch=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    command=COMMANDS,
    body=st.one_of(HOSTILE, NUMBERS, st.builds(lambda n, t: f"{n} {t}", NUMBERS, HOSTILE)),
    user_id=st.sampled_from([ADMIN, USER]),
    lang=st.sampled_from(["ru", "en"]),
)
def test_any_text_gets_a_clear_answer_and_no_send(
    command: str, body: str, user_id: int, lang: str
) -> None:
    text = (command + body)[:4096] or "?"
    errors: list[logging.LogRecord] = []
    handler = _Collect(errors)
    logging.getLogger().addHandler(handler)
    try:
        sent, recorded = asyncio.run(feed(text, user_id, lang))
    finally:
        logging.getLogger().removeHandler(handler)
    assert not errors, [r.getMessage() for r in errors]
    assert sent, f"no answer to {text!r}"
    assert not INTERNAL_ERROR & set(sent)
    # With confirmation on, nothing is sent before a tap: no record, whatever the input.
    assert recorded == 0


class _Collect(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)
