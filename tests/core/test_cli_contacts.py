"""``python -m bot contacts``, as a real subprocess over the sandbox: add, del, list,
an import that lists each bad line and writes nothing, ``--dry-run``, and an export
that an import reads back."""

from __future__ import annotations

from pathlib import Path

from bot.core import open_core
from bot.exit_codes import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from bot.settings import Settings
from tests.core.test_cli import base_env, run

__all__ = ["base_env"]  # the fixture, shared with the other command-line tests


async def _contacts(env: dict[str, str]) -> list[tuple[str, str, tuple[str, ...]]]:
    settings = Settings(_env_file=None, database_path=Path(env["DATABASE_PATH"]))
    async with open_core(settings) as core:
        return [(c.name, c.phone, c.groups) for c in await core.contacts.export()]


async def test_add_list_and_del(base_env: dict[str, str]) -> None:
    added = await run("contacts", "add", "Petr Ivanov", "+7 912 345-67-80", "oncall", env=base_env)
    assert added.code == EXIT_OK, added.err
    assert "Petr Ivanov: +79123456780 [oncall]" in added.out
    again = await run(
        "contacts", "add", "petr ivanov", "79123456781", "oncall", "--json", env=base_env
    )
    assert again.json()["created"] is False
    assert again.json()["contact"]["phone"] == "79123456781"
    clash = await run("contacts", "add", "oncall", "79123456782", env=base_env)
    assert clash.code == EXIT_USAGE
    assert "group" in clash.err
    assert "Nothing was changed" in clash.err
    listed = await run("contacts", "list", env=base_env)
    assert "petr ivanov: +79123456781 [oncall]" in listed.out
    missing = await run("contacts", "del", "ghost", "--json", env=base_env)
    assert missing.code == EXIT_NOT_FOUND
    assert missing.json()["error_kind"] == "NoSuchContact"
    removed = await run("contacts", "del", "PETR  IVANOV", env=base_env)
    assert removed.code == EXIT_OK, removed.err
    assert await _contacts(base_env) == []


async def test_an_import_with_bad_lines_lists_them_and_imports_nothing(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    await run("contacts", "add", "Boris", "79123456700", "ops", env=base_env)
    csv_file = tmp_path / "team.csv"
    csv_file.write_text(
        "name,phone,groups\n"
        "Ivan,79123456790,ops;dev\n"  # 2: good
        "Ghost,12,\n"  # 3: not a number
        '"Anna, Petr",79123456791,\n'  # 4: a comma in a name
        "ivan,79123456792,\n"  # 5: Ivan again
        "Olga,79123456793,boris\n"  # 6: a group named like a contact
        "x,79123456794,a,b\n"  # 7: four columns
        "\n"
        "ops,79123456795\n",  # 9: a contact named like a group
        encoding="utf-8",
    )
    result = await run("contacts", "import", str(csv_file), env=base_env)
    assert result.code == EXIT_USAGE
    for line in (3, 4, 5, 6, 7, 9):
        assert f"line {line}: " in result.err
    assert "line 2:" not in result.err
    assert "Nothing was imported" in result.err
    assert await _contacts(base_env) == [("Boris", "79123456700", ("ops",))]
    as_json = await run("contacts", "import", str(csv_file), "--json", env=base_env)
    assert [r["line"] for r in as_json.json()["refused"]] == [3, 4, 5, 6, 7, 9]
    assert as_json.json()["imported"] is False


async def test_dry_run_changes_nothing_and_says_what_it_would_do(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    await run("contacts", "add", "Boris", "79123456700", env=base_env)
    csv_file = tmp_path / "team.csv"
    csv_file.write_text("Ivan,79123456790,ops dev\nboris,79123456701,\n", encoding="utf-8")
    dry = await run("contacts", "import", str(csv_file), "--dry-run", env=base_env)
    assert dry.code == EXIT_OK, dry.err
    assert "add 1 contact(s) and update 1" in dry.out
    assert "Nothing was changed" in dry.out
    assert await _contacts(base_env) == [("Boris", "79123456700", ())]
    done = await run("contacts", "import", str(csv_file), env=base_env)
    assert done.code == EXIT_OK, done.err
    assert await _contacts(base_env) == [
        ("boris", "79123456701", ()),
        ("Ivan", "79123456790", ("dev", "ops")),
    ]


async def test_export_is_read_back_by_import(base_env: dict[str, str], tmp_path: Path) -> None:
    for args in (
        ("Пётр Иванов", "+7 912 345-67-80", "дежурные", "ops"),
        ('Anna "Ann" O\'Neil', "79123456781", "ops"),
        ("Boris", "79123456782"),
    ):
        assert (await run("contacts", "add", *args, env=base_env)).code == EXIT_OK
    exported = await run("contacts", "export", env=base_env)
    assert exported.code == EXIT_OK, exported.err
    assert exported.out.splitlines()[0] == "name,phone,groups"
    other = {**base_env, "DATABASE_PATH": str(tmp_path / "other.sqlite3")}
    imported = await run("contacts", "import", "-", env=other, stdin=exported.out)
    assert imported.code == EXIT_OK, imported.err
    assert "3 contact(s) added, 0 updated" in imported.out
    assert await _contacts(other) == await _contacts(base_env)
    assert (await run("contacts", "export", env=other)).out == exported.out
    same = await run("contacts", "import", "-", env=base_env, stdin=exported.out)
    assert "0 contact(s) added, 0 updated, 3 unchanged." in same.out


async def test_a_file_that_cannot_be_read_is_said_plainly(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    missing = await run("contacts", "import", str(tmp_path / "nope.csv"), env=base_env)
    assert missing.code == EXIT_USAGE
    assert "cannot read" in missing.err
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("Jos\xe9,79123456790\n".encode("latin-1"))
    result = await run("contacts", "import", str(latin1), env=base_env)
    assert result.code == EXIT_USAGE
    assert "not UTF-8" in result.err
    assert "Traceback" not in result.err
