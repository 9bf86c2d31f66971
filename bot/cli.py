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

from bot.cli_contacts import add_contacts_parser, run_contacts
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
from handlers.texts_cli import say
from services.domain import InvalidInput, printable_text
from services.errors import (
    GatewayNotConfigured,
    OutcomeUnknown,
    ProtocolError,
    ProviderError,
    UnsupportedOperation,
)

if TYPE_CHECKING:
    from bot.cli_bulk import BulkRequest, EntryList
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
        return say("key_empty")
    if len(key) > MAX_KEY_LENGTH:
        return say("key_too_long", length=len(key), limit=MAX_KEY_LENGTH)
    if not key.isprintable():
        return say("key_control")
    return None


def describe_error(error: ProviderError, *, sending: bool = True) -> str:
    """One English sentence for a person; never a credential. ``sending``: the error
    is a send's, so say whether the SMS went out."""
    text = say("gateway_error", gateway=error.provider, message=error.message)
    raw = getattr(error, "raw", None)
    if isinstance(error, ProtocolError | OutcomeUnknown) and raw:
        text += say("gateway_answer", raw=raw)
    if not sending:
        return text + say("sentence_end")
    if isinstance(error, OutcomeUnknown):
        text += say("outcome_unknown")
    elif error.nothing_sent and not isinstance(error, UnsupportedOperation):
        text += say("nothing_sent")
    return text + say("sentence_end")


def _demo_user_id(raw: str) -> int:
    """``demo --user-id``: a Telegram user id (positive, as ``users`` takes it)."""
    from services.users import parse_user_id

    user_id = parse_user_id(raw)
    if user_id is None:
        raise argparse.ArgumentTypeError(say("not_a_user_id", raw=raw[:40]))
    return user_id


