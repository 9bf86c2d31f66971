"""The address book: the repository (lookup, paging, groups, one transaction per change,
an import all-or-nothing) and the rules of ``ContactBook`` (names, numbers, clashes,
the audit log); names and groups resolve through ``core.recipients``."""

from __future__ import annotations

import asyncio

import pytest

from bot.core import Core
from services.contacts import (
    MAX_CONTACT_NAME,
    MAX_GROUPS,
    BadName,
    ContactExists,
    DuplicateLine,
    NameTaken,
    NoSuchContact,
    TooManyGroups,
)
from services.domain import InvalidInput, InvalidPhone
from services.recipients import BookEntry, UnknownRecipient, name_key
from storage.contacts import ContactRepository, ContactRow, NameClash
from storage.contacts import name_key as stored_name_key

ADMIN = 111


async def _team(core: Core) -> None:
    await core.contacts.add(ADMIN, "Petr", "+7 912 345-67-80", ["oncall", "ops"])
    await core.contacts.add(ADMIN, "anna", "8 912 345 67 81", ["OnCall"])
    await core.contacts.add(ADMIN, "Boris", "79123456782")


async def test_names_and_groups_resolve_through_the_book(core: Core) -> None:
    await _team(core)
    result = await core.recipients.resolve(["oncall", "Petr", "ghost"])
    # the group's members sorted by name; Petr once (his second entry is a duplicate)
    assert result.numbers == ["79123456781", "79123456780"]
    assert result.names() == {"79123456781": "anna", "79123456780": "Petr"}
    assert [(d.entry, d.first) for d in result.duplicates] == [("Petr", "oncall")]
    assert [(r.entry, type(r.error)) for r in result.refused] == [("ghost", UnknownRecipient)]


async def test_lookup_by_key(core: Core) -> None:
    await _team(core)
    book = ContactRepository(core.db)
    found = await book.lookup({"oncall", "boris", "ops", "nobody"})
    assert found == {
        "oncall": [BookEntry("anna", "79123456781"), BookEntry("Petr", "79123456780")],
        "boris": [BookEntry("Boris", "79123456782")],
        "ops": [BookEntry("Petr", "79123456780")],
    }
    assert await book.lookup(set()) == {}


def test_the_book_and_the_resolver_fold_names_alike() -> None:
    for raw in ("Petr", "  ПЁТР  Иванов ", "STRASSE", "Straße", "on\tcall"):
        assert stored_name_key(raw) == name_key(raw)


async def test_names_are_case_insensitive_and_an_add_updates(core: Core) -> None:
    await _team(core)
    record, created = await core.contacts.add(ADMIN, "PETR", "79123456789", ["ops"])
    assert not created
    assert (record.name, record.phone, record.groups) == ("PETR", "79123456789", ("ops",))
    page = await core.contacts.page(0, 10)
    assert page.total == 3
    assert [c.name for c in page.contacts] == ["anna", "Boris", "PETR"]
    groups = {g.name: g.size for g in await core.contacts.groups()}
    assert groups == {"oncall": 1, "ops": 1}  # Petr left oncall; the first spelling stays


async def test_a_new_number_without_groups_keeps_the_contacts_groups(core: Core) -> None:
    await core.contacts.add(ADMIN, "Petr", "79123456780", ["oncall", "ops"])
    record, created = await core.contacts.add(ADMIN, "petr", "79123456781")
    assert not created
    assert (record.phone, set(record.groups)) == ("79123456781", {"oncall", "ops"})
    resolved = await core.recipients.resolve(["oncall"])
    assert resolved.numbers == ["79123456781"]


async def test_the_number_passes_the_send_policy_and_is_kept_as_digits(core: Core) -> None:
    record, _ = await core.contacts.add(ADMIN, "Petr", "+7 (912) 345-67-80")
    assert record.phone == "79123456780"
    with pytest.raises(InvalidPhone):
        await core.contacts.add(ADMIN, "Ivan", "12")
    with pytest.raises(InvalidInput):  # a premium-rate number is refused as for a send
        await core.contacts.add(ADMIN, "Ivan", "+7 809 123-45-67")
    assert (await core.contacts.page(0, 10)).total == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * (MAX_CONTACT_NAME + 1), "too_long"),
        ("Petr, Anna", "separator"),
        ("Petr;", "separator"),
        ("Petr\nAnna", "separator"),
        ("Pe\u200etr", "control"),
        ("+7 912 345-67-80", "number"),
        ("112", "number"),
        ("SMSKA", "gateway"),
        ("sandbox", "gateway"),
        ("/send", "command"),
    ],
)
async def test_a_bad_name_is_refused_and_changes_nothing(
    core: Core, name: str, reason: str
) -> None:
    with pytest.raises(BadName) as caught:
        await core.contacts.add(ADMIN, name, "79123456780")
    assert caught.value.reason == reason
    assert str(caught.value)  # a sentence for a person
    with pytest.raises(BadName) as caught:
        await core.contacts.add(ADMIN, "Petr", "79123456780", [name or ","])
    assert caught.value.group
    assert (await core.contacts.page(0, 10)).total == 0
    assert await core.store.audit.recent(action="contact_add") == []


async def test_group_names_are_one_word_and_bounded(core: Core) -> None:
    with pytest.raises(BadName) as caught:
        await core.contacts.add(ADMIN, "Petr", "79123456780", ["on call"])
    assert caught.value.reason == "blank"
    too_many = [f"g{i}" for i in range(MAX_GROUPS + 1)]
    with pytest.raises(TooManyGroups):
        await core.contacts.add(ADMIN, "Petr", "79123456780", too_many)
    record, _ = await core.contacts.add(ADMIN, "Petr", "79123456780", ["ops", "OPS", "ops"])
    assert record.groups == ("ops",)


