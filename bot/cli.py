"""The command line, for scripts and cron: ``python -m bot send|balance|status|users``
(and the parser of ``python -m bot demo``, which runs in ``bot.demo``).

It shares the services with the bot and never imports aiogram, so it starts fast.
One clear line for people (errors on stderr), ``--json`` for machines, and an exit
code per class of outcome (see ``bot.exit_codes``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from bot.exit_codes import (
    EXIT_CODES,
    EXIT_CONFIG,
    EXIT_LAST_ADMIN,
    EXIT_NOT_CONFIGURED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    exit_code_for,
    exit_code_for_record,
)
from bot.settings import ConfigError, Settings, load_settings
from services.domain import InvalidInput, printable_text
from services.errors import (
    GatewayNotConfigured,
    OutcomeUnknown,
    ProtocolError,
    ProviderError,
    UnsupportedOperation,
)

if TYPE_CHECKING:
    from storage.models import UserRecord
    from storage.strangers import StrangerRecord

#: how long a command-line send keeps trying to write a result the database refused
WRITE_RETRY_SECONDS = 30.0

#: The longest ``--key`` accepted (it is stored with the message).
MAX_KEY_LENGTH = 200


def key_problem(key: str) -> str | None:
    """Why ``--key`` cannot be used, or None. An empty or blank key would silently mean
    "no key" (a repeat would send again), so it is refused like any other bad key."""
    if not key.strip():
        return "--key is empty: give a non-blank idempotency key, or leave --key out."
    if len(key) > MAX_KEY_LENGTH:
        return f"--key is too long: {len(key)} characters, at most {MAX_KEY_LENGTH}."
    if not key.isprintable():
        return "--key contains control characters (tabs, newlines…): use printable text."
    return None


def describe_error(error: ProviderError, *, sending: bool = True) -> str:
    """One English sentence for a person; never a credential. ``sending``: the error
    is a send's, so say whether the SMS went out."""
    text = f"{error.provider}: {error.message}"
    raw = getattr(error, "raw", None)
    if isinstance(error, ProtocolError | OutcomeUnknown) and raw:
        text += f" (answer: {raw!r})"
    if not sending:
        return text + "."
    if isinstance(error, OutcomeUnknown):
        text += (
            ". The SMS may or may not have been sent; it is not retried automatically. "
            "Check the gateway's dashboard or ask the recipient before sending again"
        )
    elif error.nothing_sent and not isinstance(error, UnsupportedOperation):
        text += ". Nothing was sent"
    return text + "."


def _demo_user_id(raw: str) -> int:
    """``demo --user-id``: a Telegram user id (positive, as ``users`` takes it)."""
    from services.users import parse_user_id

    user_id = parse_user_id(raw)
    if user_id is None:
        raise argparse.ArgumentTypeError(
            f"{raw[:40]!r} is not a Telegram user id (a positive number such as 123456789)"
        )
    return user_id


