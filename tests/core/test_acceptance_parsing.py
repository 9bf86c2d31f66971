"""Acceptance: a number written with spaces is never guessed, however it is grouped."""

from __future__ import annotations

import re

import pytest

from handlers.parsing import parse_send_args
from services.domain import InvalidInput, read_phone

GATEWAYS = {"sandbox", "smsrent", "smska"}


def other_readings(args: str) -> set[str]:
    """Every valid number a prefix of the leading number-like tokens reads as."""
    tokens = args.split("\n", 1)[0].split()
    found: set[str] = set()
    for n in range(1, len(tokens) + 1):
        if not re.fullmatch(r"[+\d()\-.]+", tokens[n - 1]):
            break
        try:
            found.add(read_phone(" ".join(tokens[:n])))
        except InvalidInput:
            continue
    return found


@pytest.mark.parametrize(
    "args",
    [
        "+49 3 0 1 2 3456 7 servers down",  # the second reading is past the 6th token
        "+49 3 0 1 2 34567 8 servers down",
        "+39 0 6 1 2 345678 9 servers down",
        "+7 9 1 2 3 4 5 6 7 8 9 hi",
    ],
)
def test_a_number_in_many_groups_is_read_whole_or_asked(args: str) -> None:
    parsed = parse_send_args(args, GATEWAYS)
    readings = other_readings(args)
    if len(readings) > 1:
        assert parsed.ambiguous, parsed
        assert set(parsed.readings) == readings
    else:
        assert not parsed.ambiguous
        assert readings == {read_phone(parsed.phone)}, parsed


def test_digits_spread_over_single_tokens_are_one_number() -> None:
    parsed = parse_send_args("+7 9 1 2 3 4 5 6 7 8 9 hi", GATEWAYS)
    assert read_phone(parsed.phone) == "79123456789"
    assert parsed.text == "hi"


@pytest.mark.parametrize(
    ("args", "number", "text"),
    [
        ("+49 30 1234567 8\nservers down", "493012345678", "servers down"),
        ("+39 06 1234 5678\n9 servers down", "390612345678", "9 servers down"),
        ("smska +49 30 1234567 8\n5 down", "493012345678", "5 down"),
    ],
)
def test_a_number_alone_on_its_line_is_read_whole(args: str, number: str, text: str) -> None:
    """The refusal's own advice (put the text on the next line) must work: a number on a
    line of its own, with the text below, reads one way only."""
    parsed = parse_send_args(args, GATEWAYS)
    assert not parsed.ambiguous, parsed
    assert read_phone(parsed.phone) == number
    assert parsed.text == text


def test_a_number_with_digits_after_it_on_the_same_line_is_still_asked() -> None:
    assert parse_send_args("+49 30 1234567 8 down\nmore", GATEWAYS).ambiguous
