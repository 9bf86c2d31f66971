"""The /send argument parser and the text catalogue, driven by arbitrary input."""

from __future__ import annotations

import html
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.parsing import parse_int, parse_send_args
from handlers.texts import TEXTS, Html, t
from providers.sms import InvalidInput, normalize_phone

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