def _epilog() -> str:
    lines = ["exit codes:"]
    lines += [f"  {code:>2}  {meaning}" for code, meaning in EXIT_CODES.items()]
    lines += [
        "",
        "examples:",
        "  python -m bot send 79123456789 Server is down",
        '  echo "disk full" | python -m bot send +7-912-345-67-89 - --gateway smska',
        "  python -m bot balance --json",
        "  python -m bot status 42",
        "  python -m bot users list",
        "  python -m bot users admin 123456789",
        "  python -m bot demo          # try the bot in this terminal, nothing is really sent",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="smsbot: send SMS from Telegram or the command line. Without a command, "
        "runs the Telegram bot.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the Telegram bot (the default)")
    demo = sub.add_parser(
        "demo",
        help="try the bot in this terminal: no token, no account, nothing really sent",
        description="Runs the real bot against a Telegram stand-in in this terminal: type "
        "as a Telegram user (an admin), see the bot's answers, press buttons with !press N "
        "(!help lists the console commands; Ctrl-D or Ctrl-C stops). Always the sandbox "
        "gateway and its own database (emptied at each start), whatever .env says.",
    )
    demo.add_argument(
        "--lang", choices=["en", "ru"], default="en", help="your Telegram language (default: en)"
    )
    demo.add_argument(
        "--user-id",
        type=_demo_user_id,
        default=111,
        metavar="ID",
        help="your Telegram id (default: 111)",
    )
    demo.add_argument(
        "--database",
        default="data/demo.sqlite3",
        metavar="PATH",
        help="the demo's own database, emptied at each start (default: data/demo.sqlite3)",
    )

    def common(p: argparse.ArgumentParser, gateway_help: str) -> None:
        p.add_argument("--gateway", metavar="NAME", help=gateway_help)
        p.add_argument(
            "--provider",
            metavar="NAME",
            dest="old_gateway",
            help="the old name of --gateway, still accepted",
        )
        p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")

    send = sub.add_parser(
        "send",
        help="send an SMS",
        description="Send an SMS. TEXT may be several words; '-' reads it from standard input.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument(
        "phone", metavar="PHONE", help="recipient, e.g. 79123456789 or +7 912 345-67-89"
    )
    send.add_argument(
        "text", metavar="TEXT", nargs="+", help="message text, or - for standard input"
    )
    send.add_argument(
        "--key",
        metavar="KEY",
        help="idempotency key (printable, non-blank, up to 200 characters): a second send "
        "with the same key sends nothing and reports the first",
    )
    common(send, "gateway to use (default: DEFAULT_GATEWAY)")

    balance = sub.add_parser("balance", help="show the balance of every enabled gateway")
    common(balance, "only this gateway")

    status = sub.add_parser(
        "status",
        help="delivery status of a message",
        description="Delivery status by the message number (#42 or 42) or the gateway's id.",
    )
    status.add_argument(
        "ref", metavar="ID", help="message number (#42) or the gateway's message id"
    )
    common(status, "gateway to ask about an id this database does not know")
    _add_users_parser(sub)
    return parser