def _epilog() -> str:
    lines = [say("epilog_exit_codes")]
    lines += [say("epilog_exit_code", code=code, meaning=m) for code, m in EXIT_CODES.items()]
    lines += ["", say("epilog_examples")]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=say("description"),
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help=say("help_run"))
    sub.add_parser("serve", help=say("help_serve"))
    demo = sub.add_parser("demo", help=say("help_demo"), description=say("demo_description"))
    demo.add_argument("--lang", choices=["en", "ru"], default="en", help=say("help_demo_lang"))
    demo.add_argument(
        "--user-id",
        type=_demo_user_id,
        default=111,
        metavar="ID",
        help=say("help_demo_user_id"),
    )
    demo.add_argument(
        "--database",
        default="data/demo.sqlite3",
        metavar="PATH",
        help=say("help_demo_database"),
    )

    def common(p: argparse.ArgumentParser, gateway_help: str) -> None:
        p.add_argument("--gateway", metavar="NAME", help=gateway_help)
        p.add_argument(
            "--provider",
            metavar="NAME",
            dest="old_gateway",
            help=say("help_old_gateway"),
        )
        p.add_argument("--json", action="store_true", help=say("help_json"))

    send = sub.add_parser(
        "send",
        help=say("help_send"),
        description=say("send_description"),
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument("phone", metavar="RECIPIENTS", help=say("help_phone"))
    # "*": with --to-file the first word is the text's too (checked in main)
    send.add_argument("text", metavar="TEXT", nargs="*", help=say("help_text"))
    send.add_argument("--key", metavar="KEY", help=say("help_key", limit=MAX_KEY_LENGTH))
    send.add_argument("--to-file", metavar="FILE", help=say("help_to_file"))
    send.add_argument("--skip-invalid", action="store_true", help=say("help_skip_invalid"))
    common(send, say("help_send_gateway"))

    balance = sub.add_parser("balance", help=say("help_balance"))
    common(balance, say("help_balance_gateway"))

    status = sub.add_parser(
        "status", help=say("help_status"), description=say("status_description")
    )
    status.add_argument("ref", metavar="ID", help=say("help_ref"))
    common(status, say("help_status_gateway"))
    _add_users_parser(sub)
    add_contacts_parser(sub)
    job = sub.add_parser("job", help=say("help_job"), description=say("job_description"))
    job.add_argument("action", choices=["resume", "cancel"], help=say("help_job_action"))
    job.add_argument("job_id", metavar="N", help=say("help_job_id"))
    job.add_argument("--json", action="store_true", help=say("help_json"))
    from bot.cli_tokens import add_tokens_parser

    add_tokens_parser(sub)
    return parser


def _add_users_parser(sub: Any) -> None:
    users = sub.add_parser(
        "users",
        help=say("help_users"),
        description=say("users_description"),
    )
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    def with_json(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--json", action="store_true", help=say("help_json"))
        return p

    with_json(actions.add_parser("list", help=say("help_users_list")))
    allow = with_json(actions.add_parser("allow", help=say("help_users_allow")))
    allow.add_argument("user_id", metavar="ID", help=say("help_user_id_example"))
    allow.add_argument("name", metavar="NAME", nargs="*", help=say("help_user_name"))
    deny = with_json(actions.add_parser("deny", help=say("help_users_deny")))
    deny.add_argument("user_id", metavar="ID", help=say("help_user_id"))
    admin = with_json(actions.add_parser("admin", help=say("help_users_admin")))
    admin.add_argument("user_id", metavar="ID", help=say("help_user_id"))


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
        return None, say(
            "gateways_differ", new=printable_text(new)[:40], old=printable_text(old)[:40]
        )
    return (new if new is not None else old), None


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None) -> int:
    parser = build_parser()
    # Known args first: TEXT may come after an option (``send 7912... --json Disk full``);
    # with a list of recipients its words are the leftovers here.
    args, extra = parser.parse_known_args(argv)
    if extra and (args.command != "send" or any(w.startswith("-") and w != "-" for w in extra)):
        parser.error(say("unrecognized", words=" ".join(extra)))
    if args.command == "send":
        args.text = [*args.text, *extra]
        if args.to_file is not None:  # every word is the text's
            args.text, args.phone = [args.phone, *args.text], None
        elif not args.text:
            parser.error(say("text_required"))
    output = Output(getattr(args, "json", False), sys.stdout, sys.stderr)
    gateway, problem = chosen_gateway(args)
    if problem is not None:
        return output.emit(
            EXIT_USAGE,
            say("error_nothing_sent" if args.command == "send" else "error", message=problem),
            {"error": problem, "error_kind": "InvalidInput"},
        )
    if args.command == "send" and args.key is not None:
        problem = key_problem(args.key)
        if problem is not None:
            return output.emit(
                EXIT_USAGE,
                say("error_nothing_sent", message=problem),
                {"error": problem, "error_kind": "InvalidKey"},
            )
    if gateway is not None and not gateway.strip():
        # As with --key "": an unset variable in a script must not mean "the default".
        option = "--gateway" if getattr(args, "gateway", None) is not None else "--provider"
        problem = say("gateway_option_empty", option=option)
        return output.emit(
            EXIT_USAGE,
            say(
                "error_nothing_sent" if args.command == "send" else "error_nothing_asked",
                message=problem,
            ),
            {"error": problem, "error_kind": "InvalidInput"},
        )
    bad = _argument_not_utf8(args)
    if bad is not None:
        error = InvalidInput(say("argument_not_utf8", name=bad))
        return output.emit(
            EXIT_USAGE,
            say(
                "error_nothing_sent" if args.command == "send" else "error_nothing_changed",
                message=error,
            ),
            _error_payload(error),
        )
    try:
        settings = load_settings()
    except ConfigError as exc:
        return output.emit(
            EXIT_CONFIG, say("error", message=exc), {"error": str(exc), "error_kind": "ConfigError"}
        )
    from bot.logging_setup import configure_logging, install_redacting_hooks, redact_loop_errors
    from storage.db import DatabaseUnavailable

    # The command line prints its own one-line result; logs only for errors, or when
    # LOG_LEVEL asks for more.
    level = "ERROR" if settings.log_level == "INFO" else settings.log_level
    configure_logging(level, settings.secret_values(), settings.log_format)
    install_redacting_hooks(settings.secret_values())
    from bot.cli_bulk import BulkRequest, EntryFileError, entries_of_argument

    text = ""
    listed: EntryList | None = None
    if args.command == "send":
        if args.to_file == "-" and args.text == ["-"]:
            message = say("both_from_stdin")
            return output.emit(
                EXIT_USAGE,
                say("error_nothing_sent", message=message),
                {"error": message, "error_kind": "InvalidInput"},
            )
        try:
            listed = _listed(args, stdin, settings.max_recipients)
        except (EntryFileError, InvalidInput) as exc:
            return output.emit(
                EXIT_USAGE,
                say("error_nothing_sent", message=exc),
                {"error": str(exc), "error_kind": type(exc).__name__},
            )
        text = " ".join(args.text)
        if args.text == ["-"]:
            text = _read_stdin(stdin).rstrip("\n")
        if args.key is not None and printable_text(args.key) != args.key:
            error = InvalidInput(say("key_not_utf8"))
            return output.emit(
                EXIT_USAGE, say("error_nothing_sent", message=error), _error_payload(error)
            )

    async def command() -> int:
        redact_loop_errors(settings.secret_values())
        if args.command == "send" and listed is not None:
            request = BulkRequest(listed, text, gateway, args.key, args.skip_invalid)
            return await _send_many(settings, output, request)
        if args.command == "send":
            request = BulkRequest(
                entries_of_argument(args.phone), text, gateway, args.key, args.skip_invalid
            )
            return await _send(settings, output, args.phone, text, gateway, args.key, request)
        if args.command == "balance":
            return await _balance(settings, output, gateway)
        if args.command == "status":
            return await _status(settings, output, args.ref, gateway)
        if args.command == "users":
            return await _users(settings, output, args)
        if args.command == "contacts":
            return await run_contacts(settings, output, args, stdin)
        if args.command == "job":
            return await _job(settings, output, args.action, args.job_id)
        if args.command == "tokens":
            from bot.cli_tokens import tokens_command

            return await tokens_command(settings, output, args)
        raise AssertionError(args.command)  # pragma: no cover

    try:
        return asyncio.run(command())
    except DatabaseUnavailable as exc:
        return output.emit(
            EXIT_CONFIG,
            say("error", message=exc),
            {"error": str(exc), "error_kind": "DatabaseUnavailable"},
        )


#: Arguments refused later with a sentence of their own (the text, the phone, --key).
_CHECKED_LATER = frozenset({"text", "phone", "key"})


def _listed(args: argparse.Namespace, stdin: TextIO | None, limit: int) -> EntryList | None:
    """The recipients of a send to many (``--to-file``, or a list in the argument);
    None for one recipient as before. Raises ``EntryFileError``, ``TooManyRecipients``."""
    from bot.cli_bulk import entries_of_argument, read_entries_file

    if args.to_file is not None:
        return read_entries_file(args.to_file, stdin, limit)
    if any(separator in args.phone for separator in ",;\n"):
        return entries_of_argument(args.phone)
    return None


async def _job(settings: Settings, output: Output, action: str, raw: str) -> int:
    from bot.cli_bulk import job_command
    from bot.core import open_core

    job_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else 0
    if job_id <= 0:
        message = say("not_a_job_id", raw=printable_text(raw)[:40])
        return output.emit(
            EXIT_USAGE,
            say("error_nothing_sent", message=message),
            {"error": message, "error_kind": "InvalidInput"},
        )
    async with open_core(settings) as core:
        return await job_command(core, settings, output, action, job_id)


async def _send_many(settings: Settings, output: Output, request: BulkRequest) -> int:
    from bot.cli_bulk import send_job
    from bot.core import open_core

    async with open_core(settings) as core:
        return await send_job(core, settings, output, request)


def _argument_name(attr: str) -> str:
    """How the person typed the argument ``attr`` names."""
    if attr == "ref":
        return say("argument_ref")
    if attr == "name":
        return say("argument_name")
    if attr == "user_id":
        return say("argument_user_id")
    if attr == "job_id":
        return "N"
    return {"gateway": "--gateway", "old_gateway": "--provider", "to_file": "--to-file"}.get(
        attr, attr
    )


def _argument_not_utf8(args: argparse.Namespace) -> str | None:
    """The first argument holding bytes that were not UTF-8 (surrogate escapes in
    argv), which no later step could store or print: None when all are clean."""
    for attr, value in vars(args).items():
        if attr in _CHECKED_LATER:
            continue
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and printable_text(v) != v for v in values):
            return _argument_name(attr)
    return None


