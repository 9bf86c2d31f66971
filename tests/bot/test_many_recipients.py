"""/send to several recipients (issue 10): lists, names and groups, the first-line form,
.txt/.csv files, the preview of several (counts, what was removed and refused, parts,
the balance and its refusal), BULK_CONFIRM_OVER, and one job per send."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from handlers.documents import DocumentRefused, read_entries
from handlers.middlewares import InFlightMiddleware
from services.recipients import BookEntry, name_key
from tests.bot.conftest import ADMIN, BotHarness, HarnessFactory, buttons, plain
from tests.bot.test_russian_texts import english_words
from tests.fakes.botapi import SentMessage

A, B, C = "79123456780", "79123456781", "79123456782"


class FakeBook:
    """An address book of names and groups (engineer 1's is the real one)."""

    def __init__(self, entries: Mapping[str, Sequence[BookEntry]]) -> None:
        self._entries = {name_key(k): list(v) for k, v in entries.items()}

    async def lookup(self, keys: Collection[str]) -> Mapping[str, Sequence[BookEntry]]:
        return {key: self._entries[key] for key in keys if key in self._entries}


BOOK = FakeBook(
    {
        "oncall": [BookEntry("Petr", A), BookEntry("Anna", B)],
        "Petr": [BookEntry("Petr", A)],
        "Petr Ivanov": [BookEntry("Petr Ivanov", C)],
        "nobody": [],
    }
)


def _russian(message: SentMessage) -> None:
    assert english_words(message.text) == [], message.text


async def _tap_send(harness: BotHarness, preview: SentMessage) -> SentMessage:
    """Tap "Send" under ``preview``; the message once the job is done."""
    send = next(data for data in buttons(preview) if data.startswith("pv:send"))
    before = harness.snapshot(ADMIN)
    await harness.press(ADMIN, preview, send)
    return await harness.changed_since(
        ADMIN, before, until=lambda m: plain(m).startswith(("Готово", "Done", "✅", "🧪"))
    )


async def _sent_to(harness: BotHarness, gateway: str = "smsrent") -> list[str]:
    await harness.settle()
    field = "MSISDN" if gateway == "smska" else "to"
    return sorted(r.form[field] for r in harness.gateways.requests_for(gateway))


async def _jobs(harness: BotHarness) -> int:
    row = await harness.core.db.fetchone("SELECT COUNT(*) AS n FROM jobs")
    assert row is not None
    return int(row["n"])


# ------------------------------------------------------------------ lists


async def test_list_removes_duplicates_lists_refused_entries_and_sends_one_job(
    harness: BotHarness,
) -> None:
    preview = await harness.say(
        ADMIN, f"/send {A}, +7 912 345-67-81; 8 912 345 67 80, 12345, Vasya Disk full on db1"
    )

    text = plain(preview)
    assert "Получателей: 2" in text
    assert "Повторы убраны (1): «8 912 345 67 80» (уже есть: «79123456780»)" in text
    assert "Не получат SMS — не понято (2):" in text
    assert "• «12345»: не номер телефона" in text
    assert "• «Vasya»: «Vasya» — не номер телефона и не имя контакта или группы" in text
    assert "всего частей: 2" in text
    assert "Disk full on db1" in text
    _russian(preview)
    # an entry was refused: a tap is needed even with SEND_CONFIRMATION=false
    assert await _sent_to(harness) == []

    done = await _tap_send(harness, preview)

    assert plain(done).startswith("✅ Рассылка J1 завершена: из 2 отправлено 2, не отправлено 0,")
    assert await _sent_to(harness) == [A, B]
    assert await _jobs(harness) == 1


async def test_first_line_of_recipients_with_the_text_below(harness: BotHarness) -> None:
    harness.core.recipients.book = BOOK
    preview = await harness.say(ADMIN, f"/send oncall, Petr Ivanov, {C}\nDisk full\nsee db1")

    text = plain(preview)
    assert "Получателей: 3" in text
    assert "«Petr» (+79123456780)" in text and "«Petr Ivanov» (+79123456782)" in text
    assert "Повторы убраны (1): «79123456782» (уже есть: «Petr Ivanov»)" in text
    assert "Disk full\nsee db1" in text
    _russian(preview)

    await _tap_send(harness, preview)

    assert await _sent_to(harness) == [A, B, C]
    sent = [r.form["msg"] for r in harness.gateways.requests_for("smsrent")]
    assert sent == ["Disk full\nsee db1"] * 3


async def test_groups_and_names_resolve_and_keep_the_names(harness: BotHarness) -> None:
    harness.core.recipients.book = BOOK
    preview = await harness.say(ADMIN, f"/send oncall,Petr,+{C} Disk full on db1")

    assert "Получателей: 3" in plain(preview)
    assert "Повторы убраны (1): «Petr» (уже есть: «oncall»)" in plain(preview)
    _russian(preview)
    await _tap_send(harness, preview)

    assert await _sent_to(harness) == [A, B, C]
    rows = await harness.core.store.messages.of_job(1)
    assert {r.recipient: r.recipient_name for r in rows} == {A: "Petr", B: "Anna", C: None}


async def test_a_gateway_then_a_group(harness: BotHarness) -> None:
    harness.core.recipients.book = BOOK
    preview = await harness.say(ADMIN, "/send smska oncall text")

    assert "Шлюз: smska" in plain(preview)
    await _tap_send(harness, preview)
    assert await _sent_to(harness, "smska") == [A, B]
    assert await _sent_to(harness, "smsrent") == []


async def test_one_name_is_sent_at_once_without_confirmation(harness: BotHarness) -> None:
    harness.core.recipients.book = BOOK
    reply = await harness.say(
        ADMIN, "/send Petr Disk full", until=lambda m: plain(m).startswith("✅")
    )

    assert "+79123456780" in plain(reply)
    assert await _sent_to(harness) == [A]
    rows = await harness.core.store.messages.of_job(1)
    assert [r.recipient_name for r in rows] == ["Petr"]


async def test_unknown_names_and_empty_groups_send_nothing_and_say_why(
    harness: BotHarness,
) -> None:
    one = await harness.say(ADMIN, "/send Petr Disk full")
    assert plain(one) == (
        "❌ «Petr» — не номер телефона и не имя контакта или группы\nНичего не отправлено."
    )
    harness.core.recipients.book = BOOK
    several = await harness.say(ADMIN, "/send nobody, Ghost, 12345 hi")

    text = plain(several)
    assert text.startswith("❌ Некому отправить")
    assert "• «nobody»: в группе «nobody» никого нет" in text
    assert "• «Ghost»: «Ghost» — не номер телефона и не имя контакта или группы" in text
    assert "• «12345»: не номер телефона" in text
    assert text.endswith("Ничего не отправлено.")
    _russian(several)
    english = await harness.say(ADMIN, "/send nobody, Ghost hi", lang="en")
    assert "“Ghost” is not a phone number, nor a contact's or group's name" in plain(english)
    assert await _sent_to(harness) == []
    assert await harness.core.store.messages.get(1) is None


async def test_a_long_refused_list_is_cut_with_a_count(harness: BotHarness) -> None:
    bad = ", ".join(f"x{i}" for i in range(14))
    reply = await harness.say(ADMIN, f"/send {A}, {bad} hi")

    assert "…и ещё 4" in plain(reply)
    assert "x9" in plain(reply) and "x10" not in plain(reply)


async def test_ambiguous_last_number_of_a_list_is_refused(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, f"/send {A}, +49 30 1234567 8 servers down")

    assert "можно прочитать как разные номера" in plain(reply)
    assert await _sent_to(harness) == []


# ------------------------------------------------------------------ confirmation


async def test_bulk_always_asks_for_a_tap_above_bulk_confirm_over(harness: BotHarness) -> None:
    # SEND_CONFIRMATION=false, BULK_CONFIRM_OVER=1 (the defaults of these tests)
    preview = await harness.say(ADMIN, f"/send {A},{B} hi")

    assert len(buttons(preview)) == 2
    assert await _sent_to(harness) == []


async def test_up_to_bulk_confirm_over_is_sent_at_once(start_bot: HarnessFactory) -> None:
    harness = await start_bot(bulk_confirm_over=2)

    done = await harness.say(ADMIN, f"/send {A},{B} hi", until=lambda m: plain(m).startswith("✅"))

    assert plain(done).startswith("✅ Рассылка J1 завершена: из 2 отправлено 2, не отправлено 0,")
    assert await _sent_to(harness) == [A, B]
    assert await _jobs(harness) == 1


async def test_repeated_tap_sends_the_job_once(harness: BotHarness) -> None:
    preview = await harness.say(ADMIN, f"/send {A},{B} hi")
    send = next(data for data in buttons(preview) if data.startswith("pv:send"))
    await _tap_send(harness, preview)

    again = await harness.press(ADMIN, preview, send)

    assert "уже отправлено" in str(again.params.get("text"))
    assert await _sent_to(harness) == [A, B]


# ------------------------------------------------------------------ balance


async def _balance(harness: BotHarness, gateway: str, amount: int, unit: str) -> None:
    await harness.core.store.balances.save(gateway, Decimal(amount), unit, datetime.now(UTC), None)


async def test_known_balance_lower_than_the_parts_is_refused(harness: BotHarness) -> None:
    await _balance(harness, "smsrent", 2, "SMS")
    long_text = "ы" * 80  # two parts each: four in all

    reply = await harness.say(ADMIN, f"/send {A},{B} {long_text}")

    text = plain(reply)
    assert "всего частей: 4" in text
    assert "⛔ Последний известный баланс (2 SMS) меньше, чем частей нужно (4)" in text
    assert buttons(reply) == []
    _russian(reply)
    assert await _sent_to(harness) == []


async def test_enough_balance_is_shown_with_the_buttons(harness: BotHarness) -> None:
    await _balance(harness, "smsrent", 500, "SMS")
    preview = await harness.say(ADMIN, f"/send {A},{B} hi")

    assert "Баланс: 500 SMS" in plain(preview)
    assert len(buttons(preview)) == 2


async def test_balance_in_credits_is_shown_but_not_compared(harness: BotHarness) -> None:
    await _balance(harness, "smska", 1, "credits")
    preview = await harness.say(ADMIN, f"/send smska {A},{B} hi")

    assert "Баланс: 1 кредит (не в SMS — сравнить с числом частей нельзя)" in plain(preview)
    assert len(buttons(preview)) == 2
    _russian(preview)


# ------------------------------------------------------------------ the guided flow


async def test_guided_flow_takes_a_list(harness: BotHarness) -> None:
    await harness.say(ADMIN, "/send")
    asked = await harness.say(ADMIN, f"{A}, {B}, {A}")

    assert plain(asked).startswith("Получателей: 2.")
    assert "Повторы убраны (1)" in plain(asked)
    preview = await harness.say(ADMIN, "flow text")
    assert "Получателей: 2" in plain(preview)
    await _tap_send(harness, preview)
    assert await _sent_to(harness) == [A, B]


# ------------------------------------------------------------------ files


async def _send_file(
    harness: BotHarness, name: str, content: bytes, caption: str | None = None, **kw: object
) -> SentMessage:
    before = harness.snapshot(ADMIN)
    harness.api.send_document(ADMIN, name, content, caption=caption, **kw)  # type: ignore[arg-type]
    return await harness.changed_since(ADMIN, before)


async def test_csv_file_first_column_header_said_bad_lines_listed(harness: BotHarness) -> None:
    content = f"Телефон;Имя\n{A};Петр\n+7 912 345-67-81;Анна\nnot a number;x\n{A};again\n"

    preview = await _send_file(harness, "list.csv", content.encode(), caption="Disk full")

    text = plain(preview)
    assert "Получателей: 2" in text
    assert "Первая строка «Телефон» — заголовок, пропущена." in text
    assert "• «not a number»:" in text
    assert "Повторы убраны (1)" in text
    _russian(preview)
    await _tap_send(harness, preview)
    assert await _sent_to(harness) == [A, B]
    assert [r.form["msg"] for r in harness.gateways.requests_for("smsrent")] == ["Disk full"] * 2


async def test_txt_file_in_cp1251_without_caption_asks_for_the_text(
    harness: BotHarness,
) -> None:
    asked = await _send_file(harness, "номера.TXT", f"{A}\r\n\r\n{B}\r\n".encode("cp1251"))

    assert plain(asked).startswith("Получателей: 2.")
    preview = await harness.say(ADMIN, "from the file")
    await _tap_send(harness, preview)
    assert await _sent_to(harness) == [A, B]


async def test_file_with_more_than_max_recipients_is_refused(start_bot: HarnessFactory) -> None:
    harness = await start_bot(max_recipients=3)
    numbers = "\n".join(f"7912345678{i}" for i in range(5))

    reply = await _send_file(harness, "list.txt", numbers.encode(), caption="hi")

    assert plain(reply) == (
        "❌ получателей больше 3 — столько за одну отправку нельзя, разделите список\n"
        "Ничего не отправлено."
    )
    assert await _sent_to(harness) == []


async def test_files_that_are_not_lists_are_refused(harness: BotHarness) -> None:
    pdf = await _send_file(harness, "report.pdf", b"%PDF-1.4", caption="hi")
    assert plain(pdf).startswith("❌ Пришлите файл .txt или .csv")
    binary = await _send_file(harness, "list.txt", b"7912\x00\x01\x02", caption="hi")
    assert "файл не похож на текст" in plain(binary)
    big = await _send_file(harness, "list.txt", A.encode(), caption="hi", file_size=50_000_000)
    assert "файл больше 2048 КБ" in plain(big)
    for reply in (pdf, binary, big):
        _russian(reply)
    assert await _sent_to(harness) == []


def test_read_entries_decodes_and_splits() -> None:
    assert read_entries("a.txt", "\ufeff79123456780, Петр;oncall\n".encode()).entries == [
        "79123456780",
        "Петр",
        "oncall",
    ]
    assert read_entries("a.csv", "Петр,1\n".encode("cp1251")).header == "Петр"
    assert read_entries("a.csv", b'"+7 912 345-67-80",x\n79123456781\n').entries == [
        "+7 912 345-67-80",
        "79123456781",
    ]
    with pytest.raises(DocumentRefused) as refused:
        read_entries("a.txt", b"\x98\x98")  # not UTF-8, and no cp1251 either
    assert refused.value.key == "doc_not_text"


async def test_a_list_left_at_the_text_step_is_never_sent_by_a_later_flow(
    harness: BotHarness,
) -> None:
    asked = await harness.say(ADMIN, f"/send {A}, {B}")
    assert plain(asked).startswith("Получателей: 2.")
    await harness.say(ADMIN, "/send")  # begun again: the list is forgotten
    await harness.say(ADMIN, C)

    await harness.say(ADMIN, "only to C", until=lambda m: plain(m).startswith("✅"))

    assert await _sent_to(harness) == [C]


async def test_long_refused_entries_keep_the_reply_within_telegrams_limit(
    harness: BotHarness,
) -> None:
    words = ", ".join(f"{letter * 300}" for letter in "abcdefghijkl")

    reply = await harness.say(ADMIN, f"/send {A}, {words} hi")

    assert len(reply.text) < 4096
    assert "…и ещё" in plain(reply)
    assert "a" * 300 not in plain(reply)
    assert len(buttons(reply)) == 2


async def test_shutdown_waits_for_the_answer_of_a_running_job() -> None:
    in_flight = InFlightMiddleware()
    finish = asyncio.Event()
    in_flight.track(asyncio.create_task(finish.wait()))  # what answer_job leaves running
    waiting = asyncio.create_task(in_flight.wait(grace=60))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not waiting.done()

    finish.set()

    assert await waiting is True
