"""The team's address book: contacts (a name and a number) and the groups they are in.

Names are compared by their key (``name_key``: case-insensitive, blanks collapsed);
a group exists while it has a member. Every change is one ``BEGIN IMMEDIATE``
transaction that also checks, inside it, that no contact name is a group name and
no group name a contact name (``NameClash``), so two writers cannot both slip one
past the other. The rules about what a name or a number may be live in
``services.contacts``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database, from_db_time, to_db_time, utcnow

#: keys asked of SQLite at once (its limit on bound parameters is 999 on old builds)
_CHUNK = 500


def name_key(name: str) -> str:
    """How names compare: case-insensitive, inner blanks collapsed."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class BookEntry:
    """One person the address book knows: their name as written and their number
    (international digits, as ``normalize_phone`` gives it)."""

    name: str
    number: str


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A contact to write: its name, its number (international digits) and the names
    of its groups (each once, by key)."""

    name: str
    phone: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContactRecord:
    id: int
    name: str
    phone: str
    groups: tuple[str, ...]  # as written, sorted by key
    added_by: int | None
    added_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GroupSize:
    name: str
    size: int


class NameClash(Exception):
    """``name`` is already taken by the other kind: a contact named like an existing
    group (``as_group`` False), or a group named like an existing contact (True)."""

    def __init__(self, name: str, *, as_group: bool) -> None:
        super().__init__(name)
        self.name = name
        self.as_group = as_group


class ContactExists(Exception):
    """``put(..., replace=False)`` found a contact of that name."""

    def __init__(self, existing: ContactRecord) -> None:
        super().__init__(existing.name)
        self.existing = existing


class ContactRepository:
    """Implements ``services.recipients.AddressBook``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def lookup(self, keys: Collection[str]) -> Mapping[str, Sequence[BookEntry]]:
        """A contact key gives that contact; a group key its members, sorted by name."""
        found: dict[str, list[BookEntry]] = {}
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT name_key, name, phone FROM contacts WHERE name_key IN ({marks})",  # noqa: S608 - only "?" marks
                chunk,
            )
            contacts = set()
            for row in rows:
                contacts.add(row["name_key"])
                found[row["name_key"]] = [BookEntry(row["name"], row["phone"])]
            rows = await self._db.fetchall(
                "SELECT g.group_key, c.name, c.phone FROM contact_groups AS g "  # noqa: S608 - only "?" marks
                "JOIN contacts AS c ON c.id = g.contact_id "
                f"WHERE g.group_key IN ({marks}) ORDER BY g.group_key, c.name_key, c.id",
                chunk,
            )
            for row in rows:
                if row["group_key"] in contacts:
                    continue  # never both a contact and a group; if it were, the contact wins
                found.setdefault(row["group_key"], []).append(BookEntry(row["name"], row["phone"]))
        return found

    async def get(self, name: str) -> ContactRecord | None:
        row = await self._db.fetchone(
            "SELECT * FROM contacts WHERE name_key = ?", (name_key(name),)
        )
        if row is None:
            return None
        return (await self._with_groups([row]))[0]

    async def put(
        self,
        row: ContactRow,
        *,
        actor: int | None,
        replace: bool = True,
        keep_groups: bool = False,
    ) -> tuple[ContactRecord, bool]:
        """Add a contact, or (``replace``) change the number and groups of the one of
        that name; with ``keep_groups`` and no groups in ``row``, an update keeps the
        groups it had. Returns ``(contact, created)``. Raises ``NameClash``, and
        ``ContactExists`` when the name is taken and ``replace`` is False."""
        async with self._db.transaction() as conn:
            contact_id, created = await _put(
                conn, row, actor, replace=replace, keep_groups=keep_groups
            )
        record = await self._by_id(contact_id)
        return record, created

    async def put_many(self, rows: Iterable[ContactRow], *, actor: int | None) -> tuple[int, int]:
        """Add or update every row in ONE transaction: all of them or none (a
        ``NameClash`` rolls everything back). Returns ``(created, updated)``."""
        created = updated = 0
        async with self._db.transaction() as conn:
            for row in rows:
                _, new = await _put(conn, row, actor, replace=True)
                created += new
                updated += not new
        return created, updated

    async def delete(self, name: str) -> ContactRecord | None:
        """Remove the contact (and its group memberships); None: no such contact."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT * FROM contacts WHERE name_key = ?", (name_key(name),)
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            groups = await _groups_of(conn, [row["id"]])
            # explicit, not left to ON DELETE CASCADE: this holds without foreign keys too
            await conn.execute("DELETE FROM contact_groups WHERE contact_id = ?", (row["id"],))
            await conn.execute("DELETE FROM contacts WHERE id = ?", (row["id"],))
        return _record(row, groups.get(row["id"], ()))

    async def page(self, offset: int, limit: int) -> tuple[list[ContactRecord], int]:
        """Contacts ``offset``..``offset+limit`` by name, and how many there are."""
        total_row = await self._db.fetchone("SELECT COUNT(*) FROM contacts")
        total = int(total_row[0]) if total_row else 0
        rows = await self._db.fetchall(
            "SELECT * FROM contacts ORDER BY name_key, id LIMIT ? OFFSET ?",
            (max(0, limit), max(0, offset)),
        )
        return await self._with_groups(rows), total

    async def all(self) -> list[ContactRecord]:
        rows = await self._db.fetchall("SELECT * FROM contacts ORDER BY name_key, id")
        return await self._with_groups(rows)

    async def groups(self) -> list[GroupSize]:
        """Every group (a name as first written) with its number of members."""
        rows = await self._db.fetchall(
            "SELECT group_key, MIN(group_name) AS name, COUNT(*) AS size FROM contact_groups "
            "GROUP BY group_key ORDER BY group_key"
        )
        return [GroupSize(r["name"], int(r["size"])) for r in rows]

    async def taken(self) -> tuple[dict[str, tuple[str, str, frozenset[str]]], dict[str, str]]:
        """Each contact's key -> its name, number and group keys, and each group's
        key -> its name: what a plan of many rows checks against before it is written."""
        members: dict[int, set[str]] = {}
        for r in await self._db.fetchall("SELECT contact_id, group_key FROM contact_groups"):
            members.setdefault(int(r[0]), set()).add(r[1])
        contacts = {
            r["name_key"]: (r["name"], r["phone"], frozenset(members.get(int(r["id"]), ())))
            for r in await self._db.fetchall("SELECT id, name_key, name, phone FROM contacts")
        }
        groups = {
            r[0]: r[1]
            for r in await self._db.fetchall(
                "SELECT group_key, MIN(group_name) FROM contact_groups GROUP BY group_key"
            )
        }
        return contacts, groups

    async def _by_id(self, contact_id: int) -> ContactRecord:
        row = await self._db.fetchone("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        assert row is not None
        return (await self._with_groups([row]))[0]

    async def _with_groups(self, rows: Sequence[aiosqlite.Row]) -> list[ContactRecord]:
        ids = [int(r["id"]) for r in rows]
        groups: dict[int, list[str]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            found = await self._db.fetchall(
                "SELECT contact_id, group_name FROM contact_groups "  # noqa: S608 - only "?" marks
                f"WHERE contact_id IN ({marks}) ORDER BY group_key",
                chunk,
            )
            for r in found:
                groups.setdefault(int(r["contact_id"]), []).append(r["group_name"])
        return [_record(r, tuple(groups.get(int(r["id"]), ()))) for r in rows]


async def _put(
    conn: aiosqlite.Connection,
    row: ContactRow,
    actor: int | None,
    *,
    replace: bool,
    keep_groups: bool = False,
) -> tuple[int, bool]:
    key = name_key(row.name)
    now = to_db_time(utcnow())
    cursor = await conn.execute("SELECT 1 FROM contact_groups WHERE group_key = ? LIMIT 1", (key,))
    if await cursor.fetchone() is not None:
        raise NameClash(row.name, as_group=False)
    group_keys = {name_key(g): g for g in row.groups}
    if group_keys:
        marks = ", ".join("?" * len(group_keys))
        cursor = await conn.execute(
            f"SELECT name FROM contacts WHERE name_key IN ({marks}) LIMIT 1",  # noqa: S608 - only "?" marks
            list(group_keys),
        )
        clash = await cursor.fetchone()
        if key in group_keys:
            raise NameClash(group_keys[key], as_group=True)
        if clash is not None:
            raise NameClash(group_keys[name_key(clash["name"])], as_group=True)
    cursor = await conn.execute("SELECT * FROM contacts WHERE name_key = ?", (key,))
    existing = await cursor.fetchone()
    if existing is not None and not replace:
        groups = await _groups_of(conn, [existing["id"]])
        raise ContactExists(_record(existing, groups.get(existing["id"], ())))
    if existing is None:
        cursor = await conn.execute(
            "INSERT INTO contacts (name, name_key, phone, added_by, added_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (row.name, key, row.phone, actor, now, now),
        )
        assert cursor.lastrowid is not None
        contact_id = int(cursor.lastrowid)
    else:
        contact_id = int(existing["id"])
        await conn.execute(
            "UPDATE contacts SET name = ?, phone = ?, updated_at = ? WHERE id = ?",
            (row.name, row.phone, now, contact_id),
        )
        if group_keys or not keep_groups:
            await conn.execute("DELETE FROM contact_groups WHERE contact_id = ?", (contact_id,))
    for group_key, group_name in group_keys.items():
        # a group keeps the spelling it was first given
        cursor = await conn.execute(
            "SELECT group_name FROM contact_groups WHERE group_key = ? LIMIT 1", (group_key,)
        )
        spelled = await cursor.fetchone()
        await conn.execute(
            "INSERT INTO contact_groups (contact_id, group_key, group_name) VALUES (?, ?, ?)",
            (contact_id, group_key, spelled[0] if spelled else group_name),
        )
    return contact_id, existing is None


async def _groups_of(
    conn: aiosqlite.Connection, contact_ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    marks = ", ".join("?" * len(contact_ids))
    cursor = await conn.execute(
        "SELECT contact_id, group_name FROM contact_groups "  # noqa: S608 - only "?" marks
        f"WHERE contact_id IN ({marks}) ORDER BY group_key",
        list(contact_ids),
    )
    groups: dict[int, list[str]] = {}
    for r in await cursor.fetchall():
        groups.setdefault(int(r[0]), []).append(r[1])
    return {k: tuple(v) for k, v in groups.items()}


def _record(row: aiosqlite.Row, groups: Sequence[str]) -> ContactRecord:
    added_at = from_db_time(row["added_at"])
    updated_at = from_db_time(row["updated_at"])
    assert added_at is not None
    assert updated_at is not None
    return ContactRecord(
        id=int(row["id"]),
        name=row["name"],
        phone=row["phone"],
        groups=tuple(groups),
        added_by=row["added_by"],
        added_at=added_at,
        updated_at=updated_at,
    )
