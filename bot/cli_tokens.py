"""``python -m bot tokens create NAME [--scope send,read]|list|revoke NAME``: API
tokens of the HTTP API, from the command line. Only the database is opened; a new
token is printed once (only its hash is kept)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bot.exit_codes import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from bot.cli import Output
    from bot.settings import Settings
    from services.tokens import TokenRecord


def add_tokens_parser(sub: Any) -> None:
    tokens = sub.add_parser(
        "tokens",
        help="API tokens of the HTTP API: create, list, revoke",
        description=(
            "API tokens of the HTTP API (python -m bot serve). A new token is printed "
            "once: only its hash is kept."
        ),
    )
    actions = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)

    def with_json(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--json", action="store_true", help="print JSON for scripts")
        return p

    create = with_json(actions.add_parser("create", help="create a token and print it once"))
    create.add_argument("name", metavar="NAME", help="the token's name, e.g. grafana")
    create.add_argument(
        "--scope",
        default="send,read",
        metavar="SCOPES",
        help="what the token may do: send, read or send,read (the default)",
    )
    with_json(actions.add_parser("list", help="list the tokens (never the tokens themselves)"))
    revoke = with_json(actions.add_parser("revoke", help="revoke a token at once"))
    revoke.add_argument("name", metavar="NAME", help="the token's name")


def _payload(record: TokenRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "scopes": sorted(record.scopes),
        "created_at": record.created_at.isoformat(),
        "created_by": record.created_by,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "last_used_at": record.last_used_at.isoformat() if record.last_used_at else None,
    }


async def tokens_command(settings: Settings, output: Output, args: argparse.Namespace) -> int:
    from services.domain import InvalidInput
    from services.limits import Limits
    from services.tokens import TokenService, parse_scopes
    from storage.audit import AuditLog
    from storage.db import Database
    from storage.tokens import TokenRepository

    async with Database(settings.database_path) as db:
        service = TokenService(
            TokenRepository(db),
            AuditLog(db),
            Limits(per_minute=settings.api_sends_per_minute, per_day=settings.api_sends_per_day),
        )
        if args.tokens_command == "create":
            try:
                created = await service.create(args.name, parse_scopes(args.scope), created_by=None)
            except InvalidInput as exc:
                return output.emit(
                    EXIT_USAGE,
                    f"error: {exc} No token was created.",
                    {"error": str(exc), "error_kind": type(exc).__name__},
                )
            new = created.record
            human = (
                f"Token “{new.name}” (scopes {','.join(sorted(new.scopes))}):\n"
                f"{created.token}\n"
                "It is shown only this once: keep it in a secret store now."
            )
            return output.emit(EXIT_OK, human, {"token": created.token, **_payload(new)})
        if args.tokens_command == "revoke":
            record = await service.revoke(args.name, by=None)
            if record is None:
                message = f"There is no token named “{args.name[:64]}”; nothing was changed."
                return output.emit(
                    EXIT_NOT_FOUND,
                    f"error: {message}",
                    {"error": message, "error_kind": "NotFound"},
                )
            return output.emit(
                EXIT_OK,
                f"Token “{record.name}” is revoked: calls with it are refused from now on.",
                {"revoked": True, **_payload(record)},
            )
        records = await service.list()
    if output.as_json:
        return output.emit(EXIT_OK, "", {"tokens": [_payload(r) for r in records]})
    if not records:
        return output.emit(
            EXIT_OK, "No API tokens yet: python -m bot tokens create NAME makes one.", {}
        )
    lines = ["API tokens:"]
    for r in records:
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        used = f"last used {r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "never used"
        lines.append(f"  {r.name}  {','.join(sorted(r.scopes))}  {state}, {used}")
    return output.emit(EXIT_OK, "\n".join(lines), {})
