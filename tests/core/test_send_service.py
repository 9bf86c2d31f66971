"""SendService, StatusService and DeliveryTracker over real HTTP against the fake gateways."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.core import Core
from providers.base import DeliveryState
from providers.errors import (
    AccessDenied,
    AuthenticationFailed,
    InsufficientFunds,
    InvalidRecipient,
    InvalidSignature,
    NotSent,
    OutcomeUnknown,
)
from providers.sms import InvalidInput
from services.sending import Origin, SendOutcome
from services.status import (
    DeliveryTracker,
    InvalidReference,
    LookupKind,
    ReplyTo,
    StatusService,
    TrackingPolicy,
)
from storage.db import utcnow
from storage.messages import NewMessage
from storage.models import MessageRecord, MessageState, UserRecord
from tests.core.conftest import RECIPIENT
from tests.fakes.gateways import (
    SMSKA_INVALID_MSISDN,
    SMSKA_NO_CREDITS,
    SMSRENT_BALANCE_EMPTY,
    SMSRENT_SECRET_NOT_VALID,
    SMSRENT_SIGN_NOT_VALID,
    Behaviour,
    FakeGateways,
)

MakeCore = Callable[..., Awaitable[Core]]
CLI = Origin(source="cli")


async def send(
    core: Core, provider: str | None = None, text: str = "Server is down", *, key: str | None = None
) -> SendOutcome:
    prepared = core.sender.prepare(RECIPIENT, text, provider)
    return await core.sender.send(prepared, CLI, idempotency_key=key)


class RecordingNotifier:
    """The bot's side of ``AnswerNotifier``: what it was asked to show and tell."""

    def __init__(self) -> None:
        self.shown: list[tuple[int, MessageState]] = []
        self.told: list[tuple[int, MessageState]] = []

    async def show_state(self, record: MessageRecord) -> bool:
        self.shown.append((record.id, record.state))
        return True

    async def tell_failure(self, record: MessageRecord) -> bool:
        self.told.append((record.id, record.state))
        return True


CHAT = 42


async def send_answered(core: Core, provider: str) -> SendOutcome:
    """A send from Telegram whose answer (message 1000 in ``CHAT``) shows its result."""
    prepared = core.sender.prepare(RECIPIENT, "Server is down", provider)
    origin = Origin(source="telegram", user_id=7, chat_id=CHAT)
    outcome = await core.sender.send(prepared, origin)
    await core.store.messages.set_reply(outcome.record.id, CHAT, 1000, outcome.record.state)
    return outcome


def later(delta: timedelta) -> Callable[[], datetime]:
    return lambda: utcnow() + delta


# ------------------------------------------------------------------- sending


async def test_intent_is_recorded_before_the_gateway_call(
    core: Core, fake_gateways: FakeGateways
) -> None:
    fake_gateways.hold = asyncio.Event()
    task = asyncio.create_task(send(core, "smska"))
    await fake_gateways.wait_for_requests(1)
    rows = await core.store.messages.in_state(MessageState.SENDING)
    assert len(rows) == 1
    assert rows[0].provider == "smska"
    assert rows[0].gateway_id is None
    assert not task.done()
    fake_gateways.hold.set()
    outcome = await task
    assert outcome.record.id == rows[0].id
    assert outcome.state is MessageState.SENT


@pytest.mark.parametrize(
    ("provider", "balance", "unit_is_set"),
    [("smsrent", Decimal(499), True), ("smska", Decimal(7463), True)],
)
async def test_success_records_sent_with_gateway_id_and_balance(
    core: Core, fake_gateways: FakeGateways, provider: str, balance: Decimal, unit_is_set: bool
) -> None:
    outcome = await send(core, provider)
    record = outcome.record
    assert outcome.error is None
    assert record.state is MessageState.SENT
    assert record.provider == provider
    assert record.gateway_id in fake_gateways.sent
    assert fake_gateways.sent[record.gateway_id].text == "Server is down"
    assert record.balance_after == balance
    assert bool(record.balance_unit) is unit_is_set
    stored = await core.store.balances.get(provider)
    assert stored is not None
    assert stored.amount == balance
    assert stored.message_id == record.id
    assert await core.store.messages.get(record.id) == record
    # only a gateway with a status request is tracked
    assert (record.next_check_at is not None) is (provider == "smska")


