"""The built-in sandbox gateway: simulates everything, sends nothing."""

from __future__ import annotations

import asyncio
import re
import socket
from decimal import Decimal
from typing import NoReturn

import pytest

from providers.base import BalanceSource, DeliveryState, OutgoingSms, SmsProvider
from providers.errors import InsufficientFunds, MessageNotFound
from providers.sandbox import SandboxProvider
from providers.sms import analyze_text

RECIPIENT = "79123456789"


def outgoing(text: str) -> OutgoingSms:
    return OutgoingSms(recipient=RECIPIENT, text=analyze_text(text))


def _no_network(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError("the sandbox opened a socket")


async def test_send_is_simulated_and_touches_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = SandboxProvider()
    monkeypatch.setattr(socket, "socket", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)

    result = await provider.send(outgoing("hello"))

    assert result.simulated is True
    assert result.provider == "sandbox"
    assert "nothing was sent" in result.raw
    assert result.balance == Decimal(999)
    assert re.fullmatch(r"sandbox-[0-9a-f]{1,16}-[0-9a-f]{6}", result.message_id)


def test_is_an_sms_provider_with_balance_and_status() -> None:
    provider = SandboxProvider()

    assert isinstance(provider, SmsProvider)
    assert provider.name == "sandbox"
    assert provider.capabilities.balance is True
    assert provider.capabilities.status is True
    provider.check_text(analyze_text("Любой текст 😀 " * 60))  # no limit of its own


async def test_ids_are_unique() -> None:
    provider = SandboxProvider(balance=500)

    ids = [(await provider.send(outgoing("x"))).message_id for _ in range(300)]

    assert len(set(ids)) == 300


async def test_balance_counts_down_by_parts() -> None:
    provider = SandboxProvider(balance=10)
    start = await provider.balance()
    assert start.amount == Decimal(10)
    assert start.simulated is True
    assert start.source is BalanceSource.LIVE
    assert start.unit == "SMS"

    one = await provider.send(outgoing("a" * 160))  # 1 part
    three = await provider.send(outgoing("a" * 307))  # 3 parts
    two = await provider.send(outgoing("ж" * 71))  # 2 parts

    assert (one.balance, three.balance, two.balance) == (Decimal(9), Decimal(6), Decimal(4))
    assert (await provider.balance()).amount == Decimal(4)


async def test_used_up_balance_refuses_and_keeps_the_balance() -> None:
    provider = SandboxProvider(balance=2)

    with pytest.raises(InsufficientFunds):
        await provider.send(outgoing("a" * 307))  # 3 parts, 2 left

    assert (await provider.balance()).amount == Decimal(2)
    last = await provider.send(outgoing("a" * 161))  # exactly 2 parts
    assert last.balance == Decimal(0)
    with pytest.raises(InsufficientFunds):
        await provider.send(outgoing("a"))


async def test_accepted_then_delivered_after_the_delay() -> None:
    provider = SandboxProvider(delivery_delay=0.2)
    sent = await provider.send(outgoing("hello"))

    first = await provider.status(sent.message_id)
    assert first.state is DeliveryState.ACCEPTED
    assert first.state.final is False
    assert (first.code, first.name) == ("3", "ACCEPTD")
    assert first.simulated is True
    assert first.message_id == sent.message_id

    await asyncio.sleep(0.25)
    later = await provider.status(sent.message_id)
    assert later.state is DeliveryState.DELIVERED
    assert later.state.final is True
    assert (later.code, later.name) == ("4", "DELIVRD")


async def test_status_works_from_another_instance() -> None:
    # Ids carry their send time, so the command line (another process) can ask too.
    sent = await SandboxProvider(delivery_delay=0.0).send(outgoing("hello"))

    status = await SandboxProvider(delivery_delay=0.0).status(sent.message_id)

    assert status.state is DeliveryState.DELIVERED


@pytest.mark.parametrize(
    "message_id",
    ["", "nope", "100001", "ah1acugxz98a27t9z", "sandbox-xyz-123456", "sandbox-18f-12345"],
)
async def test_unknown_id_is_message_not_found(message_id: str) -> None:
    with pytest.raises(MessageNotFound) as info:
        await SandboxProvider().status(message_id)

    assert info.value.provider == "sandbox"
    assert info.value.nothing_sent is True