def _read_stdin(stdin: TextIO | None) -> str:
    """The message text from standard input. Bytes that are not UTF-8 become surrogate
    escapes (as in argv), which the text check then refuses with a clear sentence."""
    if stdin is not None:
        return stdin.read()
    return sys.stdin.buffer.read().decode("utf-8", errors="surrogateescape")


async def _send(
    settings: Settings,
    output: Output,
    phone: str,
    text: str,
    provider: str | None,
    key: str | None,
    request: BulkRequest | None = None,
) -> int:
    from bot.cli_bulk import send_job
    from bot.core import open_core
    from services.recipients import looks_like_number
    from services.sending import Origin

    async with open_core(settings) as core:
        entry = phone.strip()
        book = core.recipients.book
        if request is not None and book is not None and entry and not looks_like_number(entry):
            # a contact's or a group's name
            return await send_job(core, settings, output, request)
        try:
            prepared = core.sender.prepare(phone, text, provider)
        except InvalidInput as exc:
            return output.emit(
                EXIT_USAGE, say("error_nothing_sent", message=exc), _error_payload(exc)
            )
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
                say(
                    "not_recorded",
                    id=record.id,
                    reason=outcome.unrecorded,
                    seconds=WRITE_RETRY_SECONDS,
                ),
                file=output.err,
            )
            if not await core.sender.drain(WRITE_RETRY_SECONDS):
                print(say("still_not_recorded", id=record.id), file=output.err)
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
        human = say("duplicate", id=record.id, state=record.state, detail=detail)
        if code != EXIT_OK:
            payload.update(error=human, error_kind=record.error_kind)
            human = say("error", message=human)
        return output.emit(code, human, payload)
    if outcome.error is not None:
        code = exit_code_for(outcome.error)
        payload.update(_error_payload(outcome.error))
        human = say("send_failed", id=record.id, reason=describe_error(outcome.error))
        return output.emit(code, human, payload)
    balance = (
        say("sent_balance", amount=record.balance_after, unit=record.balance_unit)
        if record.balance_after is not None
        else ""
    )
    via = say("sent_sandbox") if record.simulated else say("sent_via", gateway=record.provider)
    failover = ""
    if outcome.failed_attempts:
        failed = ", ".join(
            say("gateway_failed", gateway=a.provider) for a in outcome.failed_attempts
        )
        failover = say("sent_after", failed=failed)
    human = say(
        "sent",
        id=record.id,
        via=via,
        failover=failover,
        gateway_id=record.gateway_id,
        balance=balance,
    )
    return output.emit(EXIT_OK, human, payload)