async def test_sandbox_send_is_simulated(make_core: MakeCore, fake_gateways: FakeGateways) -> None:
    core = await make_core(default_provider="sandbox")
    outcome = await send(core)
    assert outcome.state is MessageState.SENT
    assert outcome.record.simulated
    assert outcome.record.provider == "sandbox"
    assert fake_gateways.requests == []


@pytest.mark.parametrize(
    ("provider", "answer", "error"),
    [
        ("smska", SMSKA_NO_CREDITS, InsufficientFunds),
        ("smska", SMSKA_INVALID_MSISDN, InvalidRecipient),
        ("smsrent", SMSRENT_SIGN_NOT_VALID, InvalidSignature),
        ("smsrent", SMSRENT_BALANCE_EMPTY, InsufficientFunds),
    ],
)
async def test_refusal_records_failed(
    core: Core, fake_gateways: FakeGateways, provider: str, answer: str, error: type[Exception]
) -> None:
    fake_gateways.queue_answer(provider, answer)
    outcome = await send(core, provider)
    assert isinstance(outcome.error, error)
    assert outcome.state is MessageState.FAILED
    assert outcome.record.error_kind == error.__name__
    assert outcome.record.gateway_id is None
    assert fake_gateways.sent == {}
    assert await core.store.balances.get(provider) is None


@pytest.mark.parametrize("provider", ["smsrent", "smska"])
async def test_read_timeout_is_unknown_and_not_retried(
    core: Core, fake_gateways: FakeGateways, provider: str
) -> None:
    fake_gateways.queue_behaviour(provider, Behaviour.SLOW)
    outcome = await send(core, provider)
    assert isinstance(outcome.error, OutcomeUnknown)
    assert outcome.state is MessageState.UNKNOWN
    assert (await core.store.messages.get(outcome.record.id)) == outcome.record
    await asyncio.sleep(0.2)  # a retry, if any, would have arrived by now
    assert len(fake_gateways.requests) == 1


async def test_same_idempotency_key_sends_once(core: Core, fake_gateways: FakeGateways) -> None:
    first = await send(core, "smska", key="cli:deploy-42")
    second = await send(core, "smska", key="cli:deploy-42")
    assert not first.duplicate
    assert second.duplicate
    assert second.record.id == first.record.id
    assert second.record.gateway_id == first.record.gateway_id
    assert len(fake_gateways.requests) == 1
    other = await send(core, "smska", key="cli:deploy-43")
    assert other.record.id != first.record.id
    assert len(fake_gateways.requests) == 2


async def test_concurrent_sends_with_one_key_send_once(
    core: Core, fake_gateways: FakeGateways
) -> None:
    outcomes = await asyncio.gather(*(send(core, "smska", key="k") for _ in range(10)))
    assert sum(not o.duplicate for o in outcomes) == 1
    assert len(fake_gateways.requests) == 1


async def test_invalid_input_is_refused_before_any_request(
    core: Core, fake_gateways: FakeGateways
) -> None:
    with pytest.raises(InvalidInput):
        core.sender.prepare("12", "hi", "smska")
    with pytest.raises(InvalidInput):
        core.sender.prepare(RECIPIENT, "   ", "smska")
    with pytest.raises(InvalidInput):
        core.sender.prepare(RECIPIENT, "x" * 161, "smsrent")
    with pytest.raises(InvalidInput):
        core.sender.prepare(RECIPIENT, "hi", "twilio")
    assert fake_gateways.requests == []
    assert await core.store.messages.recent(user_id=None, limit=10) == []


