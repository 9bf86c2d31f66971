"""``python -m bot contacts list|add|del|import|export``: the team's address book
from the command line (changes are audited as "command line").

CSV, as ``export`` writes it and ``import`` reads it: UTF-8 (a BOM is fine), the
columns ``name,phone,groups`` (a header line with these names is optional and may
order them), the groups of one contact in one cell separated by blanks or ";".
An import is all or nothing: every line is checked first, each refused line is
listed with its number and why, and nothing is written unless every line is good.
``--dry-run`` checks and says what would change, writing nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import TYPE_CHECKING, Any, TextIO

from bot.exit_codes import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from handlers.texts_cli import say
from services.domain import InvalidInput, printable_text

if TYPE_CHECKING:
    from bot.cli import Output
    from bot.settings import Settings
    from services.contacts import ContactBook, ContactRecord

#: the columns of the CSV, in the order ``export`` writes them
COLUMNS = ("name", "phone", "groups")


def add_contacts_parser(sub: Any) -> None:
    contacts = sub.add_parser(
        "contacts", help=say("help_contacts"), description=say("contacts_description")
    )
    actions = contacts.add_subparsers(dest="contacts_command", metavar="ACTION", required=True)

    def with_json(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--json", action="store_true", help=say("help_json"))
        return p

    with_json(actions.add_parser("list", help=say("help_contacts_list")))
    add = with_json(actions.add_parser("add", help=say("help_contacts_add")))
    add.add_argument("name", metavar="NAME", help=say("help_contact_name"))
    add.add_argument("phone", metavar="PHONE", help=say("help_phone"))
    add.add_argument("groups", metavar="GROUP", nargs="*", help=say("help_contact_groups"))
    delete = with_json(actions.add_parser("del", help=say("help_contacts_del")))
    delete.add_argument("name", metavar="NAME", help=say("help_contact_name"))
    imp = with_json(actions.add_parser("import", help=say("help_contacts_import")))
    imp.add_argument("file", metavar="FILE.csv", help=say("help_contacts_file"))
    imp.add_argument("--dry-run", action="store_true", help=say("help_contacts_dry_run"))
    actions.add_parser("export", help=say("help_contacts_export"))


async def run_contacts(
    settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO | None = None
) -> int:
    from bot.core import open_core
    from services.users import COMMAND_LINE

    command: str = args.contacts_command
    lines: list[tuple[int, str, str, list[str]]] = []
    bad: list[tuple[int, str]] = []
    if command == "import":
        try:
            lines, bad = read_csv(_read_file(args.file, stdin))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            message = say("contacts_file_unreadable", file=args.file, reason=_reason(exc))
            return output.emit(
                EXIT_USAGE,
                say("error_nothing_changed", message=message),
                {"error": message, "error_kind": "InvalidFile"},
            )
    async with open_core(settings) as core:
        book = core.contacts
        if command == "list":
            return await _list(output, book)
        if command == "export":
            write_csv(await book.export(), output.out)
            return EXIT_OK
        try:
            if command == "add":
                record, created = await book.add(COMMAND_LINE, args.name, args.phone, args.groups)
                human = say(
                    "contact_added" if created else "contact_updated",
                    line=_line(record),
                )
                return output.emit(
                    EXIT_OK, human, {"contact": _payload(record), "created": created}
                )
            if command == "del":
                removed = await book.delete(COMMAND_LINE, args.name)
                return output.emit(
                    EXIT_OK,
                    say("contact_removed", line=_line(removed)),
                    {"contact": _payload(removed), "removed": True},
                )
        except InvalidInput as exc:
            from services.contacts import NoSuchContact

            code = EXIT_NOT_FOUND if isinstance(exc, NoSuchContact) else EXIT_USAGE
            return output.emit(
                code,
                say("error_nothing_changed", message=exc),
                {"error": str(exc), "error_kind": type(exc).__name__},
            )
        return await _import(output, book, lines, bad, dry_run=args.dry_run, actor=COMMAND_LINE)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return say("contacts_not_utf8")
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)  # csv.Error


def _read_file(path: str, stdin: TextIO | None) -> str:
    """The file's text (``-``: standard input), decoded strictly as UTF-8."""
    if path == "-":
        if stdin is not None:
            return stdin.read()
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as file:
            data = file.read()
    return data.decode("utf-8-sig")


