"""The /send argument parser and the text catalogue, driven by arbitrary input."""

from __future__ import annotations

import html
import string

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.parsing import SendArgs, parse_int, parse_send_args
from handlers.texts import TEXTS, Html, t
from services.domain import InvalidInput, normalize_phone, read_phone

GATEWAYS = ("smsrent", "smska", "sandbox")


def test_number_and_text() -> None:
    args = parse_send_args("79123456789 Server is down", GATEWAYS)
    assert (args.provider, args.phone, args.text) == (None, "79123456789", "Server is down")


def test_number_written_with_spaces_and_a_gateway() -> None:
    args = parse_send_args("SMSKA +7 912 345 67 89 hello world", GATEWAYS)
    assert args.provider == "smska"
    assert normalize_phone(args.phone) == "79123456789"
    assert args.text == "hello world"


def test_text_starting_with_digits_is_not_eaten_by_the_number() -> None:
    args = parse_send_args("79123456789 500 errors on web-1", GATEWAYS)
    assert args.phone == "79123456789"
    assert args.text == "500 errors on web-1"


def test_multiline_text_keeps_its_lines() -> None:
    args = parse_send_args("79123456789\nline 1\n  line 2", GATEWAYS)
    assert args.phone == "79123456789"
    assert args.text == "line 1\n  line 2"


def test_missing_parts() -> None:
    assert parse_send_args(None, GATEWAYS).phone == ""
    assert parse_send_args("   ", GATEWAYS).phone == ""
    only_number = parse_send_args("8 (912) 345-67-89", GATEWAYS)
    assert normalize_phone(only_number.phone) == "79123456789"
    assert only_number.text == ""


def test_invalid_number_is_kept_for_the_error_message() -> None:
    args = parse_send_args("12345 hi", GATEWAYS)
    assert args.phone == "12345"
    assert args.text == "hi"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_raises_and_keeps_the_text(raw: str) -> None:
    args = parse_send_args(raw, GATEWAYS)
    assert args.provider in (None, *GATEWAYS)
    # Whatever was parsed as the text is a part of what was typed.
    assert args.text in raw or not args.text
    assert "\x00" not in args.phone or "\x00" in raw


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["79123456789", "+7 912 345-67-89", "8 (912) 345 67 89", "+44 20 7946 0958"]),
    st.text(
        alphabet=string.ascii_letters + string.punctuation + " \nабвгд🚀", min_size=1, max_size=200
    )
    .map(str.strip)
    .filter(lambda s: bool(s) and not s[0].isdigit() and s[0] not in "+-().\n"),
)
def test_valid_number_then_any_text(phone: str, text: str) -> None:
    args = parse_send_args(f"{phone} {text}", GATEWAYS)
    assert normalize_phone(args.phone) == normalize_phone(phone)
    assert args.text == text.strip()


@given(st.text(max_size=30))
def test_parse_int_only_accepts_numbers(raw: str) -> None:
    value = parse_int(raw)
    if value is not None:
        assert value == int(raw.strip())
        assert raw.strip().lstrip("-").isdigit()


@given(st.text(max_size=200))
def test_every_text_escapes_user_input(value: str) -> None:
    for key, variants in TEXTS.items():
        for lang in variants:
            fields = {name: value for name in _fields(variants[lang])}
            rendered = t(lang, key, **fields)
            if value:
                assert html.escape(value, quote=False) in rendered or not fields
            assert "<script" not in rendered.lower() or "<script" not in value.lower()


def test_html_marked_values_are_not_escaped_twice() -> None:
    assert "<b>x</b>" in t("en", "invalid_input", reason=Html("<b>x</b>"))
    assert "&lt;b&gt;" in t("en", "invalid_input", reason="<b>x</b>")


def test_invalid_numbers_raise_only_invalid_input() -> None:
    for raw in ["", "abc", "+", "123", "7" * 30, "+7 (912"]:
        try:
            normalize_phone(raw)
        except InvalidInput:
            continue
        raise AssertionError(f"{raw!r} was accepted")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# ------------------------------------------------- numbers written with spaces


@pytest.mark.parametrize(
    ("raw", "readings"),
    [
        ("+49 30 1234567 8 servers down", {"49301234567", "493012345678"}),
        ("+39 06 1234567 8 servers down", {"39061234567", "390612345678"}),
        ("+4930123456 78 servers down", {"4930123456", "493012345678"}),
    ],
)
def test_number_that_reads_two_ways_is_never_guessed(raw: str, readings: set[str]) -> None:
    args = parse_send_args(raw, GATEWAYS)

    assert args.ambiguous
    assert set(args.readings) == readings


@pytest.mark.parametrize(
    "raw",
    [
        "+7 912 345-67-89 text",
        "8 (912) 345 67 89 text",
        "79123456789 500 errors",
        "+493012345678 servers down",
    ],
)
def test_number_with_one_reading_works_as_before(raw: str) -> None:
    args = parse_send_args(raw, GATEWAYS)

    assert not args.ambiguous
    assert args.text.split()[-1] in raw
    assert read_phone(args.phone) in ("79123456789", "493012345678")