def _finish_before_exiting(err: TextIO) -> None:
    """SIGINT/SIGTERM while a send is in flight: the send finishes (bounded by the
    HTTP timeouts) and its result is recorded and printed before the process exits."""
    loop = asyncio.get_running_loop()

    def hold(sig: signal.Signals) -> None:
        print(say("finishing_send", signal=sig.name), file=err)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, hold, sig)


async def _balance(settings: Settings, output: Output, provider: str | None) -> int:
    from bot.core import open_core

    async with open_core(settings) as core:
        try:
            lines = await core.balances.all(provider)
        except InvalidInput as exc:
            return output.emit(EXIT_USAGE, say("error", message=exc), _error_payload(exc))
    human: list[str] = []
    items: list[dict[str, Any]] = []
    code = EXIT_OK
    for line in lines:
        item: dict[str, Any] = {"provider": line.provider}
        if line.balance is not None:
            b = line.balance
            note = say("balance_simulated") if b.simulated else ""
            if b.source == "last_send":
                note += say("balance_from_send", at=b.at)
            human.append(
                say("balance", gateway=line.provider, amount=b.amount, unit=b.unit, note=note)
            )
            item.update(
                amount=b.amount,
                unit=b.unit,
                at=b.at.isoformat(),
                source=str(b.source),
                simulated=b.simulated,
            )
        elif line.error is not None:
            reason = describe_error(line.error, sending=False)
            human.append(say("balance_error", gateway=line.provider, reason=reason))
            item.update(_error_payload(line.error, sending=False))
            code = code or exit_code_for(line.error)
        else:
            human.append(say("balance_none_yet", gateway=line.provider))
            item.update(amount=None)
        items.append(item)
    text = "\n".join(human)
    if output.as_json:
        return output.emit(code, text, {"balances": items})
    print(text, file=output.out)
    return code


