"""Many recipients: entries resolve to unique numbers through the send policy and the
address book; whatever is removed or refused is kept for the entry point to list."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import pytest

from bot.core import Core
from services.domain import InvalidPhone, normalize_phone
from services.recipients import (
    BookEntry,
    EmptyGroup,
    RecipientResolver,
    TooManyRecipients,
    UnknownRecipient,
    split_entries,
)
from services.sending import Origin

BOOK: dict[str, list[BookEntry]] = {
    "oncall": [BookEntry("Petr", "79123456780"), BookEntry("Anna", "79123456781")],
    "petr": [BookEntry("Petr", "79123456780")],
    "nobody home": [],
}


class Book:
    def __init__(self) -> None:
        self.asked: list[set[str]] = []

    async def lookup(self, keys: Collection[str]) -> Mapping[str, Sequence[BookEntry]]:
        self.asked.append(set(keys))
        return {key: BOOK[key] for key in keys if key in BOOK}


def test_entries_split_on_commas_semicolons_and_lines() -> None:
    assert split_entries(" oncall, Petr,,+7 912 345-67-80;\n  x ;") == [
        "oncall",
        "Petr",
        "+7 912 345-67-80",
        "x",
    ]


async def test_groups_names_and_numbers_resolve_once_each() -> None:
    book = Book()
    resolver = RecipientResolver(normalize_phone, book)
    result = await resolver.resolve(
        split_entries("oncall, PETR ,8 912 345-67-82, Nobody  Home, ghost, 123, +7 912 345 67 81")
    )
    assert result.numbers == ["79123456780", "79123456781", "79123456782"]
    assert result.names() == {"79123456780": "Petr", "79123456781": "Anna"}
    assert [(d.entry, d.number, d.first) for d in result.duplicates] == [
        ("PETR", "79123456780", "oncall"),
        ("+7 912 345 67 81", "79123456781", "oncall"),
    ]
    refused = {r.entry: type(r.error) for r in result.refused}
    assert refused == {
        "Nobody  Home": EmptyGroup,
        "ghost": UnknownRecipient,
        "123": InvalidPhone,
    }
    # names are looked up once, folded; numbers never reach the book
    assert book.asked == [{"oncall", "petr", "nobody home", "ghost"}]


async def test_a_list_past_the_limit_is_refused_whole() -> None:
    resolver = RecipientResolver(normalize_phone, Book(), max_recipients=2)
    with pytest.raises(TooManyRecipients):
        await resolver.resolve(["79123456782", "oncall"])
    # duplicates do not count towards the limit of recipients (a group counts its
    # members); the entries listed may not be more than the limit either
    three = RecipientResolver(normalize_phone, Book(), max_recipients=3)
    with pytest.raises(TooManyRecipients):
        await three.resolve(["oncall", "79123456782", "79123456783"])
    result = await three.resolve(["oncall", "petr", "79123456781"])
    assert len(result.numbers) == 2


async def test_a_book_number_the_policy_refuses_is_listed_with_its_name() -> None:
    resolver = RecipientResolver(lambda raw: normalize_phone(raw, allowed_regions={"GB"}), Book())
    result = await resolver.resolve(["petr"])
    assert result.numbers == []
    assert [(r.entry, r.name) for r in result.refused] == [("petr", "Petr")]


async def test_a_job_keeps_each_recipients_contact_name(core: Core) -> None:
    prepared = core.sender.prepare("79123456780", "Disk full")
    started = await core.sender.submit(
        ["79123456780", "79123456781"],
        prepared,
        Origin(source="cli"),
        names={"79123456780": "Petr"},
    )
    await started.outcomes()
    rows = await core.store.messages.of_job(started.job.id)
    assert {r.recipient: r.recipient_name for r in rows} == {
        "79123456780": "Petr",
        "79123456781": None,
    }


VIETNAM = "84912345678"  # also a valid Russian number if read as national: 8 491 …


async def test_submit_and_the_resolver_read_kept_numbers_as_international(
    core: Core,
) -> None:
    await core.contacts.add(None, "Nguyen", "+84 91 234 5678", ["asia"])
    resolved = await core.recipients.resolve(["asia"])
    assert resolved.numbers == [VIETNAM]
    prepared = core.sender.prepare(VIETNAM, "hi", international=True)
    assert prepared.recipient == VIETNAM
    started = await core.sender.submit(resolved.numbers, prepared, Origin(source="cli"))
    assert [r.recipient for r in started.records] == [VIETNAM]
    outcomes = await started.outcomes()
    assert [o.record.recipient for o in outcomes] == [VIETNAM]


async def test_more_entries_than_recipients_allowed_are_refused_before_any_check() -> None:
    book = Book()
    checked: list[str] = []

    def check(raw: str) -> str:
        checked.append(raw)
        return normalize_phone(raw)

    resolver = RecipientResolver(check, book, max_recipients=2)
    with pytest.raises(TooManyRecipients):
        await resolver.resolve(["79123456780", "ghost", "79123456781"])
    assert checked == [] and book.asked == []


async def test_numbers_resolved_once_are_not_parsed_again_by_the_job(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []

    def counting(raw: str, *args: object, **kwargs: object) -> str:
        parsed.append(raw)
        return normalize_phone(raw, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("services.sending.normalize_phone", counting)
    resolved = await core.recipients.resolve(["8 912 345-67-80", "+84 91 234 5678"])
    assert len(parsed) == 2
    prepared = core.sender.prepare(resolved.numbers[0], "hi", international=True)
    started = await core.sender.submit(resolved.numbers, prepared, Origin(source="cli"))
    await started.outcomes()
    assert len(parsed) == 2  # the job took the numbers as checked
    assert [r.recipient for r in started.records] == ["79123456780", VIETNAM]
    with pytest.raises(InvalidPhone):  # a number never checked is still checked
        core.sender.recipient("12", international=True)
