"""The configured gateways, by name, with the default and the failover order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from providers.base import SmsProvider
from providers.sms import InvalidInput


class UnknownProvider(InvalidInput):
    def __init__(self, name: str, enabled: Sequence[str]) -> None:
        super().__init__(f"There is no gateway “{name[:30]}” here. Enabled: {', '.join(enabled)}.")
        self.name = name
        self.enabled = list(enabled)


@dataclass(frozen=True)
class Gateways:
    providers: Mapping[str, SmsProvider]
    default: str
    failover: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.default not in self.providers:
            raise ValueError(f"default gateway {self.default} is not among {list(self.providers)}")

    @property
    def names(self) -> list[str]:
        return list(self.providers)

    def get(self, name: str | None) -> SmsProvider:
        key = (name or self.default).strip().lower()
        try:
            return self.providers[key]
        except KeyError:
            raise UnknownProvider(name or "", self.names) from None

    def chain(self, first: str) -> list[str]:
        """The gateways to try for one message: the chosen one, then the failover order."""
        if not self.failover:
            return [first]
        return [first, *(name for name in self.failover if name != first)]
