"""Acceptance of issue 10 in the bot (address book, many recipients, bulk sends):
cases found by attacking it through the dispatcher, the fake Bot API and the fake
gateways; each a defect fixed, or a behaviour that must hold."""

from __future__ import annotations

import asyncio

import pytest

from tests.bot.conftest import ADMIN, USER, BotHarness, HarnessFactory, buttons, plain
from tests.bot.test_jobs import follow, numbers, sends, submit
from tests.bot.test_russian_texts import english_words

A, B, C, D = "79123456780", "79123456781", "79123456782", "79123456783"


async def _book(harness: BotHarness) -> None:
    book = harness.core.contacts
    await book.add(ADMIN, "Petr", A, ["oncall"])
    await book.add(ADMIN, "Anna", B, ["oncall"])
    await book.add(ADMIN, "Petr Ivanov", C)


async def _sent_to(harness: BotHarness) -> list[str]:
    await harness.settle()
    return sorted(r.form["to"] for r in harness.gateways.requests_for("smsrent"))


def _send_button(message: object) -> str:
    return next(d for d in buttons(message) if d.startswith("pv:send"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "typed",
    [
        "/send Petr Ivanov, oncall Disk full",  # a name of two words in a one-line list
        "/send Petr Ivanov Disk full",  # "Petr" and "Petr Ivanov" are both contacts
        "/send Anna,Petr Ivanov Disk full",  # the same as the last entry of a list
        "/send smsrent Petr Ivanov; Anna Disk full",
    ],
)
async def test_a_name_whose_text_may_go_on_with_recipients_is_shown_for_a_tap(
    harness: BotHarness, typed: str
) -> None:
    """SEND_CONFIRMATION=false: "Petr" alone was read and the SMS "Ivanov, oncall Disk
    full" went at once to Petr only, not to Petr Ivanov nor the group meant."""
    await _book(harness)
    answer = await harness.say(ADMIN, typed, lang="en")
    assert _send_button(answer), plain(answer)
    assert await _sent_to(harness) == []


async def test_a_name_with_its_text_on_the_same_line_still_goes_at_once(
    harness: BotHarness,
) -> None:
    await _book(harness)
    await harness.say(ADMIN, "/send Petr Disk full on db1", lang="en")
    assert await _sent_to(harness) == [A]
    await harness.say(ADMIN, "/send Petr Ivanov, Anna\nDisk full, see db1", lang="en")
    assert len(await _sent_to(harness)) == 1  # the list of two asked for a tap


async def test_a_csv_whose_first_row_is_skipped_as_a_header_is_shown_for_a_tap(
    harness: BotHarness,
) -> None:
    """A CSV of names without a header: "Ivan" (say, not in the book yet) was skipped
    as its header and the SMS went at once to Anna alone, nothing said about Ivan."""
    await _book(harness)
    before = harness.snapshot(ADMIN)
    harness.api.send_document(
        ADMIN, "team.csv", b"Ivan\nAnna\n", caption="Disk full", language_code="en"
    )
    preview = await harness.changed_since(ADMIN, before)
    assert "Ivan" in plain(preview)  # the skipped row is said
    assert await _sent_to(harness) == []
    await harness.press(ADMIN, preview, _send_button(preview), lang="en")
    assert await _sent_to(harness) == [B]


async def test_a_files_first_row_naming_a_contact_is_a_recipient(harness: BotHarness) -> None:
    """ "Petr" (a contact) first in a list file was skipped as a header."""
    await _book(harness)
    for name, content in (("team.csv", b"Petr;1\nAnna;2\n"), ("team.txt", b"Petr\nAnna\n")):
        before = harness.snapshot(ADMIN)
        harness.api.send_document(ADMIN, name, content, caption="Disk", language_code="en")
        preview = await harness.changed_since(ADMIN, before)
        assert "Recipients: 2" in plain(preview), plain(preview)
        assert "header" not in plain(preview)


async def test_the_preview_is_the_truth_when_the_group_changes_before_the_tap(
    harness: BotHarness,
) -> None:
    await _book(harness)
    preview = await harness.say(ADMIN, "/send oncall Disk full", lang="en")
    await harness.core.contacts.add(ADMIN, "Olga", D, ["oncall"])
    await harness.core.contacts.delete(ADMIN, "Anna")
    await harness.press(ADMIN, preview, _send_button(preview), lang="en")
    assert await _sent_to(harness) == [A, B]


async def test_a_user_reads_the_book_and_may_not_change_it(harness: BotHarness) -> None:
    await _book(harness)
    await harness.say(ADMIN, f"/allow {USER} Ivan", lang="en")
    refused = await harness.say(USER, f"/contacts add Evil {A} oncall", lang="en")
    assert "admins only" in plain(refused)
    assert "Evil" not in plain(await harness.say(USER, "/contacts", lang="en"))
    formula = await harness.say(ADMIN, f"/contacts add =1+2 {D}", lang="ru")
    assert "формулу" in plain(formula) and "Ничего не изменено" in plain(formula)


async def test_a_list_over_the_days_sms_limit_is_refused_before_its_preview(
    start_bot: HarnessFactory,
) -> None:
    """Four recipients with three SMS left today: the preview was shown with its Send
    button, and only the tap said the limit was hit."""
    harness = await start_bot(sends_per_day=3)
    await harness.say(ADMIN, f"/allow {USER} Ivan", lang="en")
    answer = await harness.say(USER, f"/send {A},{B},{C},{D} Disk full", lang="en")
    assert not buttons(answer), plain(answer)
    assert "limit" in plain(answer).lower()
    # more than the whole day's budget: waiting would not help, and it says so
    assert "The list has 4 recipients, and at most 3 SMS a day" in plain(answer)
    assert "waiting will not help" in plain(answer)
    ok = await harness.say(USER, f"/send {A},{B},{C} Disk full", lang="en")
    assert _send_button(ok)  # within the limit: the preview as before
    assert await _sent_to(harness) == []


async def test_cancel_of_what_a_stop_left_keeps_the_report_button(
    start_bot: HarnessFactory,
) -> None:
    """Stop, then Cancel of what was left: the summary was replaced by "cancelled"
    without its Report button, and the job's CSV could no longer be had."""
    harness = await start_bot(smska_concurrency=1)
    fake = harness.gateways
    fake.hold = asyncio.Event()
    started = await submit(harness, numbers(4))
    follower = follow(harness, started)
    await fake.wait_for_requests(1)
    progress = await harness.api.wait_for_message(ADMIN, lambda m: "Job" in plain(m))
    await harness.press(ADMIN, progress, buttons(progress)[0], lang="en")
    fake.hold.set()
    await asyncio.wait_for(follower, 10)
    cancel = f"job:cancel:{started.job.id}"
    assert cancel in buttons(progress)
    await harness.press(ADMIN, progress, cancel, lang="en")
    await harness.settle()
    assert "cancelled" in plain(progress)
    report = f"jobc:report:{started.job.id}"
    assert buttons(progress) == [report]
    await harness.press(ADMIN, progress, report, lang="en")
    call = await harness.api.wait_for_call("sendDocument")
    assert call.params["caption"]


async def test_stop_again_on_a_stopped_job_says_nothing_is_under_way(
    start_bot: HarnessFactory,
) -> None:
    """A second Stop (or one from an old message) on a stopped job answered "Stopping:
    sends under way finish…" when nothing was under way any more."""
    harness = await start_bot(smska_concurrency=1)
    fake = harness.gateways
    fake.hold = asyncio.Event()
    started = await submit(harness, numbers(4))
    follower = follow(harness, started)
    await fake.wait_for_requests(1)
    progress = await harness.api.wait_for_message(ADMIN, lambda m: "Job" in plain(m))
    stop = buttons(progress)[0]
    first = await harness.press(ADMIN, progress, stop, lang="en")
    assert "under way" in str(first.params.get("text"))  # one send was out
    fake.hold.set()
    await asyncio.wait_for(follower, 10)
    for lang in ("en", "ru"):
        again = await harness.press(ADMIN, progress, stop, lang=lang)
        text = str(again.params.get("text"))
        assert "under way" not in text and "завершаются" not in text, text
        assert "3" in text  # what waits for the owner's choice
    assert english_words(text) == []
    assert len(sends(fake)) == 1


def test_comment_lines_in_a_list_file_are_skipped_as_on_the_command_line() -> None:
    from handlers.documents import read_entries

    text = "# on-call, week 47\n79123456780\n  # Anna is away\n79123456781\n"
    assert read_entries("oncall.txt", text.encode()).entries == ["79123456780", "79123456781"]
    csv_text = "# exported 2026-11-22\nphone,name\n79123456780,Petr\n"
    listed = read_entries("team.csv", csv_text.encode())
    assert (listed.entries, listed.header) == (["79123456780"], "phone")
