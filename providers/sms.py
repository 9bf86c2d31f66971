"""What gateways need to check for themselves: message text and sender names.

Everything here runs before any request is made; a bad input raises an
``InvalidInput`` subclass whose text can be shown to a person as it is. Phone
numbers (which numbers SMS may go to) are the services' own policy:
``services.domain``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

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


class InvalidCharacters(InvalidText):
    """The text holds a lone surrogate or other character UTF-8 cannot encode."""


class InvalidSenderName(InvalidInput):
    pass


def preview_text(raw: str, limit: int = 30) -> str:
    flat = " ".join(printable_text(raw).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def printable_text(text: str) -> str:
    """``text`` with every character UTF-8 cannot carry (a lone surrogate, e.g. from
    bytes that were not UTF-8) replaced by "\ufffd": safe to print, log and send back."""
    if _encodable(text):
        return text
    return "".join(ch if _encodable(ch) else "\ufffd" for ch in text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    if not _encodable(text):
        raise InvalidCharacters(
            "The message text holds characters that are not valid Unicode (for example "
            "bytes that are not UTF-8): fix the text's encoding and send it again."
        )
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
                f"The sender “{preview_text(value)}” is too long: a number has at most 15 digits."
            )
        return value
    if not _ALPHA_SENDER.fullmatch(value) or not any(ch.isalpha() for ch in value):
        raise InvalidSenderName(
            f"The sender “{preview_text(value)}” is not valid: use up to 11 Latin letters and "
            "digits (at least one letter), or a phone number."
        )
    return value
