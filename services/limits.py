"""Per-user send limits, with the time until they reset: per minute they count sends
(a send to a group of 50 is one send), per day they count SMS (one per recipient,
whatever the text's length), so the day's limit still guards the budget. A send of
many is checked as a whole: it goes to everyone or, over a limit, to no one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import utcnow
from storage.messages import MessageRepository, counts_sms
from storage.users import UserRepository

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Limits:
    per_minute: int  # sends a minute; 0: no limit
    per_day: int  # SMS a day (one per recipient); 0: no limit


@dataclass(frozen=True, slots=True)
class LimitHit:
    limit: int
    window: timedelta
    reset_in: timedelta

    @classmethod
    def at(cls, limit: int, window: timedelta, oldest: datetime | None, now: datetime) -> LimitHit:
        """The limit is used up; it frees when the oldest send in the window leaves it."""
        reset_in = (oldest + window - now) if oldest else window
        return cls(limit, window, max(reset_in, timedelta(seconds=1)))


class LimitExceeded(Exception):
    """A send refused because the user's limit is used up; nothing was recorded or sent."""

    def __init__(self, hit: LimitHit) -> None:
        super().__init__(f"limit of {hit.limit} per {hit.window} reached")
        self.hit = hit


@dataclass(frozen=True, slots=True)
class Usage:
    limits: Limits
    last_minute: int  # sends in the last minute
    last_day: int  # SMS in the last day


class RateLimiter:
    def __init__(
        self,
        messages: MessageRepository,
        users: UserRepository,
        defaults: Limits,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._messages = messages
        self._users = users
        self.defaults = defaults
        self._clock = clock

    async def limits_for(self, user_id: int) -> Limits:
        user = await self._users.get(user_id)
        if user is None:
            return self.defaults
        return Limits(
            per_minute=user.per_minute if user.per_minute is not None else self.defaults.per_minute,
            per_day=user.per_day if user.per_day is not None else self.defaults.per_day,
        )

    async def usage(self, user_id: int) -> Usage:
        now = self._clock()
        return Usage(
            limits=await self.limits_for(user_id),
            last_minute=await self._messages.count_sends_since(user_id, now - MINUTE),
            last_day=await self._messages.count_since(user_id, now - DAY),
        )

    async def quotas(self, user_id: int) -> tuple[tuple[int, timedelta], ...]:
        """The (limit, window) pairs that ``SendService.send`` enforces atomically."""
        limits = await self.limits_for(user_id)
        return ((limits.per_minute, MINUTE), (limits.per_day, DAY))

    async def check(self, user_id: int, recipients: int = 1) -> LimitHit | None:
        """None when the user may send now to ``recipients`` people; else which limit
        is hit and when it resets (a send of many is never allowed in part)."""
        now = self._clock()
        for limit, window in await self.quotas(user_id):
            if limit <= 0:
                continue
            since = now - window
            if counts_sms(window):
                used, wanted = await self._messages.count_since(user_id, since), recipients
            else:
                used, wanted = await self._messages.count_sends_since(user_id, since), 1
            if used + wanted > limit:
                oldest = await self._messages.oldest_since(user_id, since)
                return LimitHit.at(limit, window, oldest, now)
        return None
