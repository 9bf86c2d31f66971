"""``python -m bot send`` to many: lists, ``--to-file``, ``--skip-invalid``, repeats,
the ``--json`` object, the exit codes, the progress bar (on a terminal only), a stop
mid-job and ``job resume|cancel``. The command line runs as a real subprocess against
the fake gateways, or in-process (``send_job``) where a fake terminal or a fake
address book is needed."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from pathlib import Path

import pytest

from bot.cli import Output
from bot.cli_bulk import BulkRequest, entries_of_argument, entries_of_lines, send_job
from bot.core import Core
from bot.exit_codes import EXIT_CODES, EXIT_PARTIAL
from services.recipients import BookEntry, name_key
from storage.messages import NewJob
from storage.models import MessageState
from tests.conftest import TEST_SENDER
from tests.core.test_cli import ROOT, CliRun, run
from tests.fakes.gateways import SMSKA_NO_CREDITS, FakeGateways

MakeCore = Callable[..., Awaitable[Core]]
A, B, C = "79123456781", "79123456782", "79123456783"


@pytest.fixture
def gateway_env(tmp_path: Path, fake_gateways: FakeGateways) -> dict[str, str]:
    """Both gateways against the fake (smsrent the default), a database in tmp_path."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_PATH": str(tmp_path / "cli.sqlite3"),
        "SMSRENT_URL": fake_gateways.smsrent_url,
        "SMSRENT_PROJECT_ID": str(fake_gateways.smsrent_project_id),
        "SMSRENT_SECRET_KEY": fake_gateways.smsrent_secret_key,
        "SMSRENT_SENDER": TEST_SENDER,
        "SMSKA_URL": fake_gateways.smska_url,
        "SMSKA_API_KEY": fake_gateways.smska_api_key,
        "SMSKA_API_PASSWORD": fake_gateways.smska_api_password,
        "SMSKA_SENDER": TEST_SENDER,
        "HTTP_CONNECT_TIMEOUT": "2",
        "HTTP_READ_TIMEOUT": "3",
    }


def rows(env: dict[str, str]) -> list[tuple[str, str]]:
    """(recipient, state) of every recorded message, read straight from the database."""
    if not Path(env["DATABASE_PATH"]).exists():
        return []
    with sqlite3.connect(env["DATABASE_PATH"]) as db:
        return list(db.execute("SELECT recipient, state FROM messages ORDER BY id"))


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "numbers.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


