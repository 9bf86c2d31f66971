"""Acceptance of issue 10 (address book, many recipients, bulk sends) at the core:
cases found by attacking the product, each a defect fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import Core
from bot.exit_codes import EXIT_OK
from services.contacts import BadName
from tests.core.test_cli import base_env, run

__all__ = ["base_env"]  # the fixture, shared with the other command-line tests

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


async def test_a_files_first_line_naming_a_contact_is_a_recipient_not_a_header(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    """``--to-file`` of names one a line: the first was skipped as a header and the
    command said "1 sent", exit 0, the first person never reached."""
    await run("contacts", "add", "Petr", "79123456780", "oncall", env=base_env)
    await run("contacts", "add", "Anna", "79123456781", env=base_env)
    names = tmp_path / "names.txt"
    for text in ("Petr\nAnna\n", "oncall;x\nAnna;y\n"):
        names.write_text(text, encoding="utf-8")
        result = await run("send", "--to-file", str(names), "Disk full", "--json", env=base_env)
        assert result.code == EXIT_OK, result.err
        sent = sorted(r["number"] for r in result.json()["recipients"])
        assert sent == ["79123456780", "79123456781"]
        assert "header" not in result.json()
    names.write_text("phone\n79123456781\n", encoding="utf-8")
    result = await run("send", "--to-file", str(names), "Disk full", "--json", env=base_env)
    assert result.json()["header"]["entry"] == "phone"  # a real header is still skipped
