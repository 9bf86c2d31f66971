"""The fake Telegram Bot API the tests use: the product's Telegram stand-in
(``bot/standin.py``, shipped for ``python -m bot demo``), re-exported here so tests
import it from where they always did."""

from __future__ import annotations

from bot.standin import (
    ApiCall,
    ApiError,
    Console,
    FakeBotApi,
    SentMessage,
    main,
    render_html,
    render_text,
)

__all__ = [
    "ApiCall",
    "ApiError",
    "Console",
    "FakeBotApi",
    "SentMessage",
    "main",
    "render_html",
    "render_text",
]

if __name__ == "__main__":
    main()