async def test_a_list_is_one_job_and_a_repeat_is_sent_once(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    result = await run(
        "send", f"{A}, +7 912 345-67-82; {A}", "Disk", "full", "--json", env=gateway_env
    )
    assert result.code == 0, result.err
    payload = result.json()
    assert payload["ok"] is True
    assert payload["job"]["total"] == 2
    assert [r["number"] for r in payload["recipients"]] == [A, B]
    assert {r["state"] for r in payload["recipients"]} == {"sent"}
    assert all(r["gateway_id"] and r["id"] for r in payload["recipients"])
    assert payload["duplicates"] == [
        {"where": "entry 3", "entry": A, "number": A, "first": A, "first_where": "entry 1"}
    ]
    assert len(fake_gateways.requests) == 2
    assert rows(gateway_env) == [(A, "sent"), (B, "sent")]
    # said in words too, without --json
    again = await run("send", f"{C};{C}", "x", env=gateway_env)
    assert again.code == 0, again.err
    assert "entry 2" in again.err and "sent once" in again.err


async def test_a_file_with_bad_lines_is_refused_whole_with_each_line_named(
    gateway_env: dict[str, str], fake_gateways: FakeGateways, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "phone,name\n"  # a header
        f"{A},Anna\n"
        "# a comment\n"
        "\n"
        f'"+7 912 345-67-82";Boris\n'
        "12345\n"  # too short
        "Nobody\n",  # no address book: not a recipient
    )
    result = await run("send", "--to-file", path, "Disk", "full", env=gateway_env)
    assert result.code == 2, result.err
    assert "line 6" in result.err and "“12345”" in result.err
    assert "line 7" in result.err and "“Nobody”" in result.err
    assert "line 1" in result.err and "header" in result.err
    assert "nothing was sent" in result.err
    assert fake_gateways.requests == []
    assert rows(gateway_env) == []

    as_json = await run("send", "--to-file", path, "Disk full", "--json", env=gateway_env)
    assert as_json.code == 2
    payload = as_json.json()
    assert [r["where"] for r in payload["refused"]] == ["line 6", "line 7"]
    assert payload["error_kind"] == "InvalidRecipients"
    assert rows(gateway_env) == []


async def test_skip_invalid_sends_the_rest_says_what_was_skipped_and_exits_12(
    gateway_env: dict[str, str], fake_gateways: FakeGateways, tmp_path: Path
) -> None:
    path = write(tmp_path, f"{A}\nnot a number 1\n{B}\n{A}\n")
    result = await run(
        "send", "--to-file", path, "--skip-invalid", "Disk full", "--json", env=gateway_env
    )
    assert result.code == EXIT_PARTIAL, result.err
    payload = result.json()
    assert [r["number"] for r in payload["recipients"]] == [A, B]
    assert [r["where"] for r in payload["refused"]] == ["line 2"]
    assert [d["where"] for d in payload["duplicates"]] == ["line 4"]
    assert len(fake_gateways.requests) == 2
    human = await run("send", f"{C}, 1", "--skip-invalid", "x", env=gateway_env)
    assert human.code == EXIT_PARTIAL
    assert "skipped entry 2" in human.err


async def test_to_file_from_standard_input_and_both_from_stdin_refused(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    result = await run("send", "--to-file", "-", "Disk full", env=gateway_env, stdin=f"{A}\n{B}\n")
    assert result.code == 0, result.err
    assert len(fake_gateways.requests) == 2
    both = await run("send", "--to-file", "-", "-", env=gateway_env, stdin=f"{A}\n")
    assert both.code == 2
    assert "standard input" in both.err
    missing = await run("send", "--to-file", "/nonexistent/numbers.txt", "x", env=gateway_env)
    assert missing.code == 2
    assert "cannot read /nonexistent/numbers.txt" in missing.err
    assert len(fake_gateways.requests) == 2


async def test_more_than_max_recipients_is_refused_before_anything_is_recorded(
    gateway_env: dict[str, str], fake_gateways: FakeGateways, tmp_path: Path
) -> None:
    path = write(tmp_path, "".join(f"7912{n:07d}\n" for n in range(4)))
    result = await run("send", "--to-file", path, "x", env={**gateway_env, "MAX_RECIPIENTS": "3"})
    assert result.code == 2
    assert "more than the 3 recipients" in result.err
    assert rows(gateway_env) == []
    assert fake_gateways.requests == []


async def test_exit_codes_of_a_job_mixed_results_12_all_refused_4(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    env = {**gateway_env, "SMSKA_CONCURRENCY": "1"}
    fake_gateways.queue_answer("smska", SMSKA_NO_CREDITS)
    mixed = await run("send", f"{A},{B}", "x", "--gateway", "smska", "--json", env=env)
    assert mixed.code == EXIT_PARTIAL, mixed.err
    states = {r["number"]: (r["state"], r["error"]) for r in mixed.json()["recipients"]}
    assert states[B] == ("sent", None)
    assert states[A][0] == "failed" and "insufficient credits" in states[A][1]
    for _ in range(2):
        fake_gateways.queue_answer("smska", SMSKA_NO_CREDITS)
    refused = await run("send", f"{A},{B}", "x", "--gateway", "smska", env=env)
    assert refused.code == 4, refused.err
    assert "failed" in refused.err
    assert EXIT_PARTIAL in EXIT_CODES
    usage = await run("send", "--help", env=env)
    assert f"{EXIT_PARTIAL:>4}  send to many" in usage.out


async def test_a_single_number_keeps_the_one_message_json(
    gateway_env: dict[str, str],
) -> None:
    result = await run("send", A, "x", "--json", env=gateway_env)
    assert result.code == 0, result.err
    payload = result.json()
    for key in ("id", "state", "provider", "recipient", "gateway_id", "duplicate"):
        assert key in payload
    assert payload["recipient"] == A


async def test_key_applies_to_the_job(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    first = await run("send", f"{A},{B}", "x", "--key", "k1", "--json", env=gateway_env)
    second = await run("send", f"{A},{B}", "x", "--key", "k1", "--json", env=gateway_env)
    assert (first.code, second.code) == (0, 0), second.err
    assert second.json()["job"]["duplicate"] is True
    assert second.json()["job"]["id"] == first.json()["job"]["id"]
    assert len(fake_gateways.requests) == 2


# ------------------------------------------------------------------ in-process


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


class Book:
    def __init__(self, entries: Mapping[str, Sequence[BookEntry]]) -> None:
        self._entries = {name_key(k): v for k, v in entries.items()}

    async def lookup(self, keys: Collection[str]) -> Mapping[str, Sequence[BookEntry]]:
        return {k: self._entries[k] for k in keys if k in self._entries}


async def test_the_progress_bar_is_drawn_on_a_terminal_only_and_wiped(
    make_core: MakeCore,
) -> None:
    core = await make_core(default_provider="smsrent")
    request = BulkRequest(entries_of_argument(f"{A},{B},{C}"), "x", None, None, False)
    tty, out = TtyStream(), io.StringIO()
    assert await send_job(core, core.settings, Output(False, out, tty), request) == 0
    drawn = tty.getvalue()
    assert "\r[" in drawn and "3/3" in drawn
    assert drawn.endswith("\r") and drawn.rsplit("\r", 2)[-2].strip() == ""  # wiped
    assert "job 1: 3 recipient(s)" in out.getvalue()

    plain, out = io.StringIO(), io.StringIO()
    assert await send_job(core, core.settings, Output(True, out, plain), request) == 0
    assert plain.getvalue() == ""
    assert "\r" not in out.getvalue() and "[#" not in out.getvalue()


async def test_names_and_groups_resolve_through_the_address_book(make_core: MakeCore) -> None:
    core = await make_core(default_provider="smsrent")
    core.recipients.book = Book(
        {
            "oncall": [BookEntry("Anna", A), BookEntry("Boris", B)],
            "Petr": [BookEntry("Petr", C)],
        }
    )
    request = BulkRequest(entries_of_argument("oncall, petr, Boris?"), "x", None, None, True)
    out, err = io.StringIO(), io.StringIO()
    code = await send_job(core, core.settings, Output(True, out, err), request)
    assert code == EXIT_PARTIAL  # "Boris?" is unknown and skipped
    import json

    payload = json.loads(out.getvalue())
    assert [(r["number"], r["name"]) for r in payload["recipients"]] == [
        (A, "Anna"),
        (B, "Boris"),
        (C, "Petr"),
    ]
    assert payload["refused"][0]["where"] == "entry 3"
    stored = await core.store.messages.of_job(payload["job"]["id"])
    assert [r.recipient_name for r in stored] == ["Anna", "Boris", "Petr"]


def test_file_lines_first_column_comments_and_header() -> None:
    listed = entries_of_lines(
        ["\ufeffnumber;name", "", "# x", f"{A};Anna", f"  {B}  ", '"+7 (912) 345-67-83",C'], 10
    )
    assert listed.header is not None and listed.header.where == "line 1"
    assert [(e.where, e.text) for e in listed.entries] == [
        ("line 4", A),
        ("line 5", B),
        ("line 6", "+7 (912) 345-67-83"),
    ]


# ------------------------------------------------------------------ a stop mid-job


async def test_sigterm_mid_job_finishes_what_is_out_leaves_the_rest_queued_and_resume_sends_it(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    env = {**gateway_env, "SMSRENT_CONCURRENCY": "2"}
    numbers = [f"7912345670{n}" for n in range(5)]
    fake_gateways.hold = asyncio.Event()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "send",
        ",".join(numbers),
        "stop me",
        "--json",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await fake_gateways.wait_for_requests(2, timeout=20)
    proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    fake_gateways.hold.set()
    out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode is not None
    stopped = CliRun(proc.returncode, out.decode(), err.decode())
    assert stopped.code == EXIT_PARTIAL, stopped.err
    payload = stopped.json()
    assert payload["job"]["interrupted"] is True
    assert payload["counts"] == {"sent": 2, "queued": 3}
    assert "SIGTERM" in stopped.err
    assert len(fake_gateways.requests) == 2
    assert sorted(state for _, state in rows(env)) == ["queued"] * 3 + ["sent"] * 2

    job_id = payload["job"]["id"]
    human = await run("job", "resume", str(job_id), env=env)
    assert human.code == 0, human.err
    assert f"job {job_id}: 5 recipient(s)" in human.out
    assert len(fake_gateways.requests) == 5
    assert sorted(r for r, _ in rows(env)) == numbers
    assert {state for _, state in rows(env)} == {"sent"}
    again = await run("job", "resume", str(job_id), env=env)
    assert again.code == 0
    assert len(fake_gateways.requests) == 5
    assert (await run("job", "cancel", "999", env=env)).code == 9


async def test_a_stopped_jobs_queued_rows_wait_for_resume_or_cancel(make_core: MakeCore) -> None:
    """The next command-line run settles a left-behind queued row as failed, unless its
    job was stopped: then it waits for ``job resume|cancel``; cancel drops it."""
    core = await make_core()
    messages = core.store.messages
    stopped = await messages.create_job(
        NewJob(
            source="cli", recipients=(A, B), text="x", encoding="gsm", parts=1, provider="smsrent"
        )
    )
    left = await messages.create_job(
        NewJob(source="cli", recipients=(C,), text="y", encoding="gsm", parts=1, provider="smsrent")
    )
    await messages.mark_job_stopped(stopped.job.id)
    from datetime import timedelta

    settled = await core.sender.recover_interrupted(bot_starting=False, stale_after=timedelta(0))
    assert [r.recipient for r in settled] == [C]
    assert {r.state for r in await messages.of_job(stopped.job.id)} == {MessageState.QUEUED}
    assert {r.state for r in await messages.of_job(left.job.id)} == {MessageState.FAILED}
    cancelled = await core.sender.cancel(stopped.job.id, None)
    assert [r.recipient for r in cancelled] == [A, B]


async def test_typed_entries_reach_the_terminal_without_control_characters(
    make_core: MakeCore,
) -> None:
    core = await make_core(default_provider="smsrent")
    listed = entries_of_lines(["\x1b[31mname;x", f"{A}\x1b[0m", "bad\x07one"], 10)
    out, err = io.StringIO(), io.StringIO()
    request = BulkRequest(listed, "x", None, None, False)
    assert await send_job(core, core.settings, Output(False, out, err), request) == 2
    shown = out.getvalue() + err.getvalue()
    assert "line 2" in shown and "line 3" in shown
    assert "\x1b" not in shown and "\x07" not in shown
    assert await core.store.messages.recent(user_id=None, limit=5) == []


def test_a_line_the_csv_reader_cannot_take_still_gives_its_first_column() -> None:
    listed = entries_of_lines([f"{A},\x00x", f"{B},{'y' * 200_000}"], 10)
    assert [e.text for e in listed.entries] == [A, B]
