"""Balances of every enabled gateway, asked concurrently; one failing hides no other."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from providers.base import Balance, BalanceSource, SmsProvider
from providers.errors import ProviderError
from services.gateways import Gateways
from storage.balances import BalanceRepository


@dataclass(frozen=True, slots=True)
class BalanceLine:
    provider: str
    balance: Balance | None  # None: not known (see error, or no send yet)
    error: ProviderError | None = None
    #: for gateways without a balance request: id of the send that reported it
    from_message: int | None = None


class BalanceService:
    def __init__(self, gateways: Gateways, balances: BalanceRepository) -> None:
        self.gateways = gateways
        self._balances = balances

    async def all(self, only: str | None = None) -> list[BalanceLine]:
        names = [self.gateways.get(only).name] if only else self.gateways.names
        return list(await asyncio.gather(*(self._one(self.gateways.get(n)) for n in names)))

    async def _one(self, gateway: SmsProvider) -> BalanceLine:
        if not gateway.capabilities.balance:
            stored = await self._balances.get(gateway.name)
            if stored is None:
                return BalanceLine(gateway.name, None)
            balance = Balance(
                gateway.name, stored.amount, stored.unit, stored.at, BalanceSource.LAST_SEND
            )
            return BalanceLine(gateway.name, balance, from_message=stored.message_id)
        try:
            balance = await gateway.balance()
        except ProviderError as exc:
            return BalanceLine(gateway.name, None, error=exc)
        await self._balances.save(gateway.name, balance.amount, balance.unit, balance.at, None)
        return BalanceLine(gateway.name, balance)

    async def last_known(self, provider: str) -> Balance | None:
        """The last balance stored for a gateway, without asking it (for previews)."""
        stored = await self._balances.get(provider)
        if stored is None:
            return None
        return Balance(provider, stored.amount, stored.unit, stored.at, BalanceSource.LAST_SEND)
