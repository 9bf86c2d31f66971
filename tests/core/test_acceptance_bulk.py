"""Acceptance of issue 10 (address book, many recipients, bulk sends) at the core:
cases found by attacking the product, each a defect fixed."""

from __future__ import annotations

import pytest

from bot.core import Core
from services.contacts import BadName

ADMIN = 111
#: a spreadsheet runs a cell starting with one of these as a formula
FORMULA_NAMES = ["=1+2", "=cmd|'/C calc'!A0", "+Petr", "-Petr", "@Petr"]


@pytest.mark.parametrize("name", FORMULA_NAMES)
async def test_a_name_a_spreadsheet_would_run_is_refused(core: Core, name: str) -> None:
    with pytest.raises(BadName) as caught:
        await core.contacts.add(ADMIN, name, "79123456780")
    assert caught.value.reason == "formula"
    with pytest.raises(BadName) as caught:
        await core.contacts.add(ADMIN, "Petr", "79123456780", [name.replace(" ", "")])
    assert caught.value.reason == "formula"
    plan = await core.contacts.plan_import([(1, name, "79123456780", [])])
    assert [line for line, _ in plan.refused] == [1]
    assert (await core.contacts.page(0, 10)).total == 0
