"""The HTTP server warns when HTTP_HOST is not a loopback address (health and metrics
answer without a token)."""

from __future__ import annotations

import pytest

from bot.web import _loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104 - the value under test, never bound here
        ("::", False),
        ("192.168.1.10", False),
        ("bot.example.com", False),
    ],
)
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert _loopback(host) is loopback