def read_csv(text: str) -> tuple[list[tuple[int, str, str, list[str]]], list[tuple[int, str]]]:
    """The rows, as (line number, name, phone, groups), and the lines of the wrong
    shape, as (line number, why). Blank lines are skipped."""
    from services.contacts import split_groups

    reader = csv.reader(io.StringIO(text, newline=""))
    order = list(range(len(COLUMNS)))
    rows: list[tuple[int, str, str, list[str]]] = []
    bad: list[tuple[int, str]] = []
    first = True
    start = 1
    for cells in reader:
        line = start
        start = reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if first:
            first = False
            header = [cell.strip().lower() for cell in cells]
            if "name" in header and "phone" in header:
                order = [header.index(c) if c in header else -1 for c in COLUMNS]
                continue
        if len(cells) > max(len(COLUMNS), max(order) + 1):
            bad.append((line, say("contacts_too_many_columns", count=len(cells))))
            continue
        name, phone, groups = (cells[i] if 0 <= i < len(cells) else "" for i in order)
        rows.append((line, name, phone, split_groups(groups)))
    return rows, bad


def write_csv(contacts: list[ContactRecord], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for c in contacts:
        writer.writerow([c.name, "+" + c.phone, " ".join(c.groups)])


async def _import(
    output: Output,
    book: ContactBook,
    lines: list[tuple[int, str, str, list[str]]],
    bad: list[tuple[int, str]],
    *,
    dry_run: bool,
    actor: int | None,
) -> int:
    plan = await book.plan_import(lines)
    problems = sorted(
        [
            *((line, why, "BadLine") for line, why in bad),
            *((line, str(error), type(error).__name__) for line, error in plan.refused),
        ],
        key=lambda problem: problem[0],
    )
    refused = [{"line": line, "error": why, "error_kind": kind} for line, why, kind in problems]
    payload: dict[str, Any] = {
        "dry_run": dry_run,
        "created": plan.created,
        "updated": plan.updated,
        "unchanged": len(plan.unchanged),
        "refused": refused,
        "imported": False,
    }
    report = [say("contacts_refused_line", line=r["line"], reason=r["error"]) for r in refused]
    if refused:
        message = say("contacts_import_refused", count=len(refused), valid=len(plan.rows))
        payload["error"] = message
        return output.emit(EXIT_USAGE, "\n".join([*report, say("error", message=message)]), payload)
    if dry_run:
        human = say(
            "contacts_would_import",
            created=plan.created,
            updated=plan.updated,
            unchanged=len(plan.unchanged),
        )
        return output.emit(EXIT_OK, human, payload)
    try:
        created, updated = await book.apply_import(actor, plan)
    except InvalidInput as exc:  # the book changed meanwhile: nothing was written
        payload.update(error=str(exc), error_kind=type(exc).__name__)
        return output.emit(EXIT_USAGE, say("error_nothing_changed", message=exc), payload)
    payload.update(created=created, updated=updated, imported=True)
    human = say(
        "contacts_imported", created=created, updated=updated, unchanged=len(plan.unchanged)
    )
    return output.emit(EXIT_OK, human, payload)


async def _list(output: Output, book: ContactBook) -> int:
    contacts = await book.export()
    groups = await book.groups()
    if output.as_json:
        payload = {
            "contacts": [_payload(c) for c in contacts],
            "groups": [{"name": g.name, "size": g.size} for g in groups],
        }
        return output.emit(EXIT_OK, "", payload)
    if not contacts:
        return output.emit(EXIT_OK, say("contacts_none"), {})
    lines = [say("contacts_title", count=len(contacts))]
    lines += ["  " + _line(c) for c in contacts]
    lines.append(say("groups_title"))
    lines += [say("group_line", name=_printable(g.name), size=g.size) for g in groups]
    return output.emit(EXIT_OK, "\n".join(lines), {})


def _printable(text: str) -> str:
    import unicodedata

    text = printable_text(text)
    return "".join("?" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def _line(contact: ContactRecord) -> str:
    groups = " ".join(_printable(g) for g in contact.groups)
    text = say("contact_line", name=_printable(contact.name), phone=contact.phone)
    return text + (say("contact_groups", groups=groups) if groups else "")


def _payload(contact: ContactRecord) -> dict[str, Any]:
    return {
        "name": contact.name,
        "phone": contact.phone,
        "groups": list(contact.groups),
        "added_by": contact.added_by,
        "added_at": contact.added_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
    }
