"""/tokens: admins list, create and revoke the HTTP API's tokens in the bot."""

from __future__ import annotations

import re

import pytest

from handlers.texts import TEXTS
from services.tokens import TokenRefused, hash_token
from tests.bot.conftest import ADMIN, USER, BotHarness, plain
from tests.bot.test_russian_texts import english_words


async def test_an_admin_creates_lists_and_revokes_a_token(harness: BotHarness) -> None:
    created = await harness.say(ADMIN, "/tokens create grafana read", lang="en")
    token = re.search(r"smsbot_[A-Za-z0-9_-]+", plain(created))
    assert token is not None, plain(created)
    assert "shown only this once" in plain(created) and "delete this message" in plain(created)
    caller = await harness.core.tokens.authenticate(token.group())
    assert (caller.name, caller.scopes) == ("grafana", frozenset({"read"}))
    rows = await harness.core.db.fetchall("SELECT token_hash, created_by FROM api_tokens")
    assert [(r["token_hash"], r["created_by"]) for r in rows] == [
        (hash_token(token.group()), ADMIN)
    ]

    listed = await harness.say(ADMIN, "/tokens")
    assert "grafana" in plain(listed) and "действует" in plain(listed)
    assert "smsbot_" not in plain(listed)
    assert english_words(listed.text) == []

    revoked = await harness.say(ADMIN, "/tokens revoke GRAFANA")
    assert "отозван" in plain(revoked)
    with pytest.raises(TokenRefused):
        await harness.core.tokens.authenticate(token.group())
    actions = [e.action for e in await harness.core.store.audit.recent()]
    assert "token_created" in actions and "token_revoked" in actions


@pytest.mark.parametrize(
    ("command", "key"),
    [
        ("/tokens create", "tokens_usage"),
        ("/tokens create two words here", "tokens_usage"),
        ("/tokens drop x", "tokens_usage"),
        ("/tokens create имя", "token_bad_name"),
        ("/tokens create ok admin", "token_bad_scope"),
        ("/tokens revoke nobody", "token_not_found"),
    ],
)
async def test_bad_tokens_commands_get_a_clear_answer_and_change_nothing(
    harness: BotHarness, command: str, key: str
) -> None:
    reply = await harness.say(ADMIN, command)
    first_line = TEXTS[key]["ru"].split("<code>")[0].split("{")[0]
    assert plain(reply).startswith(first_line.strip()[:12]), plain(reply)
    assert english_words(reply.text) == []
    assert await harness.core.tokens.list() == []


async def test_a_taken_name_is_refused(harness: BotHarness) -> None:
    await harness.say(ADMIN, "/tokens create ci")
    again = await harness.say(ADMIN, "/tokens create CI send")
    assert "уже есть" in plain(again)
    assert [r.name for r in await harness.core.tokens.list()] == ["ci"]


async def test_tokens_is_for_admins_only(harness: BotHarness) -> None:
    await harness.core.users.allow(ADMIN, USER, name="Ivan")
    reply = await harness.say(USER, "/tokens create mine")
    assert plain(reply) == TEXTS["admin_only"]["ru"]
    assert await harness.core.tokens.list() == []
