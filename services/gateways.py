"""The configured gateways, by name, with the default and the failover order."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from providers.base import SmsProvider
from providers.sms import InvalidInput, printable_text


class UnknownProvider(InvalidInput):
    """No such gateway here. ``known``: the program has this gateway, but it is not
    configured (no credentials) in this installation."""

    def __init__(self, name: str, enabled: Sequence[str], *, known: bool = False) -> None:
        shown = printable_text(name.strip().lower() if known else name)[:30]
        if known:
            text = f"The gateway {shown} is not configured here. Enabled: {', '.join(enabled)}."
        else:
            text = f"There is no gateway “{shown}” here. Enabled: {', '.join(enabled)}."
        super().__init__(text)
        self.name = shown
        self.enabled = tuple(enabled)
        self.known = known  # a gateway of this program, not configured here


@dataclass(frozen=True)
class Gateways:
    providers: Mapping[str, SmsProvider]
    default: str
    failover: Sequence[str] = field(default_factory=tuple)
    #: Every gateway this program has (configured or not), for a clearer refusal.
    known: Collection[str] = field(default_factory=tuple)

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
            raise UnknownProvider(name or "", self.names, known=key in self.known) from None

    def chain(self, first: str) -> list[str]:
        """The gateways to try for one message: the chosen one, then the failover order."""
        if not self.failover:
            return [first]
        return [first, *(name for name in self.failover if name != first)]
