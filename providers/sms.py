"""Validation every gateway shares: phone numbers, message text, sender names.

Everything here runs before any request is made; a bad input raises an
``InvalidInput`` subclass whose text can be shown to a person as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers

DEFAULT_REGION = "RU"
MAX_TEXT_CHARS = 1000  # longer than any multipart SMS a gateway will take

# GSM 03.38 default alphabet and its extension table (extension characters count twice).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]


class InvalidInput(ValueError):
    """A bad input, refused before any request. ``str()`` is a sentence for a person."""


class InvalidPhone(InvalidInput):
    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(reason)
        self.raw = raw
        self.reason = reason


class InvalidText(InvalidInput):
    def __init__(
        self,
        reason: str,
        *,
        length: int = 0,
        limit: int = 0,
        char: str | None = None,
        encoding: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.length = length
        self.limit = limit
        self.char = char  # a character the gateway cannot carry in ``encoding``
        self.encoding = encoding
        self.provider = provider


class InvalidSenderName(InvalidInput):
    pass


_SEPARATORS = re.compile(r"[\s\-().\u00a0\u2010-\u2015]")


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the number as international digits without "+", e.g. ``79123456789``.

    Russian numbers may be written in any usual way (``+7 912 345-67-89``,
    ``8 (912) 345 67 89``, ``79123456789``); other countries in international form
    (``+44 20 7946 0958`` or the digits alone, ``442079460958``).
    """
    text = raw.strip()
    if not text:
        raise InvalidPhone(raw, "The phone number is empty.")
    compact = _SEPARATORS.sub("", text)
    if not re.fullmatch(r"\+?\d{3,17}", compact):
        raise InvalidPhone(
            raw, f"“{_preview(raw)}” is not a phone number: use digits, e.g. 79123456789."
        )
    candidates = [compact] if compact.startswith("+") else _digit_candidates(compact)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            formatted: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return formatted.lstrip("+")
    raise InvalidPhone(
        raw,
        f"“{_preview(raw)}” is not a valid phone number. Russian numbers may be written "
        "as 79123456789, +7 912 345-67-89 or 8 912 345 67 89; other countries with their "
        "country code.",
    )


def _digit_candidates(digits: str) -> list[str]:
    """Digits without "+": a Russian shape (11 digits from 7 or 8, 10 from 9) is read
    as Russian first; anything else as international first. A number kept by this
    program is re-read with a "+" in front, which is never ambiguous."""
    russian_shape = (len(digits) == 11 and digits[0] in "78") or (
        len(digits) == 10 and digits[0] == "9"
    )
    return [digits, "+" + digits] if russian_shape else ["+" + digits, digits]


def _preview(raw: str, limit: int = 30) -> str:
    flat = " ".join(raw.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class SmsText:
    """A message text with what it costs: encoding and number of SMS parts."""

    text: str
    encoding: Encoding
    units: int  # GSM-7 septets or UCS-2 code units
    parts: int

    @property
    def chars(self) -> int:
        return len(self.text)


def analyze_text(text: str) -> SmsText:
    """Check a message text and compute its encoding and number of SMS parts."""
    if not text or not text.strip():
        raise InvalidText("The message text is empty.")
    if "\x00" in text:
        raise InvalidText("The message text contains a NUL character.")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidText(
            f"The message is too long: {len(text)} characters, at most {MAX_TEXT_CHARS}.",
            length=len(text),
            limit=MAX_TEXT_CHARS,
        )
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
        encoding: Encoding = "GSM-7"
    else:
        # UTF-16 code units: characters outside the BMP (most emoji) take two.
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    parts = 1 if units <= single else -(-units // multi)
    return SmsText(text=text, encoding=encoding, units=units, parts=parts)


_ALPHA_SENDER = re.compile(r"[A-Za-z0-9 .\-_&]{1,11}")


def validate_sender(sender: str) -> str:
    """A sender is a phone number (digits, up to 15) or up to 11 Latin characters."""
    value = sender.strip()
    if value.isascii() and value.isdigit():
        if len(value) > 15:
            raise InvalidSenderName(
                f"The sender “{_preview(value)}” is too long: a number has at most 15 digits."
            )
        return value
    if not _ALPHA_SENDER.fullmatch(value) or not any(ch.isalpha() for ch in value):
        raise InvalidSenderName(
            f"The sender “{_preview(value)}” is not valid: use up to 11 Latin letters and "
            "digits (at least one letter), or a phone number."
        )
    return value
