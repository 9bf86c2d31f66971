"""Many recipients: numbers, contact names and groups, as every entry point takes them.

``split_entries`` cuts what was typed (``oncall, Petr, +7 912 345-67-80``) into entries;
``RecipientResolver.resolve`` turns the entries into unique numbers, keeping what it
removed and what it refused, so that an entry point can list both back: nothing is
dropped silently. The address book is reached through the ``AddressBook`` protocol
(``storage.contacts`` implements it); without a book, only numbers resolve.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.domain import InvalidInput, InvalidPhone, preview_text, printable_text

# defined with the book that stores it (storage may not import services)
from storage.contacts import BookEntry as BookEntry

#: Entries are separated by commas, semicolons or line breaks.
_SEPARATOR = re.compile(r"[,;\n]")
#: What a number may be written with; anything else is a name.
_NUMBER_LIKE = re.compile(r"[+\d()\-.\s\u00a0\u2010-\u2015]+")

DEFAULT_MAX_RECIPIENTS = 10_000


class AddressBook(Protocol):
    async def lookup(self, keys: Collection[str]) -> Mapping[str, Sequence[BookEntry]]:
        """For each key (a name folded by ``name_key``) that is a contact or a group:
        the people it stands for (one for a contact, the members for a group). Keys
        the book does not know are absent."""
        ...


def name_key(name: str) -> str:
    """How names compare: case-insensitive, inner blanks collapsed."""
    return " ".join(name.split()).casefold()


def looks_like_number(entry: str) -> bool:
    return bool(_NUMBER_LIKE.fullmatch(entry)) and any(ch.isdigit() for ch in entry)


def split_entries(text: str) -> list[str]:
    """``"oncall, Petr,,+7 912 345-67-80"`` -> ``["oncall", "Petr", "+7 912 345-67-80"]``."""
    return [part.strip() for part in _SEPARATOR.split(text) if part.strip()]


class UnknownRecipient(InvalidInput):
    """A name that is neither a contact nor a group."""

    def __init__(self, entry: str) -> None:
        super().__init__(f"“{preview_text(entry)}” is neither a contact nor a group.")
        self.entry = entry


class EmptyGroup(InvalidInput):
    def __init__(self, entry: str) -> None:
        super().__init__(f"The group “{preview_text(entry)}” has no members.")
        self.entry = entry


class TooManyRecipients(InvalidInput):
    def __init__(self, count: int, limit: int) -> None:
        # ``count``: the entries listed (a group counts once), at least ``limit`` + 1 people
        super().__init__(
            f"The list has more than the {limit} recipients one send may have: split it."
        )
        self.count = count
        self.limit = limit


class NoRecipients(InvalidInput):
    def __init__(self) -> None:
        super().__init__("There is no recipient.")


@dataclass(frozen=True, slots=True)
class Recipient:
    number: str  # international digits, checked by the send policy
    name: str | None  # the contact's name when it came from the book
    entry: str  # the entry as typed that gave it (a number, a name, a group)


@dataclass(frozen=True, slots=True)
class Refused:
    entry: str  # as typed
    error: InvalidInput  # InvalidPhone and its kinds, UnknownRecipient, EmptyGroup
    name: str | None = None  # the contact's name, when a book entry's number is refused


@dataclass(frozen=True, slots=True)
class Duplicate:
    entry: str  # as typed
    number: str
    first: str  # the entry that already gave this number


@dataclass(frozen=True, slots=True)
class Resolution:
    recipients: list[Recipient] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)

    @property
    def numbers(self) -> list[str]:
        return [r.number for r in self.recipients]

    def names(self) -> dict[str, str]:
        """number -> contact name, for the recipients that have one."""
        return {r.number: r.name for r in self.recipients if r.name}


class RecipientResolver:
    """Entries -> unique numbers. ``check`` is the send policy's number check
    (``SendService.recipient``): every number, typed or from the book, passes it."""

    def __init__(
        self,
        check: Callable[[str], str],
        book: AddressBook | None = None,
        *,
        max_recipients: int = DEFAULT_MAX_RECIPIENTS,
    ) -> None:
        self._check = check
        self.book = book
        self.max_recipients = max_recipients

    async def names_someone(self, entry: str) -> bool:
        """Whether ``entry`` is the name of a contact or a group in the book: a file's
        first line that is one is a recipient, never a header to skip."""
        entry = entry.strip()
        if self.book is None or not entry or looks_like_number(entry):
            return False
        if printable_text(entry) != entry:  # never odd bytes to the database
            return False
        key = name_key(entry)
        return key in await self.book.lookup({key})

    async def resolve(self, entries: Iterable[str]) -> Resolution:
        """Resolve every entry; raise ``TooManyRecipients`` past the limit (nothing is
        cut silently). An empty result is not an error here: the caller says so with
        what was refused."""
        listed = [e for e in (entry.strip() for entry in entries) if e]
        if len(listed) > self.max_recipients:
            # more entries than a send may have recipients: refused before checking any
            # (300,000 numbers would hold the event loop for half a minute)
            raise TooManyRecipients(len(listed), self.max_recipients)
        # bytes that were not UTF-8 (surrogate escapes) or control characters: neither a
        # number nor a name, and never sent to the database as one
        garbled = {e for e in listed if printable_text(e) != e}
        names = {name_key(e) for e in listed if not looks_like_number(e) and e not in garbled}
        found: Mapping[str, Sequence[BookEntry]] = {}
        if names and self.book is not None:
            found = await self.book.lookup(names)
        result = Resolution()
        seen: dict[str, str] = {}  # number -> the entry that gave it

        def add(number: str, name: str | None, entry: str) -> None:
            if number in seen:
                result.duplicates.append(Duplicate(entry, number, seen[number]))
                return
            if len(seen) >= self.max_recipients:
                # stop at once: a list of a million lines is not checked line by line
                raise TooManyRecipients(len(listed), self.max_recipients)
            seen[number] = entry
            result.recipients.append(Recipient(number, name, entry))

        for entry in listed:
            if entry in garbled:
                reason = f"“{preview_text(entry)}” is not a phone number or a name: it holds "
                result.refused.append(
                    Refused(entry, InvalidPhone(entry, reason + "non-text bytes."))
                )
                continue
            if looks_like_number(entry):
                try:
                    number = self._check(entry)
                except InvalidInput as exc:
                    result.refused.append(Refused(entry, exc))
                    continue
                add(number, None, entry)
                continue
            people = found.get(name_key(entry))
            if people is None:
                result.refused.append(Refused(entry, UnknownRecipient(entry)))
                continue
            if not people:
                result.refused.append(Refused(entry, EmptyGroup(entry)))
                continue
            for person in people:
                try:
                    # a kept number is international digits: read it with its "+"
                    number = self._check("+" + person.number.lstrip("+"))
                except InvalidInput as exc:
                    result.refused.append(Refused(entry, exc, name=person.name))
                    continue
                add(number, person.name, entry)
        return result