def _add_users_parser(sub: Any) -> None:
    users = sub.add_parser(
        "users",
        help="list, allow, deny or make admin the bot's users (audited as 'command line')",
        description="Who may use the bot. 'admin' always works: it is the operator's way "
        "back in when no admin is left in Telegram. Every change is written to the audit log.",
    )
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    def with_json(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
        return p

    with_json(actions.add_parser("list", help="the users, then the recent strangers"))
    allow = with_json(actions.add_parser("allow", help="add a user, or rename one"))
    allow.add_argument("user_id", metavar="ID", help="Telegram user id, e.g. 123456789")
    allow.add_argument("name", metavar="NAME", nargs="*", help="a name to show (optional)")
    deny = with_json(actions.add_parser("deny", help="remove a user (never the last admin)"))
    deny.add_argument("user_id", metavar="ID", help="Telegram user id")
    admin = with_json(actions.add_parser("admin", help="make a user an admin, adding them"))
    admin.add_argument("user_id", metavar="ID", help="Telegram user id")


@dataclass
class Output:
    as_json: bool
    out: TextIO
    err: TextIO

    def emit(self, code: int, human: str, payload: dict[str, Any]) -> int:
        if self.as_json:
            payload = {"ok": code == EXIT_OK, "exit_code": code, **payload}
            print(json.dumps(payload, ensure_ascii=False, default=_json_default), file=self.out)
        else:
            print(human, file=self.out if code == EXIT_OK else self.err)
        return code


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _error_payload(error: BaseException, *, sending: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {"error": str(error), "error_kind": type(error).__name__}
    if isinstance(error, ProviderError):
        payload["error"] = describe_error(error, sending=sending)
        payload["provider"] = error.provider
    return payload


def chosen_gateway(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The gateway named by ``--gateway`` or its old name ``--provider`` (``None``: the
    default), or a problem when the two name different gateways."""
    new: str | None = getattr(args, "gateway", None)
    old: str | None = getattr(args, "old_gateway", None)
    if new is not None and old is not None and new.strip().lower() != old.strip().lower():
        return None, (
            f"--gateway {printable_text(new)[:40]!r} and --provider {printable_text(old)[:40]!r} "
            "name different gateways: give only --gateway (--provider is its old name)."
        )
    return (new if new is not None else old), None


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    output = Output(getattr(args, "json", False), sys.stdout, sys.stderr)
    gateway, problem = chosen_gateway(args)
    if problem is not None:
        nothing = " Nothing was sent." if args.command == "send" else ""
        return output.emit(
            EXIT_USAGE,
            f"error: {problem}{nothing}",
            {"error": problem, "error_kind": "InvalidInput"},
        )
    if args.command == "send" and args.key is not None:
        problem = key_problem(args.key)
        if problem is not None:
            return output.emit(
                EXIT_USAGE,
                f"error: {problem} Nothing was sent.",
                {"error": problem, "error_kind": "InvalidKey"},
            )
    if gateway is not None and not gateway.strip():
        # As with --key "": an unset variable in a script must not mean "the default".
        option = "--gateway" if getattr(args, "gateway", None) is not None else "--provider"
        problem = f"{option} is empty: name an enabled gateway, or leave {option} out."
        done = "Nothing was sent." if args.command == "send" else "Nothing was asked."
        return output.emit(
            EXIT_USAGE,
            f"error: {problem} {done}",
            {"error": problem, "error_kind": "InvalidInput"},
        )
    bad = _argument_not_utf8(args)
    if bad is not None:
        error = InvalidInput(f"{bad} holds bytes that are not UTF-8: use plain text.")
        done = "Nothing was sent." if args.command == "send" else "Nothing was changed."
        return output.emit(EXIT_USAGE, f"error: {error} {done}", _error_payload(error))
    try:
        settings = load_settings()
    except ConfigError as exc:
        return output.emit(
            EXIT_CONFIG, f"error: {exc}", {"error": str(exc), "error_kind": "ConfigError"}
        )
    from bot.logging_setup import configure_logging, install_redacting_hooks, redact_loop_errors
    from storage.db import DatabaseUnavailable

    # The command line prints its own one-line result; logs only for errors, or when
    # LOG_LEVEL asks for more.
    level = "ERROR" if settings.log_level == "INFO" else settings.log_level
    configure_logging(level, settings.secret_values())
    install_redacting_hooks(settings.secret_values())
    text = ""
    if args.command == "send":
        text = " ".join(args.text)
        if args.text == ["-"]:
            text = _read_stdin(stdin).rstrip("\n")
        if args.key is not None and printable_text(args.key) != args.key:
            error = InvalidInput("The --key holds bytes that are not UTF-8: use plain text.")
            return output.emit(
                EXIT_USAGE, f"error: {error} Nothing was sent.", _error_payload(error)
            )

    async def command() -> int:
        redact_loop_errors(settings.secret_values())
        if args.command == "send":
            return await _send(settings, output, args.phone, text, gateway, args.key)
        if args.command == "balance":
            return await _balance(settings, output, gateway)
        if args.command == "status":
            return await _status(settings, output, args.ref, gateway)
        if args.command == "users":
            return await _users(settings, output, args)
        raise AssertionError(args.command)  # pragma: no cover

    try:
        return asyncio.run(command())
    except DatabaseUnavailable as exc:
        return output.emit(
            EXIT_CONFIG, f"error: {exc}", {"error": str(exc), "error_kind": "DatabaseUnavailable"}
        )


#: Arguments refused later with a sentence of their own (the text, the phone, --key).
_CHECKED_LATER = frozenset({"text", "phone", "key"})
_ARGUMENT_NAMES = {
    "ref": "The message reference",
    "name": "The name",
    "user_id": "The user id",
    "provider": "--provider",
}


def _argument_not_utf8(args: argparse.Namespace) -> str | None:
    """The first argument holding bytes that were not UTF-8 (surrogate escapes in
    argv), which no later step could store or print: None when all are clean."""
    for attr, value in vars(args).items():
        if attr in _CHECKED_LATER:
            continue
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and printable_text(v) != v for v in values):
            return _ARGUMENT_NAMES.get(attr, attr)
    return None


def _read_stdin(stdin: TextIO | None) -> str:
    """The message text from standard input. Bytes that are not UTF-8 become surrogate
    escapes (as in argv), which the text check then refuses with a clear sentence."""
    if stdin is not None:
        return stdin.read()
    return sys.stdin.buffer.read().decode("utf-8", errors="surrogateescape")


async def _send(
    settings: Settings, output: Output, phone: str, text: str, provider: str | None, key: str | None
) -> int:
    from bot.core import open_core
    from services.sending import Origin

    async with open_core(settings) as core:
        try:
            prepared = core.sender.prepare(phone, text, provider)
        except InvalidInput as exc:
            return output.emit(EXIT_USAGE, f"error: {exc} Nothing was sent.", _error_payload(exc))
        # A run killed mid-send earlier left its row "sending": it is unknown by now.
        await core.sender.recover_interrupted(
            bot_starting=False,
            stale_after=settings.stale_send_age,
        )
        _finish_before_exiting(output.err)
        outcome = await core.sender.send(
            prepared, Origin(source="cli"), idempotency_key=None if key is None else f"cli:{key}"
        )
        record = outcome.record
        if outcome.duplicate:
            record = await core.sender.wait_settled(record, settings.max_request_seconds + 5)
        if outcome.unrecorded is not None:
            print(
                f"warning: #{record.id}: the result could not be written to the database "
                f"({outcome.unrecorded}); retrying for up to {WRITE_RETRY_SECONDS:g} s. "
                "The line below is the gateway's answer and stands.",
                file=output.err,
            )
            if not await core.sender.drain(WRITE_RETRY_SECONDS):
                print(
                    f"warning: #{record.id}: still not written; the record stays "
                    "'sending' and will read as 'unknown'.",
                    file=output.err,
                )
    payload: dict[str, Any] = {
        "id": record.id,
        "state": str(record.state),
        "provider": record.provider,
        "recipient": record.recipient,
        "parts": record.parts,
        "encoding": record.encoding,
        "gateway_id": record.gateway_id,
        "balance": record.balance_after,
        "balance_unit": record.balance_unit,
        "simulated": record.simulated,
        "duplicate": outcome.duplicate,
        "recorded": outcome.unrecorded is None,
        "failed_attempts": [
            {"provider": a.provider, "error": describe_error(a.error)}
            for a in outcome.failed_attempts
        ],
    }
    if outcome.duplicate:
        code = exit_code_for_record(record.state, record.error_kind)
        detail = f": {record.error_text}" if record.error_text else ""
        human = (
            f"#{record.id} was already requested with this key (state: {record.state}{detail}); "
            "nothing was sent again."
        )
        if code != EXIT_OK:
            payload.update(error=human, error_kind=record.error_kind)
            human = "error: " + human
        return output.emit(code, human, payload)
    if outcome.error is not None:
        code = exit_code_for(outcome.error)
        payload.update(_error_payload(outcome.error))
        human = f"error: #{record.id}: {describe_error(outcome.error)}"
        return output.emit(code, human, payload)
    balance = (
        f", balance {record.balance_after} {record.balance_unit}"
        if record.balance_after is not None
        else ""
    )
    via = (
        "accepted by the sandbox (nothing was really sent)"
        if record.simulated
        else f"sent via {record.provider}"
    )
    failover = ""
    if outcome.failed_attempts:
        failover = " after " + ", ".join(f"{a.provider} failed" for a in outcome.failed_attempts)
    human = f"#{record.id} {via}{failover}: gateway id {record.gateway_id}{balance}"
    return output.emit(EXIT_OK, human, payload)


def _finish_before_exiting(err: TextIO) -> None:
    """SIGINT/SIGTERM while a send is in flight: the send finishes (bounded by the
    HTTP timeouts) and its result is recorded and printed before the process exits."""
    loop = asyncio.get_running_loop()

    def hold(sig: signal.Signals) -> None:
        print(f"{sig.name}: finishing the send in flight first…", file=err)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, hold, sig)


async def _balance(settings: Settings, output: Output, provider: str | None) -> int:
    from bot.core import open_core

    async with open_core(settings) as core:
        try:
            lines = await core.balance.all(provider)
        except InvalidInput as exc:
            return output.emit(EXIT_USAGE, f"error: {exc}", _error_payload(exc))
    human: list[str] = []
    items: list[dict[str, Any]] = []
    code = EXIT_OK
    for line in lines:
        item: dict[str, Any] = {"provider": line.provider}
        if line.balance is not None:
            b = line.balance
            note = " (simulated)" if b.simulated else ""
            if b.source == "last_send":
                note += f" as of the last send, {b.at:%Y-%m-%d %H:%M} UTC"
            human.append(f"{line.provider}: {b.amount} {b.unit}{note}")
            item.update(
                amount=b.amount,
                unit=b.unit,
                at=b.at.isoformat(),
                source=str(b.source),
                simulated=b.simulated,
            )
        elif line.error is not None:
            human.append(f"{line.provider}: error: {describe_error(line.error, sending=False)}")
            item.update(_error_payload(line.error, sending=False))
            code = code or exit_code_for(line.error)
        else:
            human.append(
                f"{line.provider}: not known yet (the gateway reports it only with a send)"
            )
            item.update(amount=None)
        items.append(item)
    text = "\n".join(human)
    if output.as_json:
        return output.emit(code, text, {"balances": items})
    print(text, file=output.out)
    return code


async def _status(settings: Settings, output: Output, ref: str, provider: str | None) -> int:
    from bot.core import open_core

    async with open_core(settings) as core:
        try:
            records = await core.status.find(ref)
            if provider is not None:
                wanted = core.gateways.get(provider).name
                records = [r for r in records if r.provider == wanted]
            asked = core.gateways.get(provider)
            if records:
                check = await core.status.check(records[0])
            elif ref.startswith("#") or not asked.capabilities.status:
                return output.emit(
                    EXIT_NOT_FOUND, f"error: there is no message {ref}.", {"error": "not found"}
                )
            else:
                check = await core.status.check_gateway_id(provider, ref)
        except InvalidInput as exc:
            return output.emit(EXIT_USAGE, f"error: {exc}", _error_payload(exc))
    record = check.record
    payload: dict[str, Any] = {}
    parts: list[str] = []
    if record is not None:
        payload.update(
            id=record.id,
            provider=record.provider,
            recipient=record.recipient,
            gateway_id=record.gateway_id,
            state=str(record.state),
            created_at=record.created_at.isoformat(),
        )
        parts.append(f"#{record.id} to {record.recipient} via {record.provider}: {record.state}")
        if record.error_text:
            parts.append(f"({record.error_text})")
    if check.status is not None:
        s = check.status
        payload.update(
            delivery=str(s.state),
            code=s.code,
            name=s.name,
            checked_at=s.at.isoformat(),
            gateway_id=s.message_id,
            simulated=s.simulated,
        )
        if record is None:
            payload.update(provider=s.provider, state=str(s.state))
            parts.append(f"{s.provider} id {s.message_id}: {s.state}")
        parts.append(f"[{s.code} {s.name}]" if s.code else "")
    if check.error is not None:
        payload.update(_error_payload(check.error, sending=False))
        if record is not None and isinstance(check.error, UnsupportedOperation):
            parts.append(f"- {check.error.provider} offers no delivery status")
            return output.emit(EXIT_OK, " ".join(p for p in parts if p), payload)
        if record is not None and isinstance(check.error, GatewayNotConfigured):
            # Not a failure of the message: say why it was not asked, and show what is known.
            parts.append(
                f"- {check.error.provider} is not configured here, so it was not asked; "
                f"this is the last known state (as of {record.updated_at:%Y-%m-%d %H:%M} UTC)"
            )
            human = " ".join(p for p in parts if p)
            payload["error"] = human
            return output.emit(EXIT_NOT_CONFIGURED, human, payload)
        human = " ".join(p for p in parts if p)
        message = describe_error(check.error, sending=False)
        return output.emit(
            exit_code_for(check.error), f"error: {human + ': ' if human else ''}{message}", payload
        )
    # A message that was not sent, or whose outcome is unknown, is not "ok" for a script.
    code = exit_code_for_record(record.state, record.error_kind) if record else EXIT_OK
    return output.emit(code, " ".join(p for p in parts if p), payload)


async def _users(settings: Settings, output: Output, args: argparse.Namespace) -> int:
    """``users list|allow|deny|admin``: only the database is opened (no gateway is
    needed to let an operator back in)."""
    from services.users import COMMAND_LINE, LastAdminError, UserAdmin, parse_user_id
    from storage.audit import AuditLog
    from storage.db import Database
    from storage.strangers import StrangerRepository
    from storage.users import UserRepository

    user_id: int | None = None
    if args.users_command != "list":
        user_id = parse_user_id(args.user_id)
        if user_id is None:
            message = (
                f"{args.user_id[:40]!r} is not a Telegram user id "
                "(a positive number such as 123456789)."
            )
            return output.emit(
                EXIT_USAGE,
                f"error: {message} Nothing was changed.",
                {"error": message, "error_kind": "InvalidInput"},
            )
    async with Database(settings.database_path) as db:
        admin = UserAdmin(UserRepository(db), AuditLog(db), StrangerRepository(db))
        if args.users_command == "list":
            users = await admin.list()
            strangers = await admin.strangers(20)
            return _print_users(output, users, strangers)
        assert user_id is not None
        if args.users_command == "deny":
            try:
                removed = await admin.deny(COMMAND_LINE, user_id)
            except LastAdminError:
                message = f"{user_id} is the last admin and cannot be removed."
                return output.emit(
                    EXIT_LAST_ADMIN,
                    f"error: {message} Nothing was changed.",
                    {"error": message, "error_kind": "LastAdminError", "user_id": user_id},
                )
            if not removed:
                message = f"there is no user {user_id}."
                return output.emit(
                    EXIT_NOT_FOUND,
                    f"error: {message}",
                    {"error": message, "error_kind": "NotFound", "user_id": user_id},
                )
            return output.emit(
                EXIT_OK,
                f"{user_id} removed; their open previews were cancelled.",
                {"user_id": user_id, "removed": True},
            )
        if args.users_command == "allow":
            name = " ".join(args.name) or None
            record, created = await admin.allow(COMMAND_LINE, user_id, name=name)
        else:
            record, created = await admin.make_admin(COMMAND_LINE, user_id)
    role = " as an admin" if record.is_admin else ""
    human = f"{record.user_id} ({_printable(record.name) or '-'}) {'added' if created else 'updated'}{role}."
    return output.emit(EXIT_OK, human, {"user": _user_payload(record), "created": created})


def _printable(text: str) -> str:
    """Text typed by others, safe for a terminal: no control or direction characters."""
    import unicodedata

    return "".join("?" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def _user_payload(user: UserRecord) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "name": user.name,
        "is_admin": user.is_admin,
        "added_by": user.added_by,
        "added_at": user.added_at.isoformat(),
        "per_minute": user.per_minute,
        "per_day": user.per_day,
    }


def _print_users(output: Output, users: list[UserRecord], strangers: list[StrangerRecord]) -> int:
    if output.as_json:
        payload = {
            "users": [_user_payload(u) for u in users],
            "strangers": [
                {
                    "user_id": s.user_id,
                    "count": s.count,
                    "first_at": s.first_at.isoformat(),
                    "last_at": s.last_at.isoformat(),
                    "last_detail": s.last_detail,
                }
                for s in strangers
            ],
        }
        return output.emit(EXIT_OK, "", payload)
    lines = ["users:"] if users else ["users: none (add an admin: python -m bot users admin ID)"]
    for u in users:
        parts = [f"  {u.user_id}"]
        if u.name:
            parts.append(_printable(u.name))
        if u.is_admin:
            parts.append("(admin)")
        added = f"added {u.added_at:%Y-%m-%d %H:%M} UTC"
        if u.added_by is not None:
            added += f" by {u.added_by}"
        parts.append("- " + added)
        if u.per_minute is not None or u.per_day is not None:
            per_minute = "default" if u.per_minute is None else u.per_minute
            per_day = "default" if u.per_day is None else u.per_day
            parts.append(f"- limits {per_minute} a minute, {per_day} a day")
        lines.append(" ".join(parts))
    if strangers:
        lines.append("recent strangers (refused):")
        lines += [
            f"  {s.user_id}: {s.count} time(s), last {s.last_at:%Y-%m-%d %H:%M} UTC "
            f"({_printable(s.last_detail)[:80]})"
            for s in strangers
        ]
    return output.emit(EXIT_OK, "\n".join(lines), {})
