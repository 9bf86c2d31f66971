"""API tokens: created (the token shown once), listed, revoked, and checked on every
HTTP API call. Only a SHA-256 hash of a token is stored: a token is 256 random bits,
so a fast hash is enough, and the look-up by hash compares no secret byte by byte.

Every creation, revocation and refused token goes into the audit log with the
token's name (never the token)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.domain import InvalidInput, preview_text
from services.limits import DAY, MINUTE, Limits
from storage.audit import AuditLog
from storage.db import utcnow
from storage.messages import MessageRepository
from storage.tokens import NameTaken, TokenRecord, TokenRepository

__all__ = [
    "DEFAULT_SCOPES",
    "MAX_NAME_LENGTH",
    "SCOPES",
    "ApiCaller",
    "CreatedToken",
    "InvalidScope",
    "InvalidTokenName",
    "TokenNameTaken",
    "TokenRecord",
    "TokenRefused",
    "TokenService",
    "parse_scopes",
]

SEND = "send"
READ = "read"
#: what a token may do: ``send`` SMS, ``read`` states and balances
SCOPES = (SEND, READ)
DEFAULT_SCOPES = frozenset(SCOPES)
PREFIX = "smsbot_"
MAX_NAME_LENGTH = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: ``last_used_at`` is written at most this often per token (not on every call)
TOUCH_EVERY = timedelta(minutes=1)


class InvalidScope(InvalidInput):
    """Scopes that are empty or not ``send``/``read``."""


class InvalidTokenName(InvalidInput):
    """A token name that is not 1-64 Latin letters, digits, ``.``, ``_``, ``-``."""


def parse_scopes(raw: str) -> frozenset[str]:
    """``"send,read"`` -> the scopes; raise ``InvalidInput`` for an empty or unknown one."""
    scopes = frozenset(s.strip().lower() for s in raw.split(",") if s.strip())
    unknown = sorted(scopes - DEFAULT_SCOPES)
    if unknown:
        raise InvalidScope(
            f"Unknown scope “{preview_text(unknown[0])}”: a token's scopes are {', '.join(SCOPES)}."
        )
    if not scopes:
        raise InvalidScope(f"Name at least one scope: {', '.join(SCOPES)}.")
    return scopes


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise InvalidTokenName(
            f"A token's name is 1 to {MAX_NAME_LENGTH} Latin letters, digits, “.”, “_” "
            "or “-”, starting with a letter or digit (for example: grafana)."
        )
    return name


def _by(user_id: int | None) -> str:
    return " (command line)" if user_id is None else ""


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """Who is calling the API: the token's id, name and scopes."""

    id: int
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class CreatedToken:
    record: TokenRecord
    #: the token itself: shown once, never stored
    token: str


class TokenRefused(Exception):
    """No usable token: ``reason`` is ``missing``, ``unknown`` or ``revoked``."""

    def __init__(self, reason: str, name: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.name = name


class TokenNameTaken(InvalidInput):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"A token named “{name}” exists already (names of revoked tokens stay "
            "taken, for the audit): choose another name."
        )


#: the error text of a row its token's revoke kept from being sent
REVOKED_REASON = "its API token was revoked before it was sent; nothing was sent"


class TokenService:
    def __init__(
        self,
        tokens: TokenRepository,
        audit: AuditLog,
        defaults: Limits,
        *,
        clock: Callable[[], datetime] = utcnow,
        messages: MessageRepository | None = None,
    ) -> None:
        self._tokens = tokens
        self._audit = audit
        self.defaults = defaults
        self._clock = clock
        #: the rows of a revoked token's jobs not yet sent are cancelled through it
        self._messages = messages

    async def create(
        self, name: str, scopes: frozenset[str] = DEFAULT_SCOPES, *, created_by: int | None
    ) -> CreatedToken:
        """A new token; raise ``InvalidInput`` for a bad or taken name."""
        name = check_name(name)
        scopes = parse_scopes(",".join(scopes))
        plain = PREFIX + secrets.token_urlsafe(32)
        try:
            record = await self._tokens.add(
                name=name,
                name_key=name.casefold(),
                token_hash=hash_token(plain),
                scopes=scopes,
                created_by=created_by,
            )
        except NameTaken:
            raise TokenNameTaken(name) from None
        await self._audit.record(
            created_by,
            "token_created",
            f"token {name}: scopes {','.join(sorted(scopes))}{_by(created_by)}",
        )
        return CreatedToken(record, plain)

    async def list(self) -> list[TokenRecord]:
        return await self._tokens.list()

    async def revoke(self, name: str, *, by: int | None) -> TokenRecord | None:
        """Revoke the token of this name; None when there is none (nothing changed).
        What its running jobs have not sent is not sent (a revoked token is often a
        leaked one): those jobs are stopped with the revoke, a request out finishes,
        and their ``queued`` rows become ``failed`` (cancelled, nothing sent)."""
        record = await self._tokens.revoke(name.strip().casefold())
        if record is not None:
            await self._audit.record(by, "token_revoked", f"token {record.name}{_by(by)}")
            if self._messages is not None:
                for job_id in await self._tokens.jobs_with_queued(record.id):
                    await self._messages.cancel_queued(job_id, REVOKED_REASON)
        return record

    async def authenticate(self, plain: str | None, *, action: str = "") -> ApiCaller:
        """The caller a token stands for; raise ``TokenRefused`` (and audit it)."""
        if not plain:
            await self._audit.record(None, "api_auth_failed", f"no token: {action}"[:200])
            raise TokenRefused("missing")
        record = await self._tokens.by_hash(hash_token(plain))
        if record is None:
            await self._audit.record(None, "api_auth_failed", f"unknown token: {action}"[:200])
            raise TokenRefused("unknown")
        if record.revoked_at is not None:
            await self._audit.record(
                None, "api_auth_failed", f"token {record.name} (revoked): {action}"[:200]
            )
            raise TokenRefused("revoked", record.name)
        now = self._clock()
        if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY:
            await self._tokens.touch(record.id)
        return ApiCaller(record.id, record.name, record.scopes)

    async def wrong_scope(self, caller: ApiCaller, scope: str, action: str) -> None:
        await self._audit.record(
            None, "api_forbidden", f"token {caller.name} lacks scope {scope}: {action}"[:200]
        )

    async def sent(self, caller: ApiCaller, detail: str) -> None:
        await self._audit.record(None, "api_send", f"token {caller.name}: {detail}")

    async def limits_for(self, token_id: int) -> Limits:
        """The token's own limits where it has them, else the settings' defaults."""
        record = await self._tokens.get(token_id)
        if record is None:
            return self.defaults
        return Limits(
            per_minute=(
                record.per_minute if record.per_minute is not None else self.defaults.per_minute
            ),
            per_day=record.per_day if record.per_day is not None else self.defaults.per_day,
        )

    async def quotas(self, caller: ApiCaller) -> tuple[tuple[int, timedelta], ...]:
        """The (limit, window) pairs of this token that ``SendService.submit`` enforces."""
        limits = await self.limits_for(caller.id)
        return ((limits.per_minute, MINUTE), (limits.per_day, DAY))
