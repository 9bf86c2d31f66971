"""The composition root: ``Core`` exposes services; the repositories stay in ``store``."""

from __future__ import annotations

import dataclasses

from bot.core import Core, Repositories
from services.balance import BalanceService
from services.limits import RateLimiter
from services.previews import PreviewService
from services.sending import SendService
from services.status import StatusService
from services.users import UserAdmin


async def test_core_exposes_services_and_keeps_repositories_in_store(core: Core) -> None:
    assert isinstance(core.sender, SendService)
    assert isinstance(core.balances, BalanceService)
    assert isinstance(core.status, StatusService)
    assert isinstance(core.users, UserAdmin)
    assert isinstance(core.limits, RateLimiter)
    assert isinstance(core.previews, PreviewService)
    assert isinstance(core.store, Repositories)
    # No repository beside the services: each is in ``store`` only.
    stored = {type(getattr(core.store, f.name)) for f in dataclasses.fields(Repositories)}
    surface = {type(getattr(core, f.name)) for f in dataclasses.fields(Core)}
    assert not stored & surface
    # The services share one store: what one writes, the others read.
    await core.store.users.ensure_admin(1)
    assert [u.user_id for u in await core.users.list()] == [1]
