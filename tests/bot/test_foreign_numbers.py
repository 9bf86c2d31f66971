"""A number this program resolved or keeps is international digits and is always read
back with its "+": Vietnam's 84912345678 is never re-read as Russia's 8 491 234-56-78
(74912345678), whether it came typed with "+", from the address book, from a contact
card, or through a list, a preview or a resume."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, BotHarness, buttons, plain
from tests.bot.test_contacts import card_reply, press_and_see
from tests.bot.test_many_recipients import _tap_send

VIETNAM = "84912345678"  # also a valid Russian number if read as national: 8 491 …
RUSSIA = "79123456789"


async def _sent_to(harness: BotHarness) -> list[str]:
    await harness.settle()
    return sorted(r.form["to"] for r in harness.gateways.requests_for("smsrent"))


async def test_a_list_with_a_foreign_number_sends_to_that_number(harness: BotHarness) -> None:
    preview = await harness.say(ADMIN, f"/send +84 91 234 5678, {RUSSIA} Disk full")
    assert f"+{VIETNAM}" in plain(preview)
    await _tap_send(harness, preview)
    assert await _sent_to(harness) == [RUSSIA, VIETNAM]


async def test_a_contact_card_and_the_address_book_keep_a_foreign_number(
    harness: BotHarness,
) -> None:
    asked = await card_reply(harness, ADMIN, VIETNAM, "Nguyen")
    assert f"+{VIETNAM}" in plain(asked)
    await press_and_see(harness, ADMIN, asked, buttons(asked)[0], new=True)
    contact = await harness.core.contacts.get("nguyen")
    assert contact is not None and contact.phone == VIETNAM
    await harness.say(ADMIN, "Disk full")  # the text the card's send asked for
    await _tap_send(harness, await harness.say(ADMIN, f"/send Nguyen, {RUSSIA} again"))
    assert await _sent_to(harness) == [RUSSIA, VIETNAM, VIETNAM]
