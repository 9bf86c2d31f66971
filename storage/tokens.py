"""API tokens of the HTTP API: only a hash of each token is stored, never the token."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_db_time, to_db_time, utcnow


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    name: str
    scopes: frozenset[str]
    created_by: int | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    per_minute: int | None  # None: the default of the settings
    per_day: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TokenRecord:
        created = from_db_time(row["created_at"])
        assert created is not None
        return cls(
            id=row["id"],
            name=row["name"],
            scopes=frozenset(s for s in row["scopes"].split(",") if s),
            created_by=row["created_by"],
            created_at=created,
            revoked_at=from_db_time(row["revoked_at"]),
            last_used_at=from_db_time(row["last_used_at"]),
            per_minute=row["per_minute"],
            per_day=row["per_day"],
        )


class NameTaken(Exception):
    """A token of this name exists (revoked or not): names stay unique for the audit."""


@dataclass(frozen=True, slots=True)
class ApiJob:
    """What the API keeps on a job: whose token created it, and its request's hash."""

    token_id: int | None
    request_hash: str | None


class TokenRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        name: str,
        name_key: str,
        token_hash: str,
        scopes: frozenset[str],
        created_by: int | None,
    ) -> TokenRecord:
        async with self._db.transaction() as conn:
            try:
                rows = await conn.execute_fetchall(
                    "INSERT INTO api_tokens (name, name_key, token_hash, scopes, created_by, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                    (
                        name,
                        name_key,
                        token_hash,
                        ",".join(sorted(scopes)),
                        created_by,
                        to_db_time(utcnow()),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise NameTaken(name) from exc
        return TokenRecord.from_row(next(iter(rows)))

    async def list(self) -> list[TokenRecord]:
        rows = await self._db.fetchall("SELECT * FROM api_tokens ORDER BY name_key")
        return [TokenRecord.from_row(r) for r in rows]

    async def get(self, token_id: int) -> TokenRecord | None:
        row = await self._db.fetchone("SELECT * FROM api_tokens WHERE id = ?", (token_id,))
        return TokenRecord.from_row(row) if row else None

    async def by_hash(self, token_hash: str) -> TokenRecord | None:
        row = await self._db.fetchone(
            "SELECT * FROM api_tokens WHERE token_hash = ?", (token_hash,)
        )
        return TokenRecord.from_row(row) if row else None

    async def revoke(self, name_key: str) -> TokenRecord | None:
        """Revoke the token of this name; None when there is none. Revoking a revoked
        token keeps its first time. In the same commit its jobs with rows still
        ``queued`` are stopped: from then on no process claims one of them for sending
        (``MessageRepository.mark_sending``)."""
        now = to_db_time(utcnow())
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE name_key = ? "
                "RETURNING *",
                (now, name_key),
            )
            found = list(rows)
            if found:
                await conn.execute(
                    "UPDATE jobs SET stopped_at = ? WHERE api_token_id = ? "
                    "AND stopped_at IS NULL AND id IN (SELECT job_id FROM messages "
                    "WHERE state = 'queued' AND job_id IS NOT NULL)",
                    (now, found[0]["id"]),
                )
        return TokenRecord.from_row(found[0]) if found else None

    async def jobs_with_queued(self, token_id: int) -> tuple[int, ...]:
        """The token's jobs with rows still ``queued`` (nothing of them sent)."""
        rows = await self._db.fetchall(
            "SELECT id FROM jobs WHERE api_token_id = ? AND id IN (SELECT job_id FROM "
            "messages WHERE state = 'queued' AND job_id IS NOT NULL) ORDER BY id",
            (token_id,),
        )
        return tuple(int(r["id"]) for r in rows)

    async def touch(self, token_id: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
                (to_db_time(utcnow()), token_id),
            )

    async def api_job(self, job_id: int) -> ApiJob | None:
        row = await self._db.fetchone(
            "SELECT api_token_id, request_hash FROM jobs WHERE id = ?", (job_id,)
        )
        return ApiJob(row["api_token_id"], row["request_hash"]) if row else None

    async def job_by_key(self, idempotency_key: str) -> int | None:
        row = await self._db.fetchone(
            "SELECT id FROM jobs WHERE idempotency_key = ?", (idempotency_key,)
        )
        return int(row["id"]) if row else None
