"""Loading the bot's settings without importing aiogram, so that a missing or
wrong setting is reported at once."""

from __future__ import annotations

import sys

from bot.exit_codes import EXIT_CONFIG
from bot.settings import ConfigError, Settings, load_settings

HOW_TO_GET_A_BOT = (
    "BOT_TOKEN is not set. Create a bot with @BotFather in Telegram (command /newbot), "
    "then put its token into a .env file in the folder you start the bot from, as "
    "BOT_TOKEN=123456:ABC..., or set BOT_TOKEN in the environment."
)


def load_bot_settings() -> Settings | int:
    """The settings, or an exit code after printing one clear sentence."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    if settings.bot_token is None:
        print(HOW_TO_GET_A_BOT, file=sys.stderr)
        return EXIT_CONFIG
    return settings
