"""Validation every gateway shares: phone numbers, message text, sender names.

Everything here runs before any request is made; a bad input raises an
``InvalidInput`` subclass whose text can be shown to a person as it is.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.geodata.locale import LOCALE_DATA

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


#: Number types an SMS may go to. Everything else (premium-rate, shared-cost,
#: toll-free, VoIP, personal, pager, UAN, voicemail, unknown) is refused.
ALLOWED_NUMBER_TYPES = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)

#: Refused number types: (key, English name, why). The key names the type in the
#: bot's texts (``number_kind_<key>``).
_REFUSED_TYPES: dict[int, tuple[str, str, str]] = {
    PhoneNumberType.PREMIUM_RATE: (
        "premium_rate",
        "premium-rate",
        "they cost extra and are a common fraud",
    ),
    PhoneNumberType.SHARED_COST: (
        "shared_cost",
        "shared-cost",
        "they cost extra and are a common fraud",
    ),
    PhoneNumberType.TOLL_FREE: ("toll_free", "toll-free", "only mobile and fixed-line numbers"),
    PhoneNumberType.VOIP: ("voip", "VoIP", "only mobile and fixed-line numbers"),
    PhoneNumberType.PERSONAL_NUMBER: (
        "personal",
        "personal (forwarding)",
        "only mobile and fixed-line numbers",
    ),
    PhoneNumberType.PAGER: ("pager", "pager", "only mobile and fixed-line numbers"),
    PhoneNumberType.UAN: ("uan", "universal access (UAN)", "only mobile and fixed-line numbers"),
    PhoneNumberType.VOICEMAIL: ("voicemail", "voicemail", "only mobile and fixed-line numbers"),
}
_UNKNOWN_TYPE = ("unknown", "unknown-type", "only mobile and fixed-line numbers")


class RefusedNumberType(InvalidPhone):
    """A valid number of a type SMS are not sent to (premium-rate and the like)."""

    def __init__(self, raw: str, number: str, kind: str, kind_name: str, why: str) -> None:
        super().__init__(raw, f"+{number} is a {kind_name} number: SMS to it are refused ({why}).")
        self.number = number  # international digits without "+"
        self.kind = kind  # e.g. "premium_rate"
        self.fraud = why.startswith("they cost extra")


class RefusedCountry(InvalidPhone):
    """A valid number in a country outside ``ALLOWED_COUNTRIES``."""

    def __init__(self, raw: str, number: str, region: str, allowed: Collection[str]) -> None:
        self.number = number
        self.region = region  # ISO code, e.g. "DE" ("001": no country)
        self.allowed = tuple(sorted(allowed))
        names = ", ".join(country_name(code, "en") for code in self.allowed)
        super().__init__(
            raw,
            f"+{number} is in {country_name(region, 'en')}: SMS may be sent only to "
            f"{names} (the setting ALLOWED_COUNTRIES).",
        )


class AmbiguousPhone(InvalidPhone):
    """A number written with spaces that reads as more than one valid number."""

    def __init__(self, raw: str, readings: Collection[str]) -> None:
        self.readings = tuple(readings)  # international digits without "+"
        listed = " or ".join(f"+{number}" for number in self.readings)
        super().__init__(
            raw,
            f"“{_preview(raw)}” can be read as more than one number: {listed}. Write the "
            "number without spaces, and if the text starts with digits, put it on the next line.",
        )


#: Names phonenumbers' data lacks: Russian for some 50 regions (it falls back to
#: English there), and any name for three.
_MORE_NAMES: dict[str, dict[str, str]] = {
    "ru": {
        "AC": "остров Вознесения",
        "AG": "Антигуа и Барбуда",
        "AS": "Американское Самоа",
        "AX": "Аландские острова",
        "BL": "Сен-Бартелеми",
        "BQ": "Бонэйр, Синт-Эстатиус и Саба",
        "CC": "Кокосовые острова",
        "CD": "Демократическая Республика Конго",
        "CK": "острова Кука",
        "CW": "Кюрасао",
        "CX": "остров Рождества",
        "FK": "Фолклендские острова",
        "FO": "Фарерские острова",
        "GD": "Гренада",
        "GG": "Гернси",
        "GI": "Гибралтар",
        "GL": "Гренландия",
        "GU": "Гуам",
        "IM": "остров Мэн",
        "IO": "Британская территория в Индийском океане",
        "JE": "Джерси",
        "KN": "Сент-Китс и Невис",
        "KY": "Каймановы острова",
        "LC": "Сент-Люсия",
        "ME": "Черногория",
        "MF": "Сен-Мартен",
        "MH": "Маршалловы острова",
        "MO": "Макао",
        "MP": "Северные Марианские острова",
        "MV": "Мальдивы",
        "MW": "Малави",
        "NF": "остров Норфолк",
        "NR": "Науру",
        "PM": "Сен-Пьер и Микелон",
        "PS": "Палестина",
        "PW": "Палау",
        "RE": "Реюньон",
        "RS": "Сербия",
        "SB": "Соломоновы острова",
        "SH": "остров Святой Елены",
        "SJ": "Шпицберген и Ян-Майен",
        "SM": "Сан-Марино",
        "SS": "Южный Судан",
        "ST": "Сан-Томе и Принсипи",
        "SX": "Синт-Мартен",
        "TA": "Тристан-да-Кунья",
        "TC": "острова Теркс и Кайкос",
        "TL": "Восточный Тимор",
        "TV": "Тувалу",
        "VC": "Сент-Винсент и Гренадины",
        "WF": "Уоллис и Футуна",
        "WS": "Самоа",
        "XK": "Косово",
    },
    "en": {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"},
}


def country_name(region: str, lang: str) -> str:
    """The name of an ISO region in ``lang`` ("en" or "ru"); the code when none is known."""
    if region in _MORE_NAMES.get(lang, {}):
        return _MORE_NAMES[lang][region]
    names = LOCALE_DATA.get(region, {})
    name = names.get(lang, "")
    if name.startswith("*"):
        name = names.get(name[1:], "")
    if name:
        return name
    if region == phonenumbers.UNKNOWN_REGION or region == "001":
        return "no country (a global service)" if lang == "en" else "международная служба"
    return region


def is_region_code(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS


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


_SEPARATORS = re.compile(r"[\s\-().\u00a0\u2010-\u2015]")


def normalize_phone(
    raw: str, region: str = DEFAULT_REGION, *, allowed_regions: Collection[str] = ()
) -> str:
    """Return the number as international digits without "+", e.g. ``79123456789``.

    Russian numbers may be written in any usual way (``+7 912 345-67-89``,
    ``8 (912) 345 67 89``, ``79123456789``); other countries in international form
    (``+44 20 7946 0958`` or the digits alone, ``442079460958``).

    Only mobile and fixed-line numbers are accepted (``RefusedNumberType``
    otherwise), and, when ``allowed_regions`` is not empty, only numbers of those
    ISO regions (``RefusedCountry`` otherwise).
    """
    number = _parse_valid(raw, region)
    digits = _e164_digits(number)
    kind = phonenumbers.number_type(number)
    if kind not in ALLOWED_NUMBER_TYPES:
        key, name, why = _REFUSED_TYPES.get(kind, _UNKNOWN_TYPE)
        raise RefusedNumberType(raw, digits, key, name, why)
    if allowed_regions:
        where = phonenumbers.region_code_for_number(number) or phonenumbers.UNKNOWN_REGION
        if where not in allowed_regions:
            raise RefusedCountry(raw, digits, where, allowed_regions)
    return digits


def read_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """The valid number ``raw`` reads as (international digits without "+"), whatever
    its type or country: for telling apart readings of what was typed. Sending goes
    through ``normalize_phone``, which also applies the policy."""
    return _e164_digits(_parse_valid(raw, region))


def _e164_digits(number: phonenumbers.PhoneNumber) -> str:
    formatted: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return formatted.lstrip("+")


def _parse_valid(raw: str, region: str) -> phonenumbers.PhoneNumber:
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
            return number
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
                f"The sender “{_preview(value)}” is too long: a number has at most 15 digits."
            )
        return value
    if not _ALPHA_SENDER.fullmatch(value) or not any(ch.isalpha() for ch in value):
        raise InvalidSenderName(
            f"The sender “{_preview(value)}” is not valid: use up to 11 Latin letters and "
            "digits (at least one letter), or a phone number."
        )
    return value
