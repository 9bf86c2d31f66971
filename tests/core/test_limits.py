"""The per-user limits with many recipients: per minute they count sends (a job of
many is one), per day they count SMS (one per recipient); a job is checked as a
whole against what is left of the day, and a refused job records nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.core import Core
from services.limits import DAY, MINUTE, LimitExceeded
from services.sending import JobStarted, Origin
from storage.models import MessageState

MakeCore = Callable[..., Awaitable[Core]]
USER = 7
ORIGIN = Origin(source="telegram", user_id=USER, chat_id=USER, lang="en")


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"7912{n:07d}" for n in range(start, start + count)]


async def submit(core: Core, recipients: list[str], text: str = "Disk full") -> JobStarted:
    prepared = core.sender.prepare(recipients[0], text)
    return await core.sender.submit(
        recipients, prepared, ORIGIN, quotas=await core.limits.quotas(USER)
    )


async def recorded(core: Core) -> int:
    return len(await core.store.messages.recent(user_id=USER, limit=10_000))


async def test_with_the_defaults_an_ordinary_user_sends_one_alert_to_a_group_of_50(
    make_core: MakeCore,
) -> None:
    core = await make_core()  # the default limits
    assert await core.limits.check(USER, recipients=50) is None
    started = await submit(core, numbers(50))
    outcomes = await started.outcomes()
    assert [o.state for o in outcomes] == [MessageState.SENT] * 50
    usage = await core.limits.usage(USER)
    assert (usage.last_minute, usage.last_day) == (1, 50)


async def test_per_minute_counts_sends_not_recipients(make_core: MakeCore) -> None:
    core = await make_core(sends_per_minute=2, sends_per_day=0)
    await (await submit(core, numbers(3))).outcomes()
    await (await submit(core, numbers(3, 3))).outcomes()
    assert await core.limits.check(USER) is not None
    with pytest.raises(LimitExceeded) as refused:
        await submit(core, numbers(1, 6))
    assert (refused.value.hit.limit, refused.value.hit.window) == (2, MINUTE)
    assert await recorded(core) == 6


async def test_per_day_counts_sms_and_refuses_a_job_over_what_is_left_as_a_whole(
    make_core: MakeCore,
) -> None:
    core = await make_core(sends_per_minute=0, sends_per_day=10)
    await (await submit(core, numbers(7))).outcomes()
    assert (await core.limits.usage(USER)).last_day == 7
    # 3 are left today: a job of 4 is refused whole, nothing recorded or sent
    hit = await core.limits.check(USER, recipients=4)
    assert hit is not None and (hit.limit, hit.window) == (10, DAY)
    with pytest.raises(LimitExceeded) as refused:
        await submit(core, numbers(4, 7))
    assert (refused.value.hit.limit, refused.value.hit.window) == (10, DAY)
    assert await recorded(core) == 7
    # ... and a job of exactly what is left goes
    assert await core.limits.check(USER, recipients=3) is None
    outcomes = await (await submit(core, numbers(3, 7))).outcomes()
    assert all(o.state is MessageState.SENT for o in outcomes)
    assert await recorded(core) == 10


async def test_a_job_larger_than_the_whole_day_is_refused_with_nothing_recorded(
    make_core: MakeCore,
) -> None:
    core = await make_core(sends_per_day=20)
    with pytest.raises(LimitExceeded):
        await submit(core, numbers(21))
    assert await recorded(core) == 0
