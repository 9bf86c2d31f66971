"""``python -m bot``: runs the Telegram bot; ``python -m bot
send|balance|status|users|contacts|job|tokens`` is the command line; ``python -m bot serve``
runs only the HTTP server (API, health, metrics; no Telegram); ``python -m bot demo`` runs
the bot in the terminal against a Telegram stand-in; ``python -m bot healthcheck`` asks a
running one's /health (Docker's HEALTHCHECK). aiogram is imported only to run the bot."""

from __future__ import annotations

import sys
from collections.abc import Sequence

CLI_COMMANDS = frozenset(
    {"send", "balance", "status", "users", "contacts", "job", "tokens", "-h", "--help"}
)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in CLI_COMMANDS:
        from bot.cli import main as cli_main

        return cli_main(args)
    if args and args[0] == "healthcheck":
        from bot.healthcheck import run_healthcheck

        return run_healthcheck()
    if args and args[0] == "serve":
        from bot.server import main as serve_main

        return serve_main(args[1:])
    if args and args[0] == "demo":
        from bot.cli import build_parser
        from bot.demo import run_demo

        return run_demo(build_parser().parse_args(args))
    if args and args[0] != "run":
        from bot.cli import build_parser
        from bot.exit_codes import EXIT_USAGE

        build_parser().parse_args(args)  # prints usage and exits 2 for an unknown command
        return EXIT_USAGE
    # Settings and the token are checked before aiogram (seconds to import) is loaded.
    from bot.app_config import load_bot_settings

    settings = load_bot_settings()
    if isinstance(settings, int):
        return settings
    from bot.app import run

    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
