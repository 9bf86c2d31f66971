"""PreviewService: every tap on a preview's button comes to one typed result, and only
STARTED sends anything."""

from __future__ import annotations

from datetime import timedelta

from bot.core import Core
from services.domain import InvalidInput
from services.limits import Limits, RateLimiter
from services.previews import PreviewKind, PreviewResult, PreviewService, PreviewState
from services.records import MessageState
from services.sending import Origin
from tests.core.conftest import RECIPIENT
from tests.fakes.gateways import FakeGateways

OWNER, OTHER, CHAT = 7, 8, 700
ORIGIN = Origin(source="telegram", user_id=OWNER, lang="en")


def service(core: Core, *, ttl: float = 600, per_minute: int = 0) -> PreviewService:
    limiter = RateLimiter(
        core.store.messages, core.store.users, Limits(per_minute=per_minute, per_day=0)
    )
    return PreviewService(
        core.store.previews, core.sender, limiter, core.balances, ttl=timedelta(seconds=ttl)
    )


async def opened(previews: PreviewService, core: Core, provider: str = "smska") -> str:
    prepared = core.sender.prepare(RECIPIENT, "hi", provider)
    preview = await previews.open(prepared, user_id=OWNER, chat_id=CHAT)
    assert preview.prepared == prepared
    return preview.token


async def state_of(core: Core, token: str) -> PreviewState | None:
    preview = await core.store.previews.get(token)
    return preview.state if preview else None


async def sends(core: Core) -> int:
    return len(await core.store.messages.recent(user_id=None, limit=100))


async def test_confirming_starts_the_send_in_the_previews_chat(
    core: Core, fake_gateways: FakeGateways
) -> None:
    previews = service(core)
    token = await opened(previews, core)
    result = await previews.confirm(token, OWNER, ORIGIN)
    assert result.kind is PreviewKind.STARTED
    assert result.started is not None
    assert result.chat_id == CHAT
    outcome = await result.started.outcome()
    assert outcome.state is MessageState.SENT
    assert outcome.record.chat_id == CHAT
    assert await state_of(core, token) is PreviewState.USED
    assert len(fake_gateways.requests) == 1


async def test_a_second_confirmation_is_used_and_sends_nothing(
    core: Core, fake_gateways: FakeGateways
) -> None:
    previews = service(core)
    token = await opened(previews, core)
    first = await previews.confirm(token, OWNER, ORIGIN)
    assert first.started is not None
    record = (await first.started.outcome()).record
    again = await previews.confirm(token, OWNER, ORIGIN)
    assert again.kind is PreviewKind.USED
    assert again.message_id == record.id
    assert await sends(core) == 1
    assert len(fake_gateways.requests) == 1


async def test_another_users_tap_is_not_theirs_and_changes_nothing(core: Core) -> None:
    previews = service(core)
    token = await opened(previews, core)
    for result in (
        await previews.confirm(token, OTHER, ORIGIN),
        await previews.cancel(token, OTHER),
    ):
        assert result == PreviewResult(PreviewKind.NOT_YOURS)
    assert await state_of(core, token) is PreviewState.OPEN
    assert await sends(core) == 0


async def test_cancel_then_every_later_tap_is_told_cancelled(core: Core) -> None:
    previews = service(core)
    token = await opened(previews, core)
    assert await previews.cancel(token, OWNER) == PreviewResult(PreviewKind.CANCELLED, now=True)
    assert await previews.cancel(token, OWNER) == PreviewResult(PreviewKind.CANCELLED)
    assert await previews.confirm(token, OWNER, ORIGIN) == PreviewResult(PreviewKind.CANCELLED)
    assert await state_of(core, token) is PreviewState.CANCELLED
    assert await sends(core) == 0


async def test_a_tap_after_its_time_expires_it(core: Core) -> None:
    previews = service(core, ttl=0)
    token = await opened(previews, core)
    result = await previews.confirm(token, OWNER, ORIGIN)
    assert result == PreviewResult(PreviewKind.EXPIRED, now=True)
    assert await state_of(core, token) is PreviewState.EXPIRED
    assert await previews.cancel(token, OWNER) == PreviewResult(PreviewKind.EXPIRED, now=True)
    assert await sends(core) == 0


async def test_an_unknown_token_is_expired(core: Core) -> None:
    previews = service(core)
    assert await previews.confirm("nosuch", OWNER, ORIGIN) == PreviewResult(PreviewKind.EXPIRED)
    assert await previews.cancel("nosuch", OWNER) == PreviewResult(PreviewKind.EXPIRED)


async def test_a_used_up_limit_leaves_the_preview_open(core: Core) -> None:
    previews = service(core, per_minute=1)
    first, second = await opened(previews, core), await opened(previews, core)
    started = await previews.confirm(first, OWNER, ORIGIN)
    assert started.started is not None
    await started.started.outcome()
    result = await previews.confirm(second, OWNER, ORIGIN)
    assert result.kind is PreviewKind.LIMIT
    assert result.hit is not None
    assert result.hit.limit == 1
    assert await state_of(core, second) is PreviewState.OPEN
    assert await sends(core) == 1


async def test_an_input_no_longer_valid_cancels_the_preview(core: Core) -> None:
    previews = service(core)
    # A preview stored for a gateway this installation no longer has (a setting changed).
    await core.store.previews.create(
        token="gone",
        user_id=OWNER,
        chat_id=CHAT,
        recipient=RECIPIENT,
        text="hi",
        provider="nosuch",
        ttl=timedelta(minutes=10),
    )
    result = await previews.confirm("gone", OWNER, ORIGIN)
    assert result.kind is PreviewKind.INVALID
    assert isinstance(result.error, InvalidInput)
    assert await state_of(core, "gone") is PreviewState.CANCELLED
    assert await sends(core) == 0


async def test_open_shows_the_last_known_balance(core: Core) -> None:
    previews = service(core)
    prepared = core.sender.prepare(RECIPIENT, "hi", "smska")
    assert (await previews.open(prepared, user_id=OWNER, chat_id=CHAT)).balance is None
    outcome = await core.sender.send(prepared, ORIGIN)
    preview = await previews.open(prepared, user_id=OWNER, chat_id=CHAT)
    assert outcome.record.balance_after is not None  # smska tells it with each send
    assert preview.balance is not None
    assert preview.balance.amount == outcome.record.balance_after
    assert await state_of(core, preview.token) is PreviewState.OPEN