async def test_cancelled_caller_does_not_lose_the_result(
    core: Core, fake_gateways: FakeGateways
) -> None:
    fake_gateways.hold = asyncio.Event()
    task = asyncio.create_task(send(core, "smska"))
    await fake_gateways.wait_for_requests(1)
    assert core.sender.in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    fake_gateways.hold.set()
    assert await core.sender.drain(5.0)
    (record,) = await core.store.messages.recent(user_id=None, limit=5)
    assert record.state is MessageState.SENT
    assert record.gateway_id in fake_gateways.sent


# ------------------------------------------------------------------ failover


def _deny_ip(fake: FakeGateways) -> None:
    fake.ip_denied = True


def _sign(fake: FakeGateways) -> None:
    fake.queue_answer("smsrent", SMSRENT_SIGN_NOT_VALID)


def _empty(fake: FakeGateways) -> None:
    fake.queue_answer("smsrent", SMSRENT_BALANCE_EMPTY)


def _skey(fake: FakeGateways) -> None:
    fake.queue_answer("smsrent", SMSRENT_SECRET_NOT_VALID)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (_sign, InvalidSignature),
        (_empty, InsufficientFunds),
        (_deny_ip, AccessDenied),
        (_skey, AuthenticationFailed),
    ],
    ids=["sign", "balance-empty", "ip-denied", "secret-key"],
)
async def test_failover_after_a_safe_refusal(
    make_core: MakeCore,
    fake_gateways: FakeGateways,
    setup: Callable[[FakeGateways], None],
    error: type[Exception],
) -> None:
    core = await make_core(default_provider="smsrent", failover=["smska"])
    setup(fake_gateways)
    outcome = await send(core)
    assert outcome.error is None
    assert outcome.state is MessageState.SENT
    assert outcome.record.provider == "smska"
    assert outcome.record.gateway_id in fake_gateways.sent
    assert [a.provider for a in outcome.failed_attempts] == ["smsrent"]
    assert isinstance(outcome.failed_attempts[0].error, error)
    assert [r.gateway for r in fake_gateways.requests] == ["smsrent", "smska"]
    events = await core.store.messages.events(outcome.record.id)
    assert [(e.state, e.provider) for e in events] == [
        ("queued", "smsrent"),
        ("sending", "smsrent"),
        ("attempt_failed", "smsrent"),
        ("sending", "smska"),
        ("sent", "smska"),
    ]


async def test_failover_after_refused_connection(
    make_core: MakeCore, fake_gateways: FakeGateways, refused_port: int
) -> None:
    core = await make_core(
        default_provider="smsrent",
        failover=["smska"],
        smsrent_url=f"http://127.0.0.1:{refused_port}/smsgateway/send.php",
    )
    outcome = await send(core)
    assert outcome.state is MessageState.SENT
    assert outcome.record.provider == "smska"
    assert [a.provider for a in outcome.failed_attempts] == ["smsrent"]
    assert isinstance(outcome.failed_attempts[0].error, NotSent)
    assert [r.gateway for r in fake_gateways.requests] == ["smska"]


async def test_failover_chain_all_refusing_records_last_error(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    core = await make_core(default_provider="smsrent", failover=["smska"])
    fake_gateways.queue_answer("smsrent", SMSRENT_BALANCE_EMPTY)
    fake_gateways.queue_answer("smska", SMSKA_NO_CREDITS)
    outcome = await send(core)
    assert outcome.state is MessageState.FAILED
    assert outcome.record.provider == "smska"
    assert isinstance(outcome.error, InsufficientFunds)
    assert [a.provider for a in outcome.failed_attempts] == ["smsrent"]


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour.SLOW,
        Behaviour.DROP,
        Behaviour.GARBLED,
        Behaviour.TRUNCATED,
        Behaviour.EMPTY,
        Behaviour.HTML_502,
        Behaviour.HTTP_500,
    ],
)
async def test_no_failover_after_an_unknown_outcome(
    make_core: MakeCore, fake_gateways: FakeGateways, behaviour: Behaviour
) -> None:
    core = await make_core(default_provider="smsrent", failover=["smska"])
    fake_gateways.queue_behaviour("smsrent", behaviour)
    outcome = await send(core)
    assert isinstance(outcome.error, OutcomeUnknown)
    assert outcome.state is MessageState.UNKNOWN
    assert outcome.record.provider == "smsrent"
    assert outcome.failed_attempts == ()
    await asyncio.sleep(0.1)
    assert fake_gateways.requests_for("smska") == []
    assert len(fake_gateways.requests_for("smsrent")) == 1