async def _status(settings: Settings, output: Output, ref: str, provider: str | None) -> int:
    from bot.core import open_core
    from services.status import LookupKind

    async with open_core(settings) as core:
        found = await core.status.lookup(ref, gateway=provider, ask_gateway=True)
    if found.kind is LookupKind.INVALID:
        assert found.error is not None
        return output.emit(
            EXIT_USAGE, say("error", message=found.error), _error_payload(found.error)
        )
    if found.check is None:
        return output.emit(
            EXIT_NOT_FOUND, say("error", message=say("no_message", ref=ref)), {"error": "not found"}
        )
    check = found.check
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
        parts.append(
            say(
                "status_record",
                id=record.id,
                recipient=record.recipient,
                gateway=record.provider,
                state=record.state,
            )
        )
        if record.error_text:
            parts.append(say("status_detail", detail=record.error_text))
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
            parts.append(
                say(
                    "status_of_gateway_id",
                    gateway=s.provider,
                    gateway_id=s.message_id,
                    state=s.state,
                )
            )
        parts.append(say("status_code", code=s.code, name=s.name) if s.code else "")
    if check.error is not None:
        payload.update(_error_payload(check.error, sending=False))
        if record is not None and isinstance(check.error, UnsupportedOperation):
            parts.append(say("status_no_request", gateway=check.error.provider))
            return output.emit(EXIT_OK, " ".join(p for p in parts if p), payload)
        if record is not None and isinstance(check.error, GatewayNotConfigured):
            # Not a failure of the message: say why it was not asked, and show what is known.
            parts.append(
                say("status_not_configured", gateway=check.error.provider, at=record.updated_at)
            )
            human = " ".join(p for p in parts if p)
            payload["error"] = human
            return output.emit(EXIT_NOT_CONFIGURED, human, payload)
        human = " ".join(p for p in parts if p)
        message = describe_error(check.error, sending=False)
        return output.emit(
            exit_code_for(check.error),
            say("error", message=f"{human}: {message}" if human else message),
            payload,
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
            message = say("not_a_user_id", raw=args.user_id[:40])
            return output.emit(
                EXIT_USAGE,
                say("error_nothing_changed", message=message),
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
                message = say("last_admin", user_id=user_id)
                return output.emit(
                    EXIT_LAST_ADMIN,
                    say("error_nothing_changed", message=message),
                    {"error": message, "error_kind": "LastAdminError", "user_id": user_id},
                )
            if not removed:
                message = say("no_user", user_id=user_id)
                return output.emit(
                    EXIT_NOT_FOUND,
                    say("error", message=message),
                    {"error": message, "error_kind": "NotFound", "user_id": user_id},
                )
            return output.emit(
                EXIT_OK,
                say("user_removed", user_id=user_id),
                {"user_id": user_id, "removed": True},
            )
        if args.users_command == "allow":
            name = " ".join(args.name) or None
            record, created = await admin.allow(COMMAND_LINE, user_id, name=name)
        else:
            record, created = await admin.make_admin(COMMAND_LINE, user_id)
    role = say("as_admin") if record.is_admin else ""
    human = say(
        "user_added" if created else "user_updated",
        user_id=record.user_id,
        name=_printable(record.name) or "-",
        role=role,
    )
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
    lines = [say("users_title")] if users else [say("users_none")]
    for u in users:
        parts = [f"  {u.user_id}"]
        if u.name:
            parts.append(_printable(u.name))
        if u.is_admin:
            parts.append(say("user_is_admin"))
        added = say("user_added_at", at=u.added_at)
        if u.added_by is not None:
            added += say("user_added_by", by=u.added_by)
        parts.append(added)
        if u.per_minute is not None or u.per_day is not None:
            per_minute = say("limit_default") if u.per_minute is None else u.per_minute
            per_day = say("limit_default") if u.per_day is None else u.per_day
            parts.append(say("user_limits", per_minute=per_minute, per_day=per_day))
        lines.append(" ".join(parts))
    if strangers:
        lines.append(say("strangers_title"))
        lines += [
            say(
                "stranger",
                user_id=s.user_id,
                count=s.count,
                at=s.last_at,
                detail=_printable(s.last_detail)[:80],
            )
            for s in strangers
        ]
    return output.emit(EXIT_OK, "\n".join(lines), {})
