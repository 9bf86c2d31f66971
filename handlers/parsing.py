"""Parsing command arguments typed on a phone keyboard."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from services.domain import InvalidInput, read_phone

_PHONE_TOKEN = re.compile(r"[+\d()\-.]+")
_TOKEN = re.compile(r"[ \t]*(\S+)")
#: A word meant as a gateway's name when a number follows it (``/send nosuch 7912...``).
_WORD = re.compile(r"[^\W\d_][\w\-]*")
MAX_PHONE_TOKENS = 32  # "+7 - - - ..." holds no digits: a bound on the scan's work
#: No number has more digits (``providers.sms`` refuses more): the scan of number-like
#: tokens stops past it, however the digits are grouped (``+7 9 1 2 3 4 5 6 7 8 9``).
MAX_PHONE_DIGITS = 17
#: Many recipients: entries are separated by commas or semicolons.
_SEPARATOR = re.compile(r"[,;]")
#: A contact's or group's name in a one-line list: one word (``oncall``, ``Petr``).
_NAME_WORD = r"[^\W\d_][\w.'\-]*"
#: A number in a list, perhaps written with spaces (``+7 912 345-67-80``); it ends
#: with a digit, so that a lone number followed by `` ;-)`` keeps that in its text.
_NUMBER_ENTRY = r"[+\d(](?:[\d()\-. \t\u00a0]*[\d)])?"
#: ``oncall,Petr, +7 912 345 67 80, `` before the last entry of a one-line list.
#: A blank between a number and the separator counts only before another number: a
#: lone number's text may start with one (``79123456789 ;-)``, ``… , Petr says hi``).
_LIST_HEAD = re.compile(
    rf"(?:[ \t]*(?:{_NAME_WORD}[ \t]*|{_NUMBER_ENTRY}(?:[ \t]+(?=[,;][ \t]*[+\d(]))?)?[,;])+"
)
_NUMBER_ENTRY_RE = re.compile(_NUMBER_ENTRY)
#: A name on a line of its own may have spaces (``Petr Ivanov``), never digits first.
_NAME_LINE = re.compile(r"[^\W\d_][\w.'\- \t\u00a0]*")


@dataclass(frozen=True, slots=True)
class SendArgs:
    provider: str | None  # lower case if enabled; as typed if not (refused later)
    phone: str  # as typed; "" when none was given
    text: str  # may be "" (then the bot asks for it)
    #: When the number, written with spaces, reads as more than one valid number:
    #: each reading (international digits). Then nothing may be sent: ask again.
    readings: tuple[str, ...] = ()
    #: Several recipients, or names: each entry as typed (a number, a contact, a
    #: group), resolved by ``core.recipients``. Empty: ``phone`` is the one recipient.
    entries: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return len(self.readings) > 1


def parse_send_args(args: str | None, gateways: Collection[str]) -> SendArgs:
    """``[GATEWAY] PHONE TEXT``: the phone may be written with spaces
    (``+7 912 345 67 89``); the text is everything after it, line breaks kept.

    A number with spaces is read only as far as that is unambiguous: when prefixes
    of the leading number-like tokens make different valid numbers
    (``+49 30 1234567 8 servers down``), ``readings`` lists them and nothing is
    guessed. A word followed by a number is a gateway's name, known or not.

    Several recipients (``entries``): a list separated by commas or semicolons
    (``oncall,Petr,+7 912 345 67 80 Disk full``: names of one word, the last entry
    read like a lone number), or a first line holding only recipients with the text
    on the lines below (there names may have spaces: ``Petr Ivanov, oncall``). A
    word alone where the number goes (``Petr Disk full``) stays in ``phone``: the
    caller reads it as a name (``looks_like_number``)."""
    rest = (args or "").lstrip()
    provider: str | None = None
    first = _TOKEN.match(rest)
    if first and (
        first.group(1).lower() in gateways
        or (_WORD.fullmatch(first.group(1)) and _number_follows(rest, first.end()))
    ):
        word = first.group(1)
        provider = word.lower() if word.lower() in gateways else word
        rest = rest[first.end() :].lstrip()
    listed = _parse_list(rest, provider)
    if listed is not None:
        return listed
    return _parse_recipient(rest, provider)


def _parse_list(rest: str, provider: str | None) -> SendArgs | None:
    """The forms with several recipients (or a name with spaces on its own line),
    or None when ``rest`` holds one recipient the old way."""
    line, newline, below = rest.partition("\n")
    line = line.strip()
    if newline and line and not _PHONE_TOKEN.fullmatch(line.replace(" ", "")):
        # The first line holds only recipients: each entry a number or a name.
        entries = [e.strip() for e in _SEPARATOR.split(line)]
        if all(_NUMBER_ENTRY_RE.fullmatch(e) or _NAME_LINE.fullmatch(e) for e in entries) and (
            _SEPARATOR.search(line) or not any(ch.isdigit() for ch in line)
        ):
            return SendArgs(provider, line, below.strip(), entries=tuple(entries))
    head = _LIST_HEAD.match(rest)
    if head is None:
        return None
    entries = [e.strip() for e in _SEPARATOR.split(head.group(0)) if e.strip()]
    tail = rest[head.end() :].lstrip(" \t")
    if not tail or tail.startswith("\n"):  # ``a, b,`` then the text (or none) below
        return SendArgs(provider, head.group(0).strip(), _strip_text(tail), entries=tuple(entries))
    last = _parse_recipient(tail, provider)
    listed = head.group(0) + last.phone
    if last.ambiguous:
        return SendArgs(provider, last.phone, last.text, readings=last.readings)
    return SendArgs(provider, listed.strip(), last.text, entries=(*entries, last.phone))


def _parse_recipient(rest: str, provider: str | None) -> SendArgs:
    """One recipient first in ``rest`` (a number perhaps with spaces, else one
    word), the text after it."""
    # Candidate phone: leading phone-looking tokens on the first line.
    ends: list[int] = []
    pos = 0
    first_line_end = rest.find("\n") if "\n" in rest else len(rest)
    digits = 0
    while digits <= MAX_PHONE_DIGITS and len(ends) < MAX_PHONE_TOKENS:
        match = _TOKEN.match(rest, pos)
        if (
            not match
            or match.start(1) >= first_line_end
            or not _PHONE_TOKEN.fullmatch(match.group(1))
        ):
            break
        digits += sum(ch.isdigit() for ch in match.group(1))
        pos = match.end()
        ends.append(pos)
    readings: dict[str, int] = {}  # each valid number -> the longest prefix giving it
    for end in ends:
        try:
            readings[read_phone(rest[:end])] = end
        except InvalidInput:
            continue
    if len(readings) > 1 and ends[-1] in readings.values() and _line_ends_at(rest, ends[-1]):
        # The number alone on its line, the text below (as the refusal advises): the
        # whole line is the number, one reading only.
        readings = {number: end for number, end in readings.items() if end == ends[-1]}
    if len(readings) > 1:
        return SendArgs(
            provider,
            rest[: ends[-1]].strip(),
            _strip_text(rest[ends[-1] :]),
            readings=tuple(readings),
        )
    if readings:
        (end,) = readings.values()
        return SendArgs(provider, rest[:end].strip(), _strip_text(rest[end:]))
    if ends:  # looks like a number but is not a valid one
        return SendArgs(provider, rest[: ends[-1]].strip(), _strip_text(rest[ends[-1] :]))
    first = _TOKEN.match(rest)
    if not first:
        return SendArgs(provider, "", "")
    return SendArgs(provider, first.group(1), _strip_text(rest[first.end() :]))


def _line_ends_at(text: str, pos: int) -> bool:
    """Only blanks between ``pos`` and a line break: the text starts on the next line."""
    rest = text[pos:].lstrip(" \t")
    return rest.startswith("\n")


def _number_follows(text: str, pos: int) -> bool:
    match = _TOKEN.match(text, pos)
    return bool(
        match
        and _PHONE_TOKEN.fullmatch(match.group(1))
        and any(ch.isdigit() for ch in match.group(1))
    )


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
