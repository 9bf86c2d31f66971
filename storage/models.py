"""Rows as immutable dataclasses, and the states a send goes through."""

from __future__ import annotations

import enum
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storage.db import from_db_time


class MessageState(enum.StrEnum):
    QUEUED = "queued"  # recorded, waiting for a free slot at the gateway: nothing sent yet
    SENDING = "sending"  # marked on disk just before the gateway is called
    SENT = "sent"  # the gateway accepted it
    DELIVERED = "delivered"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DELETED = "deleted"
    FAILED = "failed"  # the gateway refused it, or it could not be sent: nothing went out
    UNKNOWN = "unknown"  # it may or may not have been sent

    @property
    def final(self) -> bool:
        return self not in (MessageState.QUEUED, MessageState.SENDING, MessageState.SENT)

    @property
    def in_flight(self) -> bool:
        """Recorded but not settled: waiting for a slot, or the request is out."""
        return self in (MessageState.QUEUED, MessageState.SENDING)

    @property
    def delivery_failed(self) -> bool:
        return self in (MessageState.REJECTED, MessageState.EXPIRED, MessageState.DELETED)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    created_at: datetime
    updated_at: datetime
    source: str
    user_id: int | None
    user_name: str | None
    lang: str | None
    chat_id: int | None
    reply_message_id: int | None
    recipient: str
    text: str
    encoding: str
    parts: int
    provider: str
    state: MessageState
    gateway_id: str | None
    error_kind: str | None
    error_text: str | None
    balance_after: Decimal | None
    balance_unit: str | None
    simulated: bool
    idempotency_key: str | None
    status_code: str | None
    status_name: str | None
    next_check_at: datetime | None
    checks: int
    notified: bool
    #: when the request was (about to be) made; the stale rule counts from here
    sending_at: datetime | None = None
    #: the state the bot's answer about this send shows (None: no answer yet)
    shown_state: str | None = None
    #: a failed delivery was told to the sender
    failure_told: bool = False
    #: the send job this row belongs to (None: a row from before jobs existed)
    job_id: int | None = None
    #: while ``sending``: after this the row is stale (its sending process's deadline)
    stale_at: datetime | None = None
    #: the contact's name when the number came from the address book
    recipient_name: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> MessageRecord:
        created = from_db_time(row["created_at"])
        updated = from_db_time(row["updated_at"])
        assert created is not None
        assert updated is not None
        return cls(
            id=row["id"],
            created_at=created,
            updated_at=updated,
            source=row["source"],
            user_id=row["user_id"],
            user_name=row["user_name"],
            lang=row["lang"],
            chat_id=row["chat_id"],
            reply_message_id=row["reply_message_id"],
            recipient=row["recipient"],
            text=row["text"],
            encoding=row["encoding"],
            parts=row["parts"],
            provider=row["provider"],
            state=MessageState(row["state"]),
            gateway_id=row["gateway_id"],
            error_kind=row["error_kind"],
            error_text=row["error_text"],
            balance_after=Decimal(row["balance_after"])
            if row["balance_after"] is not None
            else None,
            balance_unit=row["balance_unit"],
            simulated=bool(row["simulated"]),
            idempotency_key=row["idempotency_key"],
            status_code=row["status_code"],
            status_name=row["status_name"],
            next_check_at=from_db_time(row["next_check_at"]),
            checks=row["checks"],
            notified=bool(row["notified"]),
            sending_at=from_db_time(row["sending_at"]),
            shown_state=row["shown_state"],
            failure_told=bool(row["failure_told"]),
            job_id=row["job_id"],
            stale_at=from_db_time(row["stale_at"]),
            recipient_name=row["recipient_name"],
        )


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A send job: one text to one or more recipients (its rows in ``messages``)."""

    id: int
    created_at: datetime
    source: str
    user_id: int | None
    user_name: str | None
    chat_id: int | None
    lang: str | None
    gateway: str
    text: str
    idempotency_key: str | None
    total: int
    #: its owner stopped it: no request starts after this (its rows left ``queued``)
    stopped_at: datetime | None = None
    #: the bot's progress message about it (found again after a restart)
    progress_chat_id: int | None = None
    progress_message_id: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        created = from_db_time(row["created_at"])
        assert created is not None
        return cls(
            id=row["id"],
            created_at=created,
            source=row["source"],
            user_id=row["user_id"],
            user_name=row["user_name"],
            chat_id=row["chat_id"],
            lang=row["lang"],
            gateway=row["gateway"],
            text=row["text"],
            idempotency_key=row["idempotency_key"],
            total=row["total"],
            stopped_at=from_db_time(row["stopped_at"]),
            progress_chat_id=row["progress_chat_id"],
            progress_message_id=row["progress_message_id"],
        )


@dataclass(frozen=True, slots=True)
class MessageEvent:
    at: datetime
    state: str
    provider: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: int
    name: str
    is_admin: bool
    added_by: int | None
    added_at: datetime
    per_minute: int | None
    per_day: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> UserRecord:
        added = from_db_time(row["added_at"])
        assert added is not None
        return cls(
            user_id=row["user_id"],
            name=row["name"],
            is_admin=bool(row["is_admin"]),
            added_by=row["added_by"],
            added_at=added,
            per_minute=row["per_minute"],
            per_day=row["per_day"],
        )


@dataclass(frozen=True, slots=True)
class StoredBalance:
    provider: str
    amount: Decimal
    unit: str
    at: datetime
    message_id: int | None


class PreviewState(enum.StrEnum):
    """Where a send preview (a message with "Send" and "Cancel" buttons) stands."""

    OPEN = "open"  # waiting for a tap, until it expires
    USED = "used"  # became a send (``message_id``)
    CANCELLED = "cancelled"  # withdrawn: by its user, by an invalid input, or the user removed
    EXPIRED = "expired"  # tapped after its time


@dataclass(frozen=True, slots=True)
class Preview:
    token: str
    user_id: int
    chat_id: int
    recipient: str
    text: str
    provider: str
    created_at: datetime
    expires_at: datetime
    state: PreviewState
    message_id: int | None
    #: several recipients: JSON ``[[number, name or null], ...]`` (None: one, ``recipient``)
    recipients: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Preview:
        created = from_db_time(row["created_at"])
        expires = from_db_time(row["expires_at"])
        assert created is not None
        assert expires is not None
        return cls(
            token=row["token"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            recipient=row["recipient"],
            text=row["text"],
            provider=row["provider"],
            created_at=created,
            expires_at=expires,
            state=PreviewState(row["state"]),
            message_id=row["message_id"],
            recipients=row["recipients"],
        )
