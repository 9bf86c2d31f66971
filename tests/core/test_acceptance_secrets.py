"""Acceptance: a gateway's answer never shows any part of a configured secret, whatever
the secrets look like (one inside another) and however the answer escapes them."""

from __future__ import annotations

import html
import json

import pytest

from providers.http import scrub

SHORT = "pw-1234"
LONG = "pw-1234-and-more/пароль&<x>"


def php_json(text: str) -> str:
    """As PHP's json_encode writes a string by default: "/" as "\\/", non-ASCII as \\uXXXX."""
    return json.dumps(text, ensure_ascii=True).replace("/", "\\/")


@pytest.mark.parametrize("order", [[SHORT, LONG], [LONG, SHORT]])
@pytest.mark.parametrize(
    "answer",
    [
        f"error: key {LONG} refused",
        f"<error key='{html.escape(LONG)}'/>",
        json.dumps({"error": f"bad key {LONG}"}),
        '{"error": ' + php_json(f"bad key {LONG}") + "}",
    ],
)
def test_no_part_of_a_secret_survives(order: list[str], answer: str) -> None:
    scrubbed = scrub(answer, order)
    assert "and-more" not in scrubbed, scrubbed
    assert "1234" not in scrubbed, scrubbed
