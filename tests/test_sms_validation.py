"""Shared validation (services/domain.py, providers/sms.py): phone numbers, message text,
sender names."""

from __future__ import annotations

import math
import re

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.domain import (
    MAX_TEXT_CHARS,
    InvalidCharacters,
    InvalidInput,
    InvalidPhone,
    InvalidSenderName,
    InvalidText,
    RefusedCountry,
    RefusedNumberType,
    analyze_text,
    country_name,
    normalize_phone,
    validate_sender,
)

# GSM 03.38, written out here independently of providers/sms.py.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"

# ------------------------------------------------------------------ phone numbers


@pytest.mark.parametrize(
    "raw",
    [
        "+7 912 345-67-89",
        "8 (912) 345 67 89",
        "79123456789",
        "+79123456789",
        "89123456789",
        "8-912-345-67-89",
        "  +7 (912) 345.67.89  ",
        "+7\u00a0912\u00a0345\u201167\u201189".replace("\u2011", "-"),
        "912 345 67 89",
    ],
)
def test_russian_numbers_in_usual_forms(raw: str) -> None:
    assert normalize_phone(raw) == "79123456789"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 20 7946 0958", "442079460958"),
        ("442079460958", "442079460958"),
        ("+49 30 901820", "4930901820"),
        ("+380 44 123 4567", "380441234567"),
        ("+375 29 123-45-67", "375291234567"),
        ("+1 (650) 253-0000", "16502530000"),
    ],
)
def test_other_countries_in_international_form(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "12",
        "+7 912 345",
        "7912345678901234567890",
        "+7 912 345 67 89 ext 1",
        "79123456789a",
        "++79123456789",
        "+0 123 456 7890",
        "tel:+79123456789",
    ],
)
def test_invalid_numbers_are_refused_with_a_clear_message(raw: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw)

    message = str(info.value)
    assert info.value.raw == raw
    assert info.value.reason == message
    assert "phone number" in message
    assert "79123456789" in message  # an example of what is expected


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone, match="empty"):
        normalize_phone(raw)


def test_long_garbage_is_shortened_in_the_message() -> None:
    raw = "x" * 500

    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw)

    assert len(str(info.value)) < 200
    assert "…" in str(info.value)


_RU_SUBSCRIBER = st.from_regex(r"9[0-9]{9}", fullmatch=True)


@st.composite
def russian_mobile_forms(draw: st.DrawFn) -> tuple[str, str]:
    """(a Russian mobile number written some usual way, the expected 7XXXXXXXXXX)."""
    national = draw(_RU_SUBSCRIBER)
    prefix = draw(st.sampled_from(["+7", "7", "8", "+7 ", "8 ", "7 "]))
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    body = draw(
        st.sampled_from(
            [
                f"{a}{b}{c}{d}",
                f"{a} {b} {c} {d}",
                f"({a}) {b}-{c}-{d}",
                f"{a}-{b}-{c}-{d}",
                f"({a}){b}{c}{d}",
            ]
        )
    )
    return f"{prefix}{body}", "7" + national


def _valid(number: str) -> bool:
    try:
        parsed = phonenumbers.parse(number, "RU")
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


@settings(max_examples=100, deadline=None)
@given(russian_mobile_forms())
def test_russian_forms_normalise_and_are_idempotent(case: tuple[str, str]) -> None:
    raw, expected = case
    # Not every 9XX block is allocated; the normaliser must agree with libphonenumber.
    if not _valid("+" + expected):
        with pytest.raises(InvalidPhone):
            normalize_phone(raw)
        return
    once = normalize_phone(raw)
    assert once == expected
    assert normalize_phone(once) == once


def _example_numbers() -> list[str]:
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                numbers.append(
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                )
    return sorted(set(numbers))


EXAMPLE_NUMBERS = _example_numbers()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(EXAMPLE_NUMBERS))
# Norway's mobile +47 406 12 345 comes out as 4740612345, whose digits alone also
# read as a Russian national number (7 474 061-23-45).
@example("+4740612345")
@example("+84912345678")
def test_international_numbers_are_idempotent(e164: str) -> None:
    once = normalize_phone(e164)
    assert once == e164.lstrip("+")
    # The program re-reads a number it keeps with a "+": never ambiguous.
    assert normalize_phone("+" + once) == once
    # Bare digits are idempotent too, except in a Russian shape (11 digits from 7 or 8,
    # 10 from 9: e.g. Vietnam's 84..., Myanmar's 95...), which is read as Russian first
    # because that is how Russian users type their numbers (8 912 ..., 912 ...).
    russian_shape = (len(once) == 11 and once[0] in "78") or (len(once) == 10 and once[0] == "9")
    if not russian_shape:
        assert normalize_phone(once) == once


_PHONEISH = st.text(alphabet="0123456789+-() .\u00a0\u2013٧９x#*", min_size=0, max_size=25)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=40), _PHONEISH))
def test_arbitrary_text_gives_digits_or_invalid_phone(raw: str) -> None:
    refused: InvalidPhone | None = None
    try:
        result = normalize_phone(raw)
    except InvalidPhone as exc:
        refused = exc
    if refused is not None:
        assert str(refused)
        assert refused.raw == raw
        return
    assert re.fullmatch(r"[0-9]{5,15}", result), result
    assert _valid("+" + result)


