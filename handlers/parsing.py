"""Parsing command arguments typed on a phone keyboard."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from providers.sms import InvalidInput, normalize_phone

_PHONE_TOKEN = re.compile(r"[+\d()\-.]+")
_TOKEN = re.compile(r"[ \t]*(\S+)")
MAX_PHONE_TOKENS = 6


@dataclass(frozen=True, slots=True)
class SendArgs:
    provider: str | None
    phone: str  # as typed; "" when none was given
    text: str  # may be "" (then the bot asks for it)


def parse_send_args(args: str | None, gateways: Collection[str]) -> SendArgs:
    """``[GATEWAY] PHONE TEXT``: the phone may be written with spaces
    (``+7 912 345 67 89``); the text is everything after it, line breaks kept."""
    rest = (args or "").lstrip()
    provider: str | None = None
    first = _TOKEN.match(rest)
    if first and first.group(1).lower() in gateways:
        provider = first.group(1).lower()
        rest = rest[first.end() :].lstrip()
    # Candidate phone: leading phone-looking tokens on the first line.
    ends: list[int] = []
    pos = 0
    first_line_end = rest.find("\n") if "\n" in rest else len(rest)
    while len(ends) < MAX_PHONE_TOKENS:
        match = _TOKEN.match(rest, pos)
        if (
            not match
            or match.start(1) >= first_line_end
            or not _PHONE_TOKEN.fullmatch(match.group(1))
        ):
            break
        pos = match.end()
        ends.append(pos)
    for end in reversed(ends):
        candidate = rest[:end]
        try:
            normalize_phone(candidate)
        except InvalidInput:
            continue
        return SendArgs(provider, candidate.strip(), _strip_text(rest[end:]))
    if ends:  # looks like a number but is not a valid one
        return SendArgs(provider, rest[: ends[-1]].strip(), _strip_text(rest[ends[-1] :]))
    first = _TOKEN.match(rest)
    if not first:
        return SendArgs(provider, "", "")
    return SendArgs(provider, first.group(1), _strip_text(rest[first.end() :]))


def _strip_text(text: str) -> str:
    """Drop the separator after the number, keep the text's own layout."""
    text = text.lstrip(" \t")
    if text.startswith("\n"):
        text = text[1:]
    return text.strip()


def parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not re.fullmatch(r"-?\d{1,15}", value):
        return None
    return int(value)
