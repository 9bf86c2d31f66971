"""The domain every entry point shares: which numbers an SMS may go to, and what a
message text is. The bot's handlers and the command line take these from here,
never from the gateway adapters.

Phone validation lives here; the text checks each gateway needs for itself
(``analyze_text``, ``SmsText``, the ``InvalidText`` family) stay in
``providers.sms`` and are offered here too, so that one import gives the whole
``InvalidInput`` family.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import phonenumbers
from phonenumbers import PhoneNumberType

from providers.sms import (
    MAX_TEXT_CHARS,
    Encoding,
    InvalidCharacters,
    InvalidInput,
    InvalidSenderName,
    InvalidText,
    SmsText,
    analyze_text,
    preview_text,
    printable_text,
    validate_sender,
)

__all__ = [
    "ALLOWED_NUMBER_TYPES",
    "DEFAULT_REGION",
    "MAX_TEXT_CHARS",
    "AmbiguousPhone",
    "Encoding",
    "InvalidCharacters",
    "InvalidInput",
    "InvalidPhone",
    "InvalidSenderName",
    "InvalidText",
    "RefusedCountry",
    "RefusedNumberType",
    "SmsText",
    "analyze_text",
    "country_name",
    "is_region_code",
    "normalize_phone",
    "preview_text",
    "printable_text",
    "read_phone",
    "validate_sender",
]

DEFAULT_REGION = "RU"


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
            f"“{preview_text(raw)}” can be read as more than one number: {listed}. Write the "
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


def country_name(
    region: str, lang: str, *, global_name: str = "no country (a global service)"
) -> str:
    """The name of an ISO region in ``lang`` ("en" or "ru"); ``global_name`` for the
    numbers of no country (the bot passes its catalogue's words); the code when none is
    known."""
    if region in _MORE_NAMES.get(lang, {}):
        return _MORE_NAMES[lang][region]
    # Imported here: the table of every country's name in every language costs about a
    # quarter of a second and 90 MB, and only a refused country needs it.
    from phonenumbers.geodata.locale import LOCALE_DATA

    names = LOCALE_DATA.get(region, {})
    name = names.get(lang, "")
    if name.startswith("*"):
        name = names.get(name[1:], "")
    if name:
        return name
    if region == phonenumbers.UNKNOWN_REGION or region == "001":
        return global_name
    return region


def load_country_names() -> None:
    """Load the table of country names now (a quarter of a second, more without
    bytecode), so that the first refused country is answered without that wait: the bot
    calls it in a thread at start when ``ALLOWED_COUNTRIES`` is set."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    assert LOCALE_DATA


def is_region_code(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS


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
            raw, f"“{preview_text(raw)}” is not a phone number: use digits, e.g. 79123456789."
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
        f"“{preview_text(raw)}” is not a valid phone number. Russian numbers may be written "
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
