"""Acceptance of the bot with cases the issue did not list.

A deny ends what the user had started, not only their previews: a step-by-step /send
waiting for its text (its number kept in the bot's memory) must not survive a removal,
so that a person removed and let in again cannot finish a send begun before."""

from __future__ import annotations

import pytest

from tests.bot.conftest import ADMIN, USER, HarnessFactory, plain


@pytest.mark.parametrize("confirm", [False, True])
async def test_a_send_begun_before_a_deny_is_not_finished_after_it(
    start_bot: HarnessFactory, confirm: bool
) -> None:
    harness = await start_bot(send_confirmation=confirm)
    await harness.say(ADMIN, f"/allow {USER} Ivan", lang="en")
    asked = await harness.say(USER, "/send 79123456789", lang="en")
    assert "Now send the text" in plain(asked)
    await harness.say(ADMIN, f"/deny {USER}", lang="en")
    await harness.say(ADMIN, f"/allow {USER} Ivan", lang="en")

    answer = await harness.say(USER, "disk full on db1", lang="en")
    await harness.settle()
    assert harness.requests("smsrent") == 0
    assert "Send this SMS?" not in plain(answer)
    assert await harness.core.store.messages.recent(user_id=None, limit=5) == []
    # The flow was ended: what they write now is taken as what it is.
    assert "/send" in plain(answer)