def _split(digits: str, cuts: list[int]) -> str:
    """``digits`` with a space at each of ``cuts`` (positions inside it)."""
    points = sorted({c for c in cuts if 0 < c < len(digits)})
    pieces = [digits[a:b] for a, b in zip([0, *points], [*points, len(digits)], strict=True)]
    return " ".join(pieces)


_EXAMPLE_NUMBERS = sorted(
    {
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    }
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_EXAMPLE_NUMBERS),
    st.lists(st.integers(min_value=1, max_value=14), max_size=3),
    st.from_regex(r"[0-9]{1,4}( [0-9]{1,3})?( [a-z]{1,8})?", fullmatch=True),
)
def test_number_never_swallows_text_when_another_reading_exists(
    e164: str, cuts: list[int], text: str
) -> None:
    written = "+" + _split(e164[1:], cuts)
    args = parse_send_args(f"{written} {text}", GATEWAYS)
    # The number as written is one valid reading, so taking digits of the text into
    # the number is a second one: then nothing may be chosen.
    if args.ambiguous:
        assert e164[1:] in args.readings
        assert len(set(args.readings)) == len(args.readings) > 1
        return
    assert args.phone == written
    assert read_phone(args.phone) == e164[1:]
    assert args.text == text


def test_word_before_a_number_is_a_gateway_name() -> None:
    assert parse_send_args("nosuchgw 79123456789 hi", GATEWAYS).provider == "nosuchgw"
    args = parse_send_args("Nosuch +7 912 345 67 89 hi there", GATEWAYS)
    assert (args.provider, args.text) == ("Nosuch", "hi there")
    assert read_phone(args.phone) == "79123456789"
    # A word followed by words is not a gateway: it is a (bad) number.
    assert parse_send_args("hello world", GATEWAYS) == SendArgs(None, "hello", "world")


# ------------------------------------------------- several recipients


@pytest.mark.parametrize(
    ("raw", "entries", "text"),
    [
        (
            "oncall,Petr,+79123456780 Disk full on db1",
            ("oncall", "Petr", "+79123456780"),
            "Disk full on db1",
        ),
        (
            "79123456789; +7 912 345-67-80 hi, there",
            ("79123456789", "+7 912 345-67-80"),
            "hi, there",
        ),
        (
            "oncall, Petr Ivanov, 8 912 345 67 80\nDisk full\nline 2",
            ("oncall", "Petr Ivanov", "8 912 345 67 80"),
            "Disk full\nline 2",
        ),
        ("Petr Ivanov\nDisk full", ("Petr Ivanov",), "Disk full"),
        ("a, b,\ntext", ("a", "b"), "text"),
        ("x;;y hi", ("x", "y"), "hi"),
        (
            "79123456789 ;79123456780 , 79123456781 hi",
            ("79123456789", "79123456780", "79123456781"),
            "hi",
        ),
        ("Petr , oncall hi", ("Petr", "oncall"), "hi"),
        ("79123456789, 79123456780", ("79123456789", "79123456780"), ""),
    ],
)
def test_lists_of_recipients(raw: str, entries: tuple[str, ...], text: str) -> None:
    args = parse_send_args(raw, GATEWAYS)
    assert (args.entries, args.text) == (entries, text)
    assert parse_send_args("smska " + raw, GATEWAYS).provider == "smska"


@pytest.mark.parametrize(
    ("raw", "phone", "text"),
    [
        ("79123456789 hello, world", "79123456789", "hello, world"),
        ("79123456789 ;-)", "79123456789", ";-)"),
        ("Petr Disk full, then more", "Petr", "Disk full, then more"),
        ("+7 912 345 67 89\ntext", "+7 912 345 67 89", "text"),
    ],
)
def test_one_recipient_stays_one(raw: str, phone: str, text: str) -> None:
    args = parse_send_args(raw, GATEWAYS)
    assert (args.entries, args.phone, args.text) == ((), phone, text)


def test_last_number_of_a_list_that_reads_two_ways_is_never_guessed() -> None:
    args = parse_send_args("oncall, +49 30 1234567 8 servers down", GATEWAYS)
    assert args.ambiguous
    assert args.entries == ()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["79123456789", "+7 912 345-67-80", "8 (912) 345 67 81", "oncall", "Petr"]),
        min_size=2,
        max_size=6,
    ),
    st.sampled_from([", ", ",", "; ", ";"]),
    st.from_regex(r"[A-Za-zА-я][A-Za-zА-я ,;.!]{0,40}", fullmatch=True).map(str.strip),
)
def test_a_typed_list_reads_back_as_typed(entries: list[str], sep: str, text: str) -> None:
    args = parse_send_args(sep.join(entries) + " " + text, GATEWAYS)
    if not text:
        return
    *head, last = args.entries
    assert tuple(head) == tuple(entries[:-1])
    # the last entry is read like a lone number: a name takes one word
    assert last == entries[-1]
    assert args.text == text