async def test_invalid_recipient_does_not_fail_over(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    core = await make_core(default_provider="smska", failover=["smsrent"])
    fake_gateways.queue_answer("smska", SMSKA_INVALID_MSISDN)
    outcome = await send(core)
    assert isinstance(outcome.error, InvalidRecipient)
    assert outcome.state is MessageState.FAILED
    assert fake_gateways.requests_for("smsrent") == []


async def test_failover_skips_a_gateway_that_cannot_carry_the_text(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """smsrent takes 160 characters at most: a long text refused by smska is not
    handed to smsrent, and the record shows smska's error."""
    core = await make_core(default_provider="smska", failover=["smsrent"])
    fake_gateways.queue_answer("smska", SMSKA_NO_CREDITS)
    outcome = await send(core, text="x" * 200)
    assert outcome.state is MessageState.FAILED
    assert isinstance(outcome.error, InsufficientFunds)
    assert outcome.record.provider == "smska"
    assert fake_gateways.requests_for("smsrent") == []


# ---------------------------------------------------------------- recovery


async def test_recover_interrupted_only_touches_its_source(core: Core) -> None:
    def row(source: str) -> NewMessage:
        return NewMessage(
            source=source,
            recipient=RECIPIENT,
            text="t",
            encoding="GSM-7",
            parts=1,
            provider="smska",
        )

    tg_sending, _ = await core.store.messages.create(row("telegram"))
    await core.store.messages.mark_sending(tg_sending.id, provider="smska")
    tg_queued, _ = await core.store.messages.create(row("telegram"))
    cli_sending, _ = await core.store.messages.create(row("cli"))
    await core.store.messages.mark_sending(cli_sending.id, provider="smska")
    cli_queued, _ = await core.store.messages.create(row("cli"))
    minute = timedelta(minutes=1)

    async def state(record: MessageRecord) -> tuple[MessageState, str | None]:
        now = await core.store.messages.get(record.id)
        assert now is not None
        return now.state, now.error_kind

    # The command line starting: fresh rows of any source may be in flight elsewhere.
    assert await core.sender.recover_interrupted(bot_starting=False, stale_after=minute) == []

    # The bot starting: its own sending row was interrupted (it may have gone out:
    # unknown); its queued row never left and waits for its owner; fresh cli rows are
    # left alone.
    recovered = await core.sender.recover_interrupted(bot_starting=True, stale_after=minute)
    assert [r.id for r in recovered] == [tg_sending.id]
    assert await state(tg_sending) == (MessageState.UNKNOWN, "Interrupted")
    assert await state(tg_queued) == (MessageState.QUEUED, None)
    assert await state(cli_sending) == (MessageState.SENDING, None)
    assert await state(cli_queued) == (MessageState.QUEUED, None)
    assert await core.sender.recover_interrupted(bot_starting=True, stale_after=minute) == []

    # cli rows older than any request may take were left by a killed run.
    stale = await core.sender.recover_interrupted(bot_starting=False, stale_after=timedelta(0))
    assert [r.id for r in stale] == [cli_sending.id, cli_queued.id]
    assert await state(cli_sending) == (MessageState.UNKNOWN, "Interrupted")
    assert await state(cli_queued) == (MessageState.FAILED, "NotStarted")


async def test_the_bots_queued_rows_are_never_settled_from_outside(core: Core) -> None:
    """A row of the bot waiting in its queue for a slot may wait long (a slow gateway,
    many sends): another process's reading (status, history) must not fail it, or the
    bot would then refuse to send something it told the sender it would."""
    record, _ = await core.store.messages.create(
        NewMessage(
            source="telegram",
            recipient=RECIPIENT,
            text="t",
            encoding="GSM-7",
            parts=1,
            provider="smska",
        )
    )
    assert await core.sender.recover_interrupted(bot_starting=False, stale_after=timedelta(0)) == []
    assert await core.status.find(str(record.id)) == [record]


# ------------------------------------------------------------ status and tracking


async def test_tracker_moves_smska_message_to_delivered(
    core: Core, fake_gateways: FakeGateways
) -> None:
    fake_gateways.delivery_after = 0.6
    outcome = await send_answered(core, "smska")
    notifier = RecordingNotifier()
    tracker = DeliveryTracker(
        core.status, core.store.messages, notifier, clock=later(timedelta(hours=1))
    )
    # due only after first_after (15 s by default): nothing now
    assert await DeliveryTracker(core.status, core.store.messages, notifier).run_once() == 0

    assert await tracker.run_once() == 1
    accepted = await core.store.messages.get(outcome.record.id)
    assert accepted is not None
    assert accepted.state is MessageState.SENT
    assert (accepted.status_code, accepted.status_name) == ("3", "ACCEPTD")
    assert accepted.next_check_at is not None
    assert notifier.shown == []

    await asyncio.sleep(0.65)
    assert await tracker.run_once() == 1
    delivered = await core.store.messages.get(outcome.record.id)
    assert delivered is not None
    assert delivered.state is MessageState.DELIVERED
    assert delivered.next_check_at is None
    assert notifier.shown == [(outcome.record.id, MessageState.DELIVERED)]
    assert notifier.told == []
    assert await tracker.run_once() == 0
    assert len(notifier.shown) == 1  # shown once
    status_requests = [r for r in fake_gateways.requests if r.form.get("Action") == "query"]
    assert len(status_requests) == 2


async def test_rejected_is_final_and_stops_polling(core: Core, fake_gateways: FakeGateways) -> None:
    fake_gateways.delivery_after = 3600
    outcome = await send_answered(core, "smska")
    assert outcome.record.gateway_id is not None
    fake_gateways.set_status(outcome.record.gateway_id, 5, "REJECTD")
    notifier = RecordingNotifier()
    tracker = DeliveryTracker(
        core.status, core.store.messages, notifier, clock=later(timedelta(hours=1))
    )
    assert await tracker.run_once() == 1
    record = await core.store.messages.get(outcome.record.id)
    assert record is not None
    assert record.state is MessageState.REJECTED
    assert record.next_check_at is None
    assert notifier.shown == [(record.id, MessageState.REJECTED)]
    assert notifier.told == [(record.id, MessageState.REJECTED)]
    fake_gateways.set_status(outcome.record.gateway_id, 4, "DELIVRD")
    assert await tracker.run_once() == 0
    assert (len(notifier.shown), len(notifier.told)) == (1, 1)
    # a late contradictory answer to a one-off check keeps the final state
    check = await core.status.check(record)
    assert check.status is not None
    assert check.status.state is DeliveryState.DELIVERED
    again = await core.store.messages.get(record.id)
    assert again is not None
    assert again.state is MessageState.REJECTED


async def test_smsrent_message_is_not_tracked(core: Core) -> None:
    outcome = await send(core, "smsrent")
    assert outcome.record.next_check_at is None
    tracker = DeliveryTracker(core.status, core.store.messages, clock=later(timedelta(days=1)))
    assert await tracker.run_once() == 0
    check = await core.status.check(outcome.record)
    assert check.error is not None
    assert "delivery status" in check.error.message


async def test_tracker_reschedules_after_a_failed_check(
    core: Core, fake_gateways: FakeGateways
) -> None:
    fake_gateways.delivery_after = 3600
    outcome = await send(core, "smska")
    tracker = DeliveryTracker(core.status, core.store.messages, clock=later(timedelta(hours=1)))
    fake_gateways.queue_behaviour("smska", Behaviour.HTTP_500)
    assert await tracker.run_once() == 1
    record = await core.store.messages.get(outcome.record.id)
    assert record is not None
    assert record.state is MessageState.SENT
    assert record.next_check_at is not None
    assert record.checks == 1


async def test_find_by_number_and_gateway_id(core: Core) -> None:
    ska = await send(core, "smska")
    rent = await send(core, "smsrent")
    assert ska.record.gateway_id is not None
    assert rent.record.gateway_id is not None
    assert [r.id for r in await core.status.find("#1")] == [ska.record.id]
    assert [r.id for r in await core.status.find("1")] == [ska.record.id]
    assert [r.id for r in await core.status.find(" #2 ")] == [rent.record.id]
    assert [r.id for r in await core.status.find(ska.record.gateway_id)] == [ska.record.id]
    # smsrent's ids are numbers too: not a local number, so tried as a gateway id
    assert [r.id for r in await core.status.find(rent.record.gateway_id)] == [rent.record.id]
    assert await core.status.find("#99") == []
    assert await core.status.find("nosuchid") == []
    for bad in ("", "   ", "a b", "x" * 65):
        with pytest.raises(InvalidReference):
            await core.status.find(bad)


async def test_check_by_number_reports_delivery(core: Core) -> None:
    outcome = await send(core, "smska")
    (record,) = await core.status.find(f"#{outcome.record.id}")
    check = await core.status.check(record)
    assert check.changed
    assert check.record is not None
    assert check.record.state is MessageState.DELIVERED
    unknown = await core.status.check_gateway_id("smska", "notourid")
    assert unknown.error is not None


async def test_max_age_stops_tracking(core: Core, fake_gateways: FakeGateways) -> None:
    fake_gateways.delivery_after = 3600
    outcome = await send(core, "smska")
    old = StatusService(
        core.gateways,
        core.store.messages,
        policy=TrackingPolicy(max_age=timedelta(hours=48)),
        clock=later(timedelta(hours=49)),
    )
    tracker = DeliveryTracker(old, core.store.messages, clock=later(timedelta(hours=49)))
    assert await tracker.run_once() == 1
    record = await core.store.messages.get(outcome.record.id)
    assert record is not None
    assert record.state is MessageState.SENT
    assert record.next_check_at is None
    assert await tracker.run_once() == 0


async def test_max_age_from_settings(make_core: MakeCore, fake_gateways: FakeGateways) -> None:
    fake_gateways.delivery_after = 3600
    core = await make_core(default_provider="smska", status_max_age_hours=0.0001)  # 0.36 s
    outcome = await send(core)
    await asyncio.sleep(0.4)
    tracker = DeliveryTracker(core.status, core.store.messages, clock=later(timedelta(hours=1)))
    assert await tracker.run_once() == 1
    record = await core.store.messages.get(outcome.record.id)
    assert record is not None
    assert record.next_check_at is None
    assert await tracker.run_once() == 0


async def test_tracking_backs_off(core: Core, fake_gateways: FakeGateways) -> None:
    fake_gateways.delivery_after = 3600
    outcome = await send(core, "smska")
    policy = core.status.policy
    now = utcnow()
    checks = []
    for _ in range(3):
        record = await core.store.messages.get(outcome.record.id)
        assert record is not None
        result = await core.status.check(record)
        assert result.record is not None
        assert result.record.next_check_at is not None
        checks.append(result.record.next_check_at - now)
    assert checks[0] < checks[1] < checks[2] <= policy.max_interval + timedelta(seconds=5)


# ------------------------------------------------ one lookup for the bot and the command line


def viewer(user_id: int, *, is_admin: bool = False) -> UserRecord:
    return UserRecord(
        user_id=user_id,
        name=f"u{user_id}",
        is_admin=is_admin,
        added_by=None,
        added_at=utcnow(),
        per_minute=None,
        per_day=None,
    )


async def test_lookup_finds_and_checks_by_number_gateway_id_and_reply(core: Core) -> None:
    outcome = await core.sender.send(
        core.sender.prepare(RECIPIENT, "hi", "smska"),
        Origin(source="telegram", user_id=7, chat_id=70),
    )
    record = outcome.record
    assert record.gateway_id is not None
    await core.store.messages.set_reply(record.id, 70, 700, record.state)
    for ref, reply in (
        (f"#{record.id}", None),
        (f" {record.gateway_id} ", None),
        (None, ReplyTo(70, 700)),
        ("", ReplyTo(70, 700)),
    ):
        found = await core.status.lookup(ref, reply=reply, viewer=viewer(7))
        assert found.kind is LookupKind.FOUND, (ref, reply)
        assert found.check is not None and found.check.record is not None
        assert found.check.record.id == record.id
        assert found.check.status is not None  # the gateway was asked
    # A reference given wins over the reply; a reply to anything else is not found.
    assert (await core.status.lookup("#99", reply=ReplyTo(70, 700))).kind is LookupKind.NOT_FOUND
    assert (await core.status.lookup(reply=ReplyTo(70, 701))).kind is LookupKind.NOT_FOUND


async def test_lookup_hides_other_users_sends_from_non_admins(core: Core) -> None:
    outcome = await core.sender.send(
        core.sender.prepare(RECIPIENT, "hi", "smska"),
        Origin(source="telegram", user_id=7, chat_id=70),
    )
    ref = f"#{outcome.record.id}"
    hidden = await core.status.lookup(ref, viewer=viewer(8))
    assert hidden.kind is LookupKind.NOT_VISIBLE
    assert hidden.check is None
    assert (await core.status.lookup(ref, viewer=viewer(8, is_admin=True))).kind is LookupKind.FOUND
    assert (await core.status.lookup(ref)).kind is LookupKind.FOUND  # the command line


async def test_lookup_refuses_bad_references_and_gateways(core: Core) -> None:
    await send(core, "smska")
    for ref in (None, "", "   ", "a b", "x" * 65):
        found = await core.status.lookup(ref)
        assert found.kind is LookupKind.INVALID, ref
        assert isinstance(found.error, InvalidReference)
    bad_gateway = await core.status.lookup("#1", gateway="nosuch")
    assert bad_gateway.kind is LookupKind.INVALID
    assert isinstance(bad_gateway.error, InvalidInput)
    # The reference is judged before the gateway.
    both = await core.status.lookup("a b", gateway="nosuch")
    assert isinstance(both.error, InvalidReference)


async def test_lookup_filters_by_gateway_and_asks_it_about_unknown_ids(core: Core) -> None:
    ska = await send(core, "smska")
    assert ska.record.gateway_id is not None
    assert (await core.status.lookup("#1", gateway="smska")).kind is LookupKind.FOUND
    # Another gateway's send is not this gateway's: not found by number ...
    assert (await core.status.lookup("#1", gateway="smsrent")).kind is LookupKind.NOT_FOUND
    # ... and smsrent has no status request to ask about an id it might know.
    rent = await core.status.lookup(ska.record.gateway_id, gateway="smsrent", ask_gateway=True)
    assert rent.kind is LookupKind.NOT_FOUND
    # Unknown ids are asked of the gateway only when the caller wants it (the command line).
    assert (await core.status.lookup("notourid", gateway="smska")).kind is LookupKind.NOT_FOUND
    asked = await core.status.lookup(" notourid ", gateway="smska", ask_gateway=True)
    assert asked.kind is LookupKind.GATEWAY_ID
    assert asked.check is not None and asked.check.record is None
    assert asked.check.error is not None  # the fake gateway does not know it either
    # A bot number is never taken for a gateway id.
    assert (await core.status.lookup("#99", gateway="smska", ask_gateway=True)).kind is (
        LookupKind.NOT_FOUND
    )