async def test_a_contact_and_a_group_never_share_a_name(core: Core) -> None:
    await _team(core)
    with pytest.raises(NameTaken) as caught:
        await core.contacts.add(ADMIN, "ONCALL", "79123456783")
    assert not caught.value.as_group
    with pytest.raises(NameTaken) as caught:
        await core.contacts.add(ADMIN, "Ivan", "79123456783", ["boris"])
    assert caught.value.as_group
    with pytest.raises(NameTaken):
        await core.contacts.add(ADMIN, "Ivan", "79123456783", ["ivan"])
    with pytest.raises(NameTaken):  # an update cannot make the clash either
        await core.contacts.add(ADMIN, "Petr", "79123456780", ["anna"])
    assert (await core.contacts.get("petr")) is not None
    assert (await core.contacts.get("petr")).groups == ("oncall", "ops")  # type: ignore[union-attr]


async def test_saving_a_new_contact_does_not_replace_one(core: Core) -> None:
    await _team(core)
    with pytest.raises(ContactExists) as caught:
        await core.contacts.add(ADMIN, "petr", "79123456789", replace=False)
    assert caught.value.phone == "79123456780"
    assert (await core.contacts.get("Petr")).phone == "79123456780"  # type: ignore[union-attr]


async def test_delete_removes_the_contact_and_its_memberships(core: Core) -> None:
    await _team(core)
    removed = await core.contacts.delete(ADMIN, "PETR")
    assert removed.name == "Petr"
    assert {g.name: g.size for g in await core.contacts.groups()} == {"oncall": 1}
    with pytest.raises(NoSuchContact):
        await core.contacts.delete(ADMIN, "Petr")
    rows = await core.db.fetchall("SELECT COUNT(*) FROM contact_groups")
    assert rows[0][0] == 1
    # a deleted contact's name is free for a group now, and the other way round
    await core.contacts.add(ADMIN, "Boris", "79123456782", ["petr"])


async def test_every_change_is_audited_with_who_made_it(core: Core) -> None:
    await core.contacts.add(ADMIN, "Petr", "79123456780", ["ops"])
    await core.contacts.add(None, "Petr", "79123456781")
    await core.contacts.delete(ADMIN, "petr")
    entries = await core.store.audit.recent(10)
    assert [(e.user_id, e.action) for e in entries] == [
        (ADMIN, "contact_del"),
        (None, "contact_update"),
        (ADMIN, "contact_add"),
    ]
    assert "command line" in entries[1].detail
    assert "79123456780" in entries[2].detail


async def test_paging_gives_a_window_and_the_total(core: Core) -> None:
    for i in range(25):
        await core.contacts.add(ADMIN, f"Name{i:02}", f"791234567{i:02}", ["all"])
    page = await core.contacts.page(20, 10)
    assert page.total == 25
    assert [c.name for c in page.contacts] == [f"Name{i}" for i in range(20, 25)]
    assert all(c.groups == ("all",) for c in page.contacts)
    assert (await core.contacts.page(100, 10)).contacts == []
    assert [(g.name, g.size) for g in await core.contacts.groups()] == [("all", 25)]
    assert len(await core.contacts.export()) == 25


async def test_an_import_plan_reports_each_bad_line_and_writes_nothing(core: Core) -> None:
    await _team(core)
    plan = await core.contacts.plan_import(
        [
            (2, "Ivan", "79123456790", ["ops"]),
            (3, "Ghost", "12", []),
            (4, "ivan", "79123456791", []),
            (5, "oncall", "79123456792", []),
            (6, "Olga", "79123456793", ["petr"]),
            (7, "Petr", "79123456794", ["newgroup"]),
            (8, "newgroup", "79123456795", []),
            (9, "Boris", "+7 912 345 67 82", []),
            (10, "anna", "79123456781", ["ONCALL"]),
        ]
    )
    assert plan.unchanged == [9, 10]  # the same number and groups: nothing to write
    assert [(line, row.name, new) for line, row, new in plan.rows] == [
        (2, "Ivan", True),
        (7, "Petr", False),
    ]
    refused = {line: type(error) for line, error in plan.refused}
    assert refused == {
        3: InvalidPhone,
        4: DuplicateLine,
        5: NameTaken,
        6: NameTaken,
        8: NameTaken,
    }
    assert (plan.created, plan.updated) == (1, 1)
    assert (await core.contacts.page(0, 10)).total == 3
    assert await core.contacts.apply_import(None, plan) == (1, 1)
    assert (await core.contacts.get("petr")).phone == "79123456794"  # type: ignore[union-attr]


async def test_an_import_is_all_or_nothing(core: Core) -> None:
    await _team(core)
    book = ContactRepository(core.db)
    rows = [ContactRow("Ivan", "79123456790"), ContactRow("Olga", "79123456791", ("petr",))]
    with pytest.raises(NameClash):
        await book.put_many(rows, actor=ADMIN)
    assert await book.get("Ivan") is None
    assert (await book.page(0, 10))[1] == 3


async def test_a_contact_and_a_group_of_one_name_at_once_one_wins(core: Core) -> None:
    results = await asyncio.gather(
        core.contacts.add(ADMIN, "Ops", "79123456780"),
        core.contacts.add(ADMIN, "Petr", "79123456781", ["ops"]),
        return_exceptions=True,
    )
    assert sum(isinstance(r, NameTaken) for r in results) == 1
    contacts = {c.name: c.groups for c in await core.contacts.export()}
    assert ("Ops" in contacts) != ("ops" in {g for gs in contacts.values() for g in gs})
