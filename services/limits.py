"""Per-user send limits: per minute and per day, with the time until they reset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import utcnow
from storage.messages import MessageRepository
from storage.users import UserRepository

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Limits:
    per_minute: int  # 0: no limit
    per_day: int


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
    last_minute: int
    last_day: int


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
            last_minute=await self._messages.count_since(user_id, now - MINUTE),
            last_day=await self._messages.count_since(user_id, now - DAY),
        )

    async def quotas(self, user_id: int) -> tuple[tuple[int, timedelta], ...]:
        """The (limit, window) pairs that ``SendService.send`` enforces atomically."""
        limits = await self.limits_for(user_id)
        return ((limits.per_minute, MINUTE), (limits.per_day, DAY))

    async def check(self, user_id: int) -> LimitHit | None:
        """None when the user may send now; else which limit is hit and when it resets."""
        now = self._clock()
        for limit, window in await self.quotas(user_id):
            if limit <= 0:
                continue
            if await self._messages.count_since(user_id, now - window) >= limit:
                oldest = await self._messages.oldest_since(user_id, now - window)
                return LimitHit.at(limit, window, oldest, now)
        return None