# ---------------------------------------------------------------------- message text


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (159, 1), (160, 1), (161, 2), (305, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_parts_boundaries(length: int, parts: int) -> None:
    sms = analyze_text("a" * length)

    assert sms.encoding == "GSM-7"
    assert sms.units == length
    assert sms.chars == length
    assert sms.parts == parts


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (69, 1), (70, 1), (71, 2), (133, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_parts_boundaries(length: int, parts: int) -> None:
    sms = analyze_text("я" * length)

    assert sms.encoding == "UCS-2"
    assert sms.units == length
    assert sms.parts == parts


@pytest.mark.parametrize("char", list(GSM_EXTENSION))
def test_extension_characters_count_twice(char: str) -> None:
    assert analyze_text("a" + char).units == 3
    assert analyze_text("a" + char).encoding == "GSM-7"
    # 159 septets fit one SMS; one more extension character (2 septets) makes two.
    assert analyze_text("a" + char * 79).parts == 1
    assert analyze_text("a" + char * 80).units == 161
    assert analyze_text("a" + char * 80).parts == 2


def test_whole_basic_alphabet_is_gsm7() -> None:
    sms = analyze_text(GSM_BASIC)

    assert sms.encoding == "GSM-7"
    assert sms.units == len(GSM_BASIC)


@pytest.mark.parametrize("char", ["я", "ç", "á", "`", "ё", "中", "\u00a0", "«"])
def test_one_non_gsm_character_switches_the_whole_text_to_ucs2(char: str) -> None:
    assert analyze_text("a" * 69 + char).parts == 1
    sms = analyze_text("a" * 70 + char)
    assert sms.encoding == "UCS-2"
    assert sms.units == 71
    assert sms.parts == 2


def test_emoji_counts_two_utf16_units() -> None:
    assert analyze_text("😀").units == 2
    assert analyze_text("😀" * 35).parts == 1
    # 70 characters, 71 UTF-16 units: two parts.
    mixed = analyze_text("a" * 69 + "😀")
    assert mixed.chars == 70
    assert mixed.units == 71
    assert mixed.parts == 2
    assert analyze_text("😀" * 67).units == 134
    assert analyze_text("😀" * 67).parts == 2
    assert analyze_text("😀" * 67 + "a").parts == 3


@pytest.mark.parametrize("text", ["", " ", "   \n\t  "])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidText, match="empty"):
        analyze_text(text)


def test_nul_is_refused() -> None:
    with pytest.raises(InvalidText, match="NUL"):
        analyze_text("hello\x00world")


def test_overlong_text_is_refused_with_its_length() -> None:
    analyze_text("a" * MAX_TEXT_CHARS)

    with pytest.raises(InvalidText) as info:
        analyze_text("a" * (MAX_TEXT_CHARS + 1))

    assert info.value.length == MAX_TEXT_CHARS + 1
    assert info.value.limit == MAX_TEXT_CHARS
    assert str(MAX_TEXT_CHARS + 1) in str(info.value)


def _expected_units(text: str) -> tuple[str, int]:
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        return "GSM-7", sum(2 if ch in GSM_EXTENSION else 1 for ch in text)
    return "UCS-2", sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=GSM_BASIC + GSM_EXTENSION, min_size=1, max_size=500),
        st.text(min_size=1, max_size=400),
    )
)
def test_analysis_matches_an_independent_count(text: str) -> None:
    try:
        sms = analyze_text(text)
    except InvalidText:
        assert not text.strip() or "\x00" in text
        return
    encoding, units = _expected_units(text)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    assert sms.encoding == encoding
    assert sms.units == units
    assert sms.parts == (1 if units <= single else math.ceil(units / multi))
    assert sms.text == text


# ------------------------------------------------------------------------- senders


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("TestSender", "TestSender"),
        ("Shop-24", "Shop-24"),
        ("A", "A"),
        ("ABCDEFGHIJK", "ABCDEFGHIJK"),
        ("  Padded  ", "Padded"),
        ("79123456789", "79123456789"),
        ("123456789012345", "123456789012345"),
        ("M&S shop", "M&S shop"),
    ],
)
def test_valid_senders(raw: str, expected: str) -> None:
    assert validate_sender(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ABCDEFGHIJKL",  # 12 characters
        "1234567890123456",  # 16 digits
        "Привет",
        "Sender!",
        "____",
        "12-34",
        "Test\nSender",
    ],
)
def test_invalid_senders_are_refused(raw: str) -> None:
    with pytest.raises(InvalidSenderName) as info:
        validate_sender(raw)
    assert isinstance(info.value, InvalidInput)
    assert "sender" in str(info.value).lower()


@pytest.mark.parametrize("raw", ["١٢٣٤٥", "²³", "７９１２３"])
def test_non_ascii_digits_are_not_a_sender_number(raw: str) -> None:
    # GATEWAYS.md: a sender is a number or up to 11 Latin characters.
    with pytest.raises(InvalidSenderName):
        validate_sender(raw)


