"""Acceptance: a refusal for a country outside ALLOWED_COUNTRIES names the country in
Russian for a Russian reader, whatever the country (phonenumbers' own names lack
Russian for some 50 regions: Serbia, Montenegro, the Maldives, Guernsey, ...)."""

from __future__ import annotations

import re

import phonenumbers
import pytest

from services.domain import country_name


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_country_has_a_russian_name(region: str) -> None:
    name = country_name(region, "ru")
    assert name and not re.search(r"[A-Za-z\u00c0-\u024f]", name), (region, name)
    assert country_name(region, "en") != region or region in {"AC", "TA", "XK"}
