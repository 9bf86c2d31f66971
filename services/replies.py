"""Which message of the bot answers a send, and which state that answer shows: the
tracker edits that message (once) when the send's state changes later."""

from __future__ import annotations

import logging

from storage.db import STORAGE_ERRORS
from storage.messages import MessageRepository
from storage.models import MessageState

log = logging.getLogger(__name__)


class Replies:
    def __init__(self, messages: MessageRepository) -> None:
        self._messages = messages

    async def remember(
        self, message_id: int, chat_id: int, reply_message_id: int, shown: MessageState
    ) -> bool:
        """Remember the answer to send ``message_id``; False when the database refused.
        Then the tracker simply cannot edit this answer later: nothing else is lost,
        and the caller carries on."""
        try:
            await self._messages.set_reply(message_id, chat_id, reply_message_id, shown)
        except STORAGE_ERRORS as exc:
            log.warning("send #%s: could not remember the answer: %s", message_id, exc)
            return False
        return True