_SENDER_OK = re.compile(r"[0-9]{1,15}|[A-Za-z0-9 .\-_&]{1,11}")


@settings(max_examples=150, deadline=None)
# Non-ASCII digits are covered by test_non_ascii_digits_are_not_a_sender_number.
@given(
    st.one_of(
        st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=20),
        st.text(alphabet="aZ09 .-_&!Яé\u00a0", max_size=14),
    )
)
def test_sender_is_refused_or_ascii(raw: str) -> None:
    refused: InvalidSenderName | None = None
    try:
        value = validate_sender(raw)
    except InvalidSenderName as exc:
        refused = exc
    if refused is not None:
        assert str(refused)
        return
    assert value == raw.strip()
    assert _SENDER_OK.fullmatch(value), value
    assert value.isdigit() or any(ch.isalpha() for ch in value)


# ------------------------------------------------- number types and countries

#: (number, type key): one example of every refused number type.
REFUSED_TYPES = [
    ("+78091234567", "premium_rate"),
    ("+19002345678", "premium_rate"),
    ("+4918012345", "shared_cost"),
    ("+33884012345", "shared_cost"),
    ("+78001234567", "toll_free"),
    ("+18002345678", "toll_free"),
    ("+445612345678", "voip"),
    ("+78081234567", "personal"),
    ("+447640123456", "pager"),
    ("+445512345678", "uan"),
    ("+49177991234567", "voicemail"),
]


@pytest.mark.parametrize(("raw", "kind"), REFUSED_TYPES)
def test_numbers_other_than_mobile_or_fixed_line_are_refused(raw: str, kind: str) -> None:
    with pytest.raises(RefusedNumberType) as info:
        normalize_phone(raw)

    assert info.value.kind == kind
    assert info.value.number == raw.lstrip("+")
    assert raw in str(info.value)
    assert "refused" in str(info.value)


def test_premium_rate_refusal_says_why() -> None:
    with pytest.raises(RefusedNumberType) as info:
        normalize_phone("+7 809 123-45-67")

    assert str(info.value) == (
        "+78091234567 is a premium-rate number: SMS to it are refused "
        "(they cost extra and are a common fraud)."
    )


_ALL_TYPES = [
    getattr(phonenumbers.PhoneNumberType, name)
    for name in (
        "FIXED_LINE",
        "MOBILE",
        "FIXED_LINE_OR_MOBILE",
        "TOLL_FREE",
        "PREMIUM_RATE",
        "SHARED_COST",
        "VOIP",
        "PERSONAL_NUMBER",
        "PAGER",
        "UAN",
        "VOICEMAIL",
    )
]


def _examples_of_every_type() -> list[str]:
    numbers = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _ALL_TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                numbers.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(numbers)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_examples_of_every_type()))
def test_only_mobile_and_fixed_line_numbers_are_accepted(e164: str) -> None:
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    allowed = kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    try:
        number = normalize_phone(e164)
    except RefusedNumberType:
        assert not allowed
        return
    assert allowed
    assert number == e164.lstrip("+")


def test_allowed_countries_refuse_the_others() -> None:
    allowed = frozenset({"RU", "KZ"})
    assert normalize_phone("+7 912 345-67-89", allowed_regions=allowed) == "79123456789"
    assert normalize_phone("+7 701 234 5678", allowed_regions=allowed) == "77012345678"

    with pytest.raises(RefusedCountry) as info:
        normalize_phone("+49 30 901820", allowed_regions=allowed)

    assert info.value.region == "DE"
    assert str(info.value) == (
        "+4930901820 is in Germany: SMS may be sent only to Kazakhstan, Russia "
        "(the setting ALLOWED_COUNTRIES)."
    )
    # Kazakhstan shares +7 with Russia: told apart by the number itself.
    with pytest.raises(RefusedCountry, match="Kazakhstan"):
        normalize_phone("+77012345678", allowed_regions=frozenset({"RU"}))
    # No restriction: every country.
    assert normalize_phone("+49 30 901820") == "4930901820"


def test_country_names_in_both_languages() -> None:
    assert country_name("DE", "ru") == "Германия"
    assert country_name("RU", "en") == "Russia"
    assert country_name("RU", "ru") == "Россия"


# --------------------------------------------------------------- invalid Unicode


@pytest.mark.parametrize(
    "text", ["ok\udcff", "\ud800", "a\udfffb", "ok" + b"\xff".decode(errors="surrogateescape")]
)
def test_text_with_lone_surrogates_is_refused(text: str) -> None:
    with pytest.raises(InvalidCharacters) as info:
        analyze_text(text)

    assert "not valid Unicode" in str(info.value)
    str(info.value).encode("utf-8")  # the refusal itself can be printed


def test_number_with_invalid_bytes_is_refused_printably() -> None:
    raw = "7912" + b"\xff".decode(errors="surrogateescape")
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw)

    assert "\ufffd" in str(info.value)
    str(info.value).encode("utf-8")
