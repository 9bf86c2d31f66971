"""aiogram's answer models stay built for the bot's life (a rebuild costs milliseconds
on every call after a garbage collection)."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods.base import Response
from aiogram.types import Message, User

from bot.telegram import build_bot
from tests.fakes.botapi import FakeBotApi


async def test_answer_models_survive_a_garbage_collection() -> None:
    async with FakeBotApi() as api:
        bot = build_bot(api.token, api.base_url)
        try:
            await bot.get_me()
            await bot.send_message(42, "hi")
            models: list[weakref.ref[type]] = [
                weakref.ref(Response[User]),
                weakref.ref(Response[Message]),
            ]
            gc.collect()
            assert all(model() is not None for model in models)
        finally:
            await bot.session.close()
