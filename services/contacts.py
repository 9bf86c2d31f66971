"""The team's address book, with its rules, for the bot's /contacts, ``python -m bot
contacts`` and everything that resolves a name (``core.recipients``).

A name (of a contact or of a group) is compared case-insensitively (``name_key``),
is unique, and must not be mistaken for something else where recipients are typed:
not a number, not a gateway's name (``/send smska …``), no "," ";" or line break
(they separate entries), not a command ("/…"). A group name is one word (the groups
of a contact are listed separated by blanks). A contact name is never a group name
and the other way round. The number passes the send policy (``SendService.recipient``)
and is kept as international digits. Every change is audited with who made it (a
Telegram id, or the command line).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from services.domain import InvalidInput, preview_text
from services.recipients import looks_like_number, name_key
from storage.audit import AuditLog
from storage.contacts import ContactExists as StoredContactExists
from storage.contacts import (
    ContactRecord,
    ContactRepository,
    ContactRow,
    GroupSize,
    NameClash,
)

__all__ = [
    "MAX_CONTACT_NAME",
    "MAX_GROUPS",
    "BadName",
    "ContactBook",
    "ContactError",
    "ContactExists",
    "ContactPage",
    "ContactRecord",
    "DuplicateLine",
    "GroupSize",
    "ImportPlan",
    "NameTaken",
    "NoSuchContact",
    "TooManyGroups",
    "split_groups",
]

MAX_CONTACT_NAME = 64
MAX_GROUPS = 20
#: characters that separate recipient entries (``services.recipients.split_entries``)
_SEPARATORS = frozenset(",;\n\r")
#: what a spreadsheet runs as a formula at the start of a cell: a name is exported to
#: CSV (``contacts export``) and shown in job reports, so it may not start so
_FORMULA_START = ("=", "+", "-", "@")


class ContactError(InvalidInput):
    """A change to the address book refused; ``str()`` says why and what to do."""


class BadName(ContactError):
    """``reason``: empty, too_long, separator, control, number, gateway, command,
    formula (a first character a spreadsheet runs), blank (a group name of several
    words)."""

    _TEXTS: ClassVar[dict[str, str]] = {
        "empty": "A {what} name cannot be empty.",
        "too_long": "The {what} name “{name}” is too long: at most {limit} characters.",
        "separator": "The {what} name “{name}” contains a comma, semicolon or line break, "
        "which separate recipients: leave them out.",
        "control": "The {what} name “{name}” contains invisible control characters.",
        "number": "The {what} name “{name}” looks like a phone number: use a name with letters.",
        "gateway": "“{name}” is the name of a gateway: choose another {what} name.",
        "command": "A {what} name cannot start with “/”.",
        "formula": "The {what} name “{name}” starts with “=”, “+”, “-” or “@”, which a "
        "spreadsheet reads as a formula: start it with a letter.",
        "blank": "The group name “{name}” has blanks: a group name is one word (e.g. on-call).",
    }

    def __init__(self, name: str, reason: str, *, group: bool = False) -> None:
        what = "group" if group else "contact"
        shown = preview_text(name, 40)
        super().__init__(self._TEXTS[reason].format(what=what, name=shown, limit=MAX_CONTACT_NAME))
        self.name = shown
        self.reason = reason
        self.group = group


class NameTaken(ContactError):
    """A contact named like a group (``as_group`` False), or a group named like a
    contact (True)."""

    def __init__(self, name: str, *, as_group: bool) -> None:
        shown = preview_text(name, 40)
        if as_group:
            text = f"“{shown}” is a contact's name, so it cannot name a group: choose another."
        else:
            text = f"“{shown}” is a group's name, so it cannot name a contact: choose another."
        super().__init__(text)
        self.name = shown
        self.as_group = as_group


class ContactExists(ContactError):
    """Saving a new contact (not changing one) under a name already in the book."""

    def __init__(self, existing: ContactRecord) -> None:
        shown = preview_text(existing.name, 40)
        super().__init__(
            f"There is already a contact “{shown}” (+{existing.phone}): to change it, add it "
            "again with the new number."
        )
        self.name = shown
        self.phone = existing.phone


class TooManyGroups(ContactError):
    def __init__(self, count: int) -> None:
        super().__init__(f"A contact may be in at most {MAX_GROUPS} groups, not {count}.")
        self.count = count
        self.limit = MAX_GROUPS


class NoSuchContact(ContactError):
    def __init__(self, name: str) -> None:
        shown = preview_text(name, 40)
        super().__init__(f"There is no contact “{shown}”.")
        self.name = shown


class DuplicateLine(ContactError):
    """An import naming the same contact twice."""

    def __init__(self, name: str, first_line: int) -> None:
        shown = preview_text(name, 40)
        super().__init__(f"“{shown}” is already on line {first_line}.")
        self.name = shown
        self.first_line = first_line


def split_groups(text: str) -> list[str]:
    """A list of groups as typed: separated by blanks, ";" or ","."""
    return text.replace(";", " ").replace(",", " ").split()


@dataclass(frozen=True, slots=True)
class ContactPage:
    contacts: list[ContactRecord]
    total: int
    offset: int


@dataclass(slots=True)
class ImportPlan:
    """What an import would do: the rows to write (``line``, row, ``True`` when new),
    the lines that change nothing, and the refused lines (``line``, why)."""

    rows: list[tuple[int, ContactRow, bool]] = field(default_factory=list)
    refused: list[tuple[int, InvalidInput]] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for _, _, new in self.rows if new)

    @property
    def updated(self) -> int:
        return len(self.rows) - self.created


class ContactBook:
    """``check``: the send policy's number check; ``gateway_names``: every gateway
    name of the program (configured or not), which no name may be."""

    def __init__(
        self,
        contacts: ContactRepository,
        audit: AuditLog,
        check: Callable[[str], str],
        gateway_names: Collection[str],
    ) -> None:
        self._contacts = contacts
        self._audit = audit
        self._check = check
        self._gateways = frozenset(name_key(n) for n in gateway_names)

    # ------------------------------------------------------------------ the rules

    def clean_name(self, raw: str, *, group: bool = False) -> str:
        """The name as it will be kept (blanks collapsed), or ``BadName``."""
        name = " ".join(raw.split())
        if any(ch in _SEPARATORS for ch in raw):
            raise BadName(name, "separator", group=group)
        if not name:
            raise BadName(name, "empty", group=group)
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
            raise BadName(name, "control", group=group)
        if len(name) > MAX_CONTACT_NAME:
            raise BadName(name, "too_long", group=group)
        if name.startswith("/"):
            raise BadName(name, "command", group=group)
        if looks_like_number(name):
            raise BadName(name, "number", group=group)
        if name.startswith(_FORMULA_START):
            raise BadName(name, "formula", group=group)
        if name_key(name) in self._gateways:
            raise BadName(name, "gateway", group=group)
        if group and " " in name:
            raise BadName(name, "blank", group=group)
        return name

    def check(self, name: str, phone: str, groups: Iterable[str] = ()) -> ContactRow:
        """A contact as it will be written, or the first rule it breaks."""
        clean = self.clean_name(name)
        number = self._check(phone)
        kept: dict[str, str] = {}
        for raw in groups:
            group = self.clean_name(raw, group=True)
            kept.setdefault(name_key(group), group)
        if len(kept) > MAX_GROUPS:
            raise TooManyGroups(len(kept))
        if name_key(clean) in kept:
            raise NameTaken(kept[name_key(clean)], as_group=True)
        return ContactRow(clean, number, tuple(kept.values()))

    # ------------------------------------------------------------------ changes

    async def add(
        self,
        actor: int | None,
        name: str,
        phone: str,
        groups: Iterable[str] = (),
        *,
        replace: bool = True,
    ) -> tuple[ContactRecord, bool]:
        """Add a contact, or change the number and groups of the one of that name
        (unless ``replace`` is False: then ``ContactExists``). An update that names no
        group keeps the groups the contact had: changing a number must not take a
        person off the on-call group. ``(contact, created)``."""
        row = self.check(name, phone, groups)
        try:
            record, created = await self._contacts.put(
                row, actor=actor, replace=replace, keep_groups=not row.groups
            )
        except NameClash as exc:
            raise NameTaken(exc.name, as_group=exc.as_group) from None
        except StoredContactExists as exc:
            raise ContactExists(exc.existing) from None
        detail = f"{record.name} +{record.phone} groups={' '.join(record.groups) or '-'}"
        await self._audit.record(
            actor, "contact_add" if created else "contact_update", _by(actor, detail)
        )
        return record, created

    async def delete(self, actor: int | None, name: str) -> ContactRecord:
        removed = await self._contacts.delete(name)
        if removed is None:
            raise NoSuchContact(name)
        await self._audit.record(
            actor, "contact_del", _by(actor, f"{removed.name} +{removed.phone}")
        )
        return removed

    async def plan_import(self, lines: Iterable[tuple[int, str, str, Sequence[str]]]) -> ImportPlan:
        """Check every line (number, name, phone, groups) against the rules, the book
        and the lines before it; nothing is written."""
        contacts, groups = await self._contacts.taken()
        group_keys = set(groups)
        seen: dict[str, int] = {}
        plan = ImportPlan()
        for line, name, phone, line_groups in lines:
            try:
                row = self.check(name, phone, line_groups)
                key = name_key(row.name)
                if key in seen:
                    raise DuplicateLine(row.name, seen[key])
                if key in group_keys:
                    raise NameTaken(row.name, as_group=False)
                for group in row.groups:
                    if name_key(group) in contacts or name_key(group) in seen:
                        raise NameTaken(group, as_group=True)
            except InvalidInput as exc:
                plan.refused.append((line, exc))
                continue
            seen[key] = line
            group_keys.update(name_key(g) for g in row.groups)
            if contacts.get(key) == (row.name, row.phone, frozenset(map(name_key, row.groups))):
                plan.unchanged.append(line)
            else:
                plan.rows.append((line, row, key not in contacts))
        return plan

    async def apply_import(self, actor: int | None, plan: ImportPlan) -> tuple[int, int]:
        """Write the plan's rows in one transaction (all or none). ``(created, updated)``."""
        if not plan.rows:
            return 0, 0
        try:
            created, updated = await self._contacts.put_many(
                (row for _, row, _ in plan.rows), actor=actor
            )
        except NameClash as exc:  # the book changed since the plan was made
            raise NameTaken(exc.name, as_group=exc.as_group) from None
        await self._audit.record(
            actor, "contact_import", _by(actor, f"created={created} updated={updated}")
        )
        return created, updated

    # ------------------------------------------------------------------ reading

    async def page(self, offset: int, limit: int) -> ContactPage:
        contacts, total = await self._contacts.page(offset, limit)
        return ContactPage(contacts, total, offset)

    async def groups(self) -> list[GroupSize]:
        return await self._contacts.groups()

    async def get(self, name: str) -> ContactRecord | None:
        return await self._contacts.get(name)

    async def export(self) -> list[ContactRecord]:
        return await self._contacts.all()


def _by(actor: int | None, detail: str) -> str:
    return detail if actor is not None else f"{detail} (command line)"
