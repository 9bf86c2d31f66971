"""The records the services hand out (a send, a user, a stranger), with the states a
send and a preview go through: what the bot's handlers read and render, offered
here so that no entry point imports the storage layer."""

from __future__ import annotations

from storage.messages import INTERRUPTED, NOT_STARTED
from storage.models import MessageRecord, MessageState, PreviewState, UserRecord
from storage.strangers import StrangerRecord
from storage.users import MAX_NAME

__all__ = [
    "INTERRUPTED",
    "MAX_NAME",
    "NOT_STARTED",
    "MessageRecord",
    "MessageState",
    "PreviewState",
    "StrangerRecord",
    "UserRecord",
]
