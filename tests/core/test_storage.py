"""SQLite storage: migrations, WAL, idempotency, repositories, races and two writers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from storage.audit import AuditLog
from storage.balances import BalanceRepository
from storage.db import Database, utcnow
from storage.messages import MessageRepository, NewMessage
from storage.models import MessageState, PreviewState
from storage.schema import MIGRATIONS
from storage.strangers import StrangerRepository
from storage.updates import PreviewRepository, ProcessedUpdates
from storage.users import LastAdminError, UserRepository

RECIPIENT = "79123456789"


def new_message(
    key: str | None = None, *, source: str = "cli", user_id: int | None = None
) -> NewMessage:
    return NewMessage(
        source=source,
        recipient=RECIPIENT,
        text="Server is down",
        encoding="GSM-7",
        parts=1,
        provider="smska",
        user_id=user_id,
        idempotency_key=key,
    )


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    async with Database(db_path) as database:
        yield database


def _pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


# ------------------------------------------------------------------ schema


async def test_migration_sets_user_version(db: Database, db_path: Path) -> None:
    row = await db.fetchone("PRAGMA user_version")
    assert row is not None
    assert row[0] == len(MIGRATIONS)
    assert _pragma(db_path, "user_version") == len(MIGRATIONS)
    tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "messages", "message_events", "audit", "balances", "previews"} <= tables


async def test_connect_creates_the_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "db.sqlite3"
    async with Database(path):
        pass
    assert path.exists()


async def test_reopening_is_idempotent(db_path: Path) -> None:
    async with Database(db_path) as first:
        record, _ = await MessageRepository(first).create(new_message("k1"))
    for _ in range(2):
        async with Database(db_path) as again:
            row = await again.fetchone("PRAGMA user_version")
            assert row is not None
            assert row[0] == len(MIGRATIONS)
            stored = await MessageRepository(again).get(record.id)
            assert stored is not None
            assert stored.idempotency_key == "k1"


async def test_newer_schema_is_refused(db_path: Path) -> None:
    async with Database(db_path):
        pass
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    database = Database(db_path)
    with pytest.raises(RuntimeError, match="newer"):
        await database.connect()
    await database.close()


async def test_wal_is_on(db: Database, db_path: Path) -> None:
    row = await db.fetchone("PRAGMA journal_mode")
    assert row is not None
    assert str(row[0]).lower() == "wal"
    # persistent: a plain connection sees it too
    assert str(_pragma(db_path, "journal_mode")).lower() == "wal"


async def test_memory_database_works() -> None:
    async with Database(":memory:") as database:
        record, created = await MessageRepository(database).create(new_message())
        assert created
        assert record.id == 1


# ----------------------------------------------------------------- messages


async def test_idempotency_key_returns_the_first_record(db: Database) -> None:
    messages = MessageRepository(db)
    first, created = await messages.create(new_message("cli:abc"))
    second, created_again = await messages.create(new_message("cli:abc"))
    assert created is True
    assert created_again is False
    assert second.id == first.id
    assert len(await messages.in_state(MessageState.QUEUED)) == 1
    assert len(await messages.events(first.id)) == 1


async def test_concurrent_creates_with_one_key_make_one_row(db: Database) -> None:
    messages = MessageRepository(db)
    results = await asyncio.gather(*(messages.create(new_message("same")) for _ in range(20)))
    assert sum(created for _, created in results) == 1
    assert len({record.id for record, _ in results}) == 1


async def test_messages_without_key_are_all_created(db: Database) -> None:
    messages = MessageRepository(db)
    ids = [(await messages.create(new_message()))[0].id for _ in range(3)]
    assert ids == [1, 2, 3]


async def test_message_round_trip(db: Database) -> None:
    messages = MessageRepository(db)
    record, _ = await messages.create(new_message("k", source="telegram", user_id=7))
    assert record.state is MessageState.QUEUED
    assert record.sending_at is None
    sending, claimed = await messages.mark_sending(record.id, provider="smska")
    assert claimed
    assert sending.state is MessageState.SENDING
    assert sending.sending_at is not None
    # a second claim of the same row, or a claim of it as a failover, claims nothing
    again, claimed_again = await messages.mark_sending(record.id, provider="smska")
    assert (again.state, claimed_again) == (MessageState.SENDING, False)
    assert (record.source, record.user_id, record.recipient, record.parts) == (
        "telegram",
        7,
        RECIPIENT,
        1,
    )
    check_at = utcnow() + timedelta(seconds=15)
    sent = await messages.mark_sent(
        record.id,
        provider="smska",
        gateway_id="abc123",
        balance=Decimal("7463"),
        balance_unit="credits",
        simulated=False,
        next_check_at=check_at,
    )
    assert sent.state is MessageState.SENT
    assert sent.gateway_id == "abc123"
    assert sent.balance_after == Decimal("7463")
    assert sent.next_check_at == check_at
    assert [r.id for r in await messages.find_by_gateway_id("abc123")] == [record.id]
    assert [r.id for r in await messages.due_for_check(check_at)] == [record.id]
    assert await messages.due_for_check(check_at - timedelta(seconds=1)) == []

    delivered = await messages.update_delivery(
        record.id,
        state=MessageState.DELIVERED,
        code="4",
        name="DELIVRD",
        next_check_at=None,
        changed=True,
    )
    assert delivered.state is MessageState.DELIVERED
    assert (delivered.status_code, delivered.status_name, delivered.checks) == ("4", "DELIVRD", 1)
    assert delivered.next_check_at is None
    states = [e.state for e in await messages.events(record.id)]
    assert states == ["queued", "sending", "sent", "delivered"]
    assert (await messages.get(record.id)) == delivered
    assert await messages.get(999) is None


async def test_failed_and_unknown_round_trip(db: Database) -> None:
    messages = MessageRepository(db)
    a, _ = await messages.create(new_message())
    b, _ = await messages.create(new_message())
    await messages.note_attempt(a.id, "smsrent", "InvalidSignature: bad")
    failed = await messages.mark_failed(
        a.id, provider="smska", error_kind="InvalidRecipient", error_text="no"
    )
    unknown = await messages.mark_unknown(
        b.id, provider="smska", error_kind="OutcomeUnknown", error_text="slow"
    )
    assert (failed.state, failed.provider, failed.error_kind) == (
        MessageState.FAILED,
        "smska",
        "InvalidRecipient",
    )
    assert (unknown.state, unknown.error_text) == (MessageState.UNKNOWN, "slow")
    assert [e.state for e in await messages.events(a.id)] == ["queued", "attempt_failed", "failed"]


async def test_users_round_trip(db: Database) -> None:
    users = UserRepository(db)
    user, created = await users.upsert(1, name="Ann", is_admin=True, added_by=None)
    assert created
    assert (user.user_id, user.name, user.is_admin) == (1, "Ann", True)
    user2, created2 = await users.upsert(2, name="Bob", is_admin=False, added_by=1)
    assert created2
    assert user2.added_by == 1
    renamed, created3 = await users.upsert(2, name=None, is_admin=False, added_by=1)
    assert not created3
    assert renamed.name == "Bob"
    assert await users.set_limits(2, per_minute=1, per_day=10)
    stored = await users.get(2)
    assert stored is not None
    assert (stored.per_minute, stored.per_day) == (1, 10)
    assert [u.user_id for u in await users.list()] == [1, 2]
    assert await users.ensure_admin(3) is True
    assert await users.ensure_admin(3) is False
    assert await users.remove(2) is True
    assert await users.remove(2) is False
    assert await users.get(2) is None


async def test_last_admin_cannot_be_removed_or_demoted(db: Database) -> None:
    users = UserRepository(db)
    await users.upsert(1, name="Ann", is_admin=True, added_by=None)
    await users.upsert(2, name="Bob", is_admin=False, added_by=1)
    with pytest.raises(LastAdminError):
        await users.remove(1)
    with pytest.raises(LastAdminError):
        await users.upsert(1, name="Ann", is_admin=False, added_by=None)
    still = await users.get(1)
    assert still is not None
    assert still.is_admin
    # with a second admin both become possible
    await users.upsert(2, name="Bob", is_admin=True, added_by=1)
    await users.upsert(1, name="Ann", is_admin=False, added_by=None)
    with pytest.raises(LastAdminError):
        await users.remove(2)
    assert await users.remove(1) is True


async def test_audit_round_trip(db: Database) -> None:
    audit = AuditLog(db)
    await audit.record(5, "denied", "x" * 600)
    await audit.record(1, "add_user", "2")
    recent = await audit.recent()
    assert [e.action for e in recent] == ["add_user", "denied"]
    assert len(recent[1].detail) == 500
    assert [e.user_id for e in await audit.recent(action="denied")] == [5]


async def test_balances_round_trip(db: Database) -> None:
    balances = BalanceRepository(db)
    assert await balances.get("smsrent") is None
    now = utcnow()
    await balances.save("smsrent", Decimal("499"), "SMS", now, 1)
    await balances.save("smsrent", Decimal("600"), "SMS", now - timedelta(minutes=1), 0)  # older
    stored = await balances.get("smsrent")
    assert stored is not None
    assert (stored.amount, stored.unit, stored.message_id) == (Decimal("499"), "SMS", 1)
    assert stored.at == now
    await balances.save("smsrent", Decimal("498.5"), "SMS", now + timedelta(seconds=1), 2)
    newer = await balances.get("smsrent")
    assert newer is not None
    assert newer.amount == Decimal("498.5")


async def test_processed_updates(db: Database) -> None:
    updates = ProcessedUpdates(db)
    assert await updates.first_time(10) is True
    assert await updates.first_time(10) is False
    assert await updates.first_time(11) is True
    assert await updates.prune(older_than=timedelta(days=1)) == 0
    assert await updates.prune(older_than=timedelta(seconds=-1)) == 2
    assert await updates.first_time(10) is True


# ------------------------------------------------------------------ previews


async def _preview(
    db: Database, token: str = "tok", ttl: timedelta = timedelta(minutes=10)
) -> PreviewRepository:
    previews = PreviewRepository(db)
    await previews.create(
        token=token,
        user_id=7,
        chat_id=70,
        recipient=RECIPIENT,
        text="hi",
        provider="smska",
        ttl=ttl,
    )
    return previews


async def test_preview_round_trip(db: Database) -> None:
    previews = await _preview(db)
    preview = await previews.get("tok")
    assert preview is not None
    assert (preview.user_id, preview.chat_id, preview.state, preview.message_id) == (
        7,
        70,
        "open",
        None,
    )
    assert preview.expires_at - preview.created_at == timedelta(minutes=10)
    await previews.link_message("tok", 42)
    used = await previews.get("tok")
    assert used is not None
    assert (used.state, used.message_id) == ("used", 42)
    assert await previews.get("nope") is None


async def test_preview_claimed_exactly_once_under_concurrency(db: Database) -> None:
    previews = await _preview(db)
    now = utcnow()
    results = await asyncio.gather(
        *(previews.claim("tok", 7, PreviewState.USED, now) for _ in range(20))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].state == PreviewState.USED
    assert await previews.claim("tok", 7, PreviewState.USED, now) is None


async def test_preview_claim_by_two_connections(db: Database, db_path: Path) -> None:
    await _preview(db)
    async with Database(db_path) as other:
        now = utcnow()
        mine, theirs = PreviewRepository(db), PreviewRepository(other)
        results = await asyncio.gather(
            *(
                repo.claim("tok", 7, PreviewState.USED, now)
                for repo in (mine, theirs)
                for _ in range(10)
            )
        )
    assert sum(r is not None for r in results) == 1


async def test_preview_never_claimed_after_expiry(db: Database) -> None:
    previews = await _preview(db, ttl=timedelta(seconds=30))
    preview = await previews.get("tok")
    assert preview is not None
    assert await previews.claim("tok", 7, PreviewState.USED, preview.expires_at) is None
    assert (
        await previews.claim("tok", 7, PreviewState.USED, preview.expires_at + timedelta(seconds=1))
        is None
    )
    late = await asyncio.gather(
        *(
            previews.claim("tok", 7, PreviewState.USED, datetime.now(UTC) + timedelta(hours=1))
            for _ in range(5)
        )
    )
    assert late == [None] * 5
    still = await previews.get("tok")
    assert still is not None
    assert still.state == "open"


async def test_preview_claim_of_another_user_fails(db: Database) -> None:
    previews = await _preview(db)
    assert await previews.claim("tok", 8, PreviewState.USED, utcnow()) is None
    assert await previews.claim("tok", 7, PreviewState.CANCELLED, utcnow()) is not None


# -------------------------------------------------------- two connections


async def test_two_connections_writing_concurrently(db_path: Path) -> None:
    """The bot and the command line: two connections, 100 concurrent writes each."""
    async with Database(db_path) as bot_db, Database(db_path) as cli_db:
        bot_messages, cli_messages = MessageRepository(bot_db), MessageRepository(cli_db)
        bot_audit, cli_audit = AuditLog(bot_db), AuditLog(cli_db)

        async def bot_write(i: int) -> None:
            record, _ = await bot_messages.create(new_message(f"bot:{i}", source="telegram"))
            await bot_messages.mark_sent(
                record.id,
                provider="smska",
                gateway_id=f"b{i}",
                balance=Decimal(i),
                balance_unit="credits",
                simulated=False,
                next_check_at=None,
            )
            await bot_audit.record(i, "bot")

        async def cli_write(i: int) -> None:
            record, _ = await cli_messages.create(new_message(f"cli:{i}"))
            await cli_messages.mark_unknown(
                record.id, provider="smsrent", error_kind="x", error_text="y"
            )
            await cli_audit.record(i, "cli")

        await asyncio.gather(
            *(bot_write(i) for i in range(100)), *(cli_write(i) for i in range(100))
        )

        for database in (bot_db, cli_db):
            rows = await database.fetchall(
                "SELECT source, state, COUNT(*) AS n FROM messages GROUP BY 1, 2"
            )
            assert {(r["source"], r["state"]): r["n"] for r in rows} == {
                ("telegram", "sent"): 100,
                ("cli", "unknown"): 100,
            }
            audit = await database.fetchall("SELECT action, COUNT(*) AS n FROM audit GROUP BY 1")
            assert {r["action"]: r["n"] for r in audit} == {"bot": 100, "cli": 100}
            events = await database.fetchone("SELECT COUNT(*) AS n FROM message_events")
            assert events is not None
            assert events["n"] == 400


# ------------------------------------------------------------------ access (schema 2)


async def test_upgrade_to_2_counts_the_admins_present_as_seeded(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_path) as conn:  # a database made by the previous version
        conn.executescript(MIGRATIONS[0])
        conn.execute(
            "INSERT INTO users (user_id, name, is_admin, added_at) VALUES "
            "(1, 'Ann', 1, '2026-01-01T00:00:00+00:00'), (2, 'Bob', 0, '2026-01-01T00:00:00+00:00')"
        )
        conn.execute("PRAGMA user_version = 1")
    async with Database(db_path) as db:
        users = UserRepository(db)
        assert await users.seed_admin(1) is False  # already seen as an admin
        assert await users.seed_admin(2) is True  # newly listed in ADMIN_IDS
        assert await users.seed_admin(2) is False
        await users.upsert(3, name="Cy", is_admin=False, added_by=1)
        assert await users.remove(2) is True
        assert await users.seed_admin(2) is False  # removed: never seeded again
        assert await users.get(2) is None


async def test_a_demoted_admin_is_not_seeded_again(db: Database) -> None:
    users = UserRepository(db)
    await users.upsert(1, name="Ann", is_admin=True, added_by=None)
    await users.upsert(2, name="Bob", is_admin=True, added_by=1)
    await users.upsert(2, name=None, is_admin=False, added_by=1)

    assert await users.seed_admin(2) is False
    bob = await users.get(2)
    assert bob is not None
    assert not bob.is_admin


async def test_removing_a_user_cancels_only_their_open_previews(db: Database) -> None:
    users = UserRepository(db)
    previews = PreviewRepository(db)
    await users.upsert(1, name="Ann", is_admin=True, added_by=None)
    await users.upsert(2, name="Bob", is_admin=False, added_by=1)
    for token, owner in (("a", 2), ("b", 2), ("c", 1)):
        await previews.create(
            token=token,
            user_id=owner,
            chat_id=owner,
            recipient=RECIPIENT,
            text="hi",
            provider="smska",
            ttl=timedelta(minutes=5),
        )
    await previews.set_state("b", PreviewState.USED)

    assert await users.remove(2) is True

    states = {t: p.state for t in "abc" if (p := await previews.get(t)) is not None}
    assert states == {"a": "cancelled", "b": "used", "c": "open"}
    assert await previews.claim("a", 2, PreviewState.USED, utcnow()) is None


async def test_a_refused_user_is_answered_once_per_period(db: Database) -> None:
    strangers = StrangerRepository(db)
    hour = timedelta(hours=1)
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    first = await strangers.note(9, "message: hi", start, can_answer=True, answer_every=hour)
    group = await strangers.note(9, "message: group", start, can_answer=False, answer_every=hour)
    soon = await strangers.note(
        9, "message: again", start + timedelta(minutes=59), can_answer=True, answer_every=hour
    )
    later = await strangers.note(
        9, "callback_query: x", start + hour, can_answer=True, answer_every=hour
    )

    assert (first.first_time, first.answer) == (True, True)
    assert (group.first_time, group.answer) == (False, False)
    assert soon.answer is False
    assert later.answer is True
    row = await strangers.get(9)
    assert row is not None
    assert (row.count, row.first_at, row.last_at) == (4, start, start + hour)
    assert (row.last_detail, row.last_answered_at) == ("callback_query: x", start + hour)


async def test_a_burst_of_refusals_gets_one_answer(db: Database) -> None:
    strangers = StrangerRepository(db)
    now = utcnow()
    results = await asyncio.gather(
        *(
            strangers.note(9, f"m{n}", now, can_answer=True, answer_every=timedelta(hours=1))
            for n in range(50)
        )
    )
    assert sum(r.answer for r in results) == 1
    assert sum(r.first_time for r in results) == 1
    assert [s.count for s in await strangers.recent()] == [50]


async def test_a_name_is_filled_only_when_empty(db: Database) -> None:
    users = UserRepository(db)
    await users.upsert(1, name="", is_admin=True, added_by=None)
    await users.upsert(2, name="Set by an admin", is_admin=False, added_by=1)

    assert await users.set_name_if_empty(1, "\u202eAnn\x00  Lee " + "x" * 100) is True
    assert await users.set_name_if_empty(1, "Other") is False
    assert await users.set_name_if_empty(2, "Other") is False
    assert await users.set_name_if_empty(3, "Nobody") is False
    ann, bob = await users.get(1), await users.get(2)
    assert ann is not None
    assert bob is not None
    assert ann.name == ("Ann Lee " + "x" * 100)[:64]
    assert bob.name == "Set by an admin"


async def test_changes_of_many_sends_at_once_share_commits(db: Database) -> None:
    """Group commit: state changes that arrive while one is being committed go in the
    next transaction together, each still on disk before its caller goes on."""
    messages = MessageRepository(db)
    ids = [(await messages.create(new_message()))[0].id for _ in range(20)]
    statements: list[str] = []
    await db.conn.set_trace_callback(statements.append)
    marked = await asyncio.gather(*(messages.mark_sending(i, provider="smska") for i in ids))
    await db.conn.set_trace_callback(lambda _statement: None)
    assert [(r.state, claimed) for r, claimed in marked] == [(MessageState.SENDING, True)] * 20
    commits = sum(s.strip().upper() == "COMMIT" for s in statements)
    assert 1 <= commits < 5, commits
    for i in ids:
        assert [e.state for e in await messages.events(i)] == ["queued", "sending"]


async def test_a_grouped_change_survives_its_cancelled_caller(db: Database) -> None:
    messages = MessageRepository(db)
    record, _ = await messages.create(new_message())
    task = asyncio.create_task(messages.mark_sending(record.id, provider="smska"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    states = []
    for _ in range(100):
        now = await messages.get(record.id)
        assert now is not None
        states.append(now.state)
        if now.state is MessageState.SENDING:
            break
        await asyncio.sleep(0.01)
    assert states[-1] is MessageState.SENDING


async def test_a_missing_row_fails_only_its_own_change(db: Database) -> None:
    messages = MessageRepository(db)
    record, _ = await messages.create(new_message())
    results = await asyncio.gather(
        messages.mark_sending(999, provider="smska"),
        messages.mark_sending(record.id, provider="smska"),
        return_exceptions=True,
    )
    assert isinstance(results[0], KeyError)
    assert isinstance(results[1], tuple) and results[1][0].state is MessageState.SENDING


async def test_two_claims_of_one_row_in_one_commit_claim_it_once(db: Database) -> None:
    """Two senders claiming the same queued row at once (a double resume): even in one
    grouped commit only one of them is told it claimed it."""
    messages = MessageRepository(db)
    record, _ = await messages.create(new_message())
    results = await asyncio.gather(
        *(messages.mark_sending(record.id, provider="smska") for _ in range(5))
    )
    assert sorted(claimed for _, claimed in results) == [False] * 4 + [True]
    assert [e.state for e in await messages.events(record.id)] == ["queued", "sending"]
