"""The command line as a real subprocess (``python -m bot ...``) against the fake
gateways, which keep serving in the test's event loop meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.core import open_core
from bot.exit_codes import EXIT_CODES
from services.sending import Origin
from storage.audit import AuditLog
from storage.db import Database
from storage.models import MessageState
from storage.strangers import StrangerRepository
from storage.users import UserRepository
from tests.conftest import TEST_SENDER
from tests.core.conftest import RECIPIENT, gateway_settings
from tests.fakes.gateways import SMSKA_NO_CREDITS, Behaviour, FakeGateways

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 30.0


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.out)
        return payload


async def run(
    *args: str,
    env: dict[str, str],
    stdin: str | bytes | None = None,
    python_flags: tuple[str, ...] = (),
) -> CliRun:
    """``python [flags] -m bot args...`` in the project directory, without blocking the loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *python_flags,
        *(("-m", "bot") if not python_flags or python_flags[-1] != "-c" else ()),
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode("utf-8") if isinstance(stdin, str) else stdin or b""),
            CLI_TIMEOUT,
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return CliRun(process.returncode, out.decode("utf-8"), err.decode("utf-8"))


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: the sandbox only, a database in tmp_path."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_PATH": str(tmp_path / "cli.sqlite3"),
        "SANDBOX_DELIVERY_SECONDS": "0",
    }


@pytest.fixture
def gateway_env(base_env: dict[str, str], fake_gateways: FakeGateways) -> dict[str, str]:
    """Both gateways configured against the fake; smsrent is the default."""
    return {
        **base_env,
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


def _no_secret(result: CliRun, fake: FakeGateways) -> None:
    for secret in (fake.smsrent_secret_key, fake.smska_api_password):
        assert secret not in result.out
        assert secret not in result.err


async def _send_in_process(
    fake: FakeGateways, env: dict[str, str], provider: str
) -> tuple[int, str]:
    """Put a sent message into the CLI's database (as the bot would)."""
    settings = gateway_settings(fake, Path(env["DATABASE_PATH"]))
    async with open_core(settings) as core:
        prepared = core.sender.prepare(RECIPIENT, "Disk full", provider)
        outcome = await core.sender.send(prepared, Origin(source="telegram", user_id=1))
    assert outcome.state is MessageState.SENT
    assert outcome.record.gateway_id is not None
    return outcome.record.id, outcome.record.gateway_id


# --------------------------------------------------------------------- send


async def test_send_via_sandbox(base_env: dict[str, str]) -> None:
    result = await run("send", "+7 912 345-67-89", "Server", "is", "down", env=base_env)
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("#1 ")
    assert "sandbox" in lines[0]
    assert "nothing was really sent" in lines[0]


async def test_send_via_smska_json(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    result = await run(
        "send", RECIPIENT, "Server is down", "--provider", "smska", "--json", env=gateway_env
    )
    assert result.code == 0, result.err
    payload = result.json()
    assert payload["ok"] is True
    assert payload["exit_code"] == 0
    assert payload["id"] == 1
    assert payload["provider"] == "smska"
    assert payload["state"] == "sent"
    assert payload["duplicate"] is False
    assert payload["failed_attempts"] == []
    assert payload["gateway_id"] in fake_gateways.sent
    assert Decimal(str(payload["balance"])) == Decimal(7463)
    sms = fake_gateways.sent[payload["gateway_id"]]
    assert (sms.to, sms.text, sms.sender) == (RECIPIENT, "Server is down", TEST_SENDER)
    _no_secret(result, fake_gateways)


async def test_send_text_from_stdin_arrives_intact(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    text = "Tom & Jerry + 100% a=b\nПривет 🎉"
    result = await run(
        "send", RECIPIENT, "-", "--provider", "smsrent", env=gateway_env, stdin=text + "\n"
    )
    assert result.code == 0, result.err
    assert "sent via smsrent" in result.out
    (sms,) = fake_gateways.sent.values()
    assert sms.gateway == "smsrent"
    assert sms.text == text
    (request,) = fake_gateways.requests
    assert request.form["msg"] == text
    assert request.form["in_enc"] == "UTF-8"


async def test_invalid_phone_exits_2_and_sends_nothing(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    result = await run("send", "12345", "hello", env=gateway_env)
    assert result.code == 2
    assert result.out == ""
    assert "12345" in result.err
    assert "Nothing was sent" in result.err
    assert fake_gateways.requests == []
    # not even an intent was recorded
    settings = gateway_settings(fake_gateways, Path(gateway_env["DATABASE_PATH"]))
    async with open_core(settings) as core:
        assert await core.store.messages.recent(user_id=None, limit=5) == []


#: Bytes that are not UTF-8, as Python hands them over in argv (surrogate escapes):
#: passed to the subprocess, they become the raw bytes again.
NOT_UTF8 = b"ok\xff".decode("utf-8", errors="surrogateescape")


async def _refused_without_trace(
    result: CliRun, fake: FakeGateways, env: dict[str, str], *needles: str
) -> None:
    assert result.code == 2, result.err
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1  # one line
    assert "Nothing was sent" in result.err
    for needle in needles:
        assert needle in result.err
    assert fake.requests == []
    settings = gateway_settings(fake, Path(env["DATABASE_PATH"]))
    async with open_core(settings) as core:
        assert await core.store.messages.recent(user_id=None, limit=5) == []


async def test_text_not_utf8_in_argv_or_stdin_is_refused(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    from_argv = await run("send", RECIPIENT, "disk", NOT_UTF8, env=gateway_env)
    await _refused_without_trace(from_argv, fake_gateways, gateway_env, "not valid Unicode")

    from_stdin = await run("send", RECIPIENT, "-", env=gateway_env, stdin=b"ok\xff\n")
    await _refused_without_trace(from_stdin, fake_gateways, gateway_env, "not valid Unicode")

    bad_key = await run("send", RECIPIENT, "hi", "--key", NOT_UTF8, env=gateway_env)
    await _refused_without_trace(bad_key, fake_gateways, gateway_env, "--key")

    as_json = await run("send", RECIPIENT, "-", "--json", env=gateway_env, stdin=b"\xc3(")
    assert as_json.code == 2, as_json.err
    assert as_json.json()["error_kind"] == "InvalidCharacters"
    assert fake_gateways.requests == []


async def test_phone_not_utf8_is_refused(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    result = await run("send", "7912" + NOT_UTF8, "hello", env=gateway_env)
    await _refused_without_trace(result, fake_gateways, gateway_env, "is not a phone number")

    as_json = await run("send", "7912" + NOT_UTF8, "hello", "--json", env=gateway_env)
    assert as_json.code == 2, as_json.err
    assert as_json.json()["error_kind"] == "InvalidPhone"


async def test_premium_rate_and_other_countries_are_refused(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    premium = await run("send", "+7 809 123-45-67", "hello", env=gateway_env)
    await _refused_without_trace(
        premium, fake_gateways, gateway_env, "+78091234567 is a premium-rate number"
    )

    env = {**gateway_env, "ALLOWED_COUNTRIES": "RU,KZ"}
    abroad = await run("send", "+49 30 901820", "hello", env=env)
    await _refused_without_trace(
        abroad,
        fake_gateways,
        env,
        "+4930901820 is in Germany: SMS may be sent only to Kazakhstan, Russia",
        "ALLOWED_COUNTRIES",
    )

    bad_setting = await run("send", RECIPIENT, "hello", env={**env, "ALLOWED_COUNTRIES": "RU,QQ"})
    assert bad_setting.code == 3
    assert "ALLOWED_COUNTRIES" in bad_setting.err


async def test_gateway_not_configured_here(base_env: dict[str, str]) -> None:
    result = await run("send", RECIPIENT, "hello", "--provider", "SMSKA", env=base_env)
    assert result.code == 2
    assert result.err == (
        "error: The gateway smska is not configured here. Enabled: sandbox. Nothing was sent.\n"
    )
    unknown = await run("balance", "--provider", "nosuch", env=base_env)
    assert unknown.code == 2
    assert unknown.err == "error: There is no gateway “nosuch” here. Enabled: sandbox.\n"


async def test_config_error_exits_3(base_env: dict[str, str]) -> None:
    secret = "very-secret-password-1"
    env = {**base_env, "SMSKA_API_KEY": "login", "SMSKA_API_PASSWORD": secret}
    result = await run("send", RECIPIENT, "hello", env=env)
    assert result.code == 3
    assert "SMSKA_SENDER" in result.err
    assert secret not in result.out + result.err


async def test_refusal_exits_4(gateway_env: dict[str, str], fake_gateways: FakeGateways) -> None:
    fake_gateways.queue_answer("smska", SMSKA_NO_CREDITS)
    result = await run("send", RECIPIENT, "hello", "--provider", "smska", env=gateway_env)
    assert result.code == 4
    assert "insufficient credits" in result.err.lower()
    assert "Nothing was sent" in result.err
    assert fake_gateways.sent == {}
    _no_secret(result, fake_gateways)


async def test_refused_connection_exits_5(
    gateway_env: dict[str, str], fake_gateways: FakeGateways, refused_port: int
) -> None:
    env = {**gateway_env, "SMSKA_URL": f"http://127.0.0.1:{refused_port}/api/httppost.php"}
    result = await run("send", RECIPIENT, "hello", "--provider", "smska", "--json", env=env)
    assert result.code == 5
    payload = result.json()
    assert payload["ok"] is False
    assert payload["exit_code"] == 5
    assert payload["state"] == "failed"
    assert payload["error_kind"] == "NotSent"
    assert "Nothing was sent" in payload["error"]


async def test_slow_gateway_exits_6_outcome_unknown(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    fake_gateways.queue_behaviour("smska", Behaviour.SLOW)
    env = {**gateway_env, "HTTP_READ_TIMEOUT": "0.5"}
    result = await run("send", RECIPIENT, "hello", "--provider", "smska", env=env)
    assert result.code == 6
    assert "may or may not" in result.err
    assert "dashboard" in result.err  # status cannot settle it: no gateway id is known
    assert len(fake_gateways.requests) == 1


# ------------------------------------------------------------------ balance


async def test_balance_lists_both_gateways(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    result = await run("balance", env=gateway_env)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 2
    rent = next(line for line in lines if line.startswith("smsrent:"))
    ska = next(line for line in lines if line.startswith("smska:"))
    assert "not known yet" in rent
    assert "7464" in ska
    _no_secret(result, fake_gateways)


# ------------------------------------------------------------------- status


async def test_status_of_smska_message(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    fake_gateways.delivery_after = 3.0
    started = time.monotonic()
    message_id, gateway_id = await _send_in_process(fake_gateways, gateway_env, "smska")

    early = await run("status", f"#{message_id}", env=gateway_env)
    assert time.monotonic() - started < fake_gateways.delivery_after, (
        "machine too slow for this test"
    )
    assert early.code == 0, early.err
    assert f"#{message_id}" in early.out
    assert "sent" in early.out
    assert "ACCEPTD" in early.out

    await asyncio.sleep(max(0.0, fake_gateways.delivery_after - (time.monotonic() - started)) + 0.1)
    late = await run("status", gateway_id, "--json", env=gateway_env)
    assert late.code == 0, late.err
    payload = late.json()
    assert payload["id"] == message_id
    assert payload["gateway_id"] == gateway_id
    assert payload["state"] == "delivered"
    assert payload["delivery"] == "delivered"
    assert payload["name"] == "DELIVRD"
    # the check was stored
    settings = gateway_settings(fake_gateways, Path(gateway_env["DATABASE_PATH"]))
    async with open_core(settings) as core:
        record = await core.store.messages.get(message_id)
    assert record is not None
    assert record.state is MessageState.DELIVERED


async def test_status_of_smsrent_message(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    message_id, gateway_id = await _send_in_process(fake_gateways, gateway_env, "smsrent")
    result = await run("status", gateway_id, env=gateway_env)
    assert result.code == 0, result.err
    assert f"#{message_id}" in result.out
    assert "offers no delivery status" in result.out
    assert len(fake_gateways.requests) == 1  # the send only


async def test_status_of_a_message_whose_gateway_is_no_longer_configured(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    """smska sent it; now only smsrent is configured: the answer says smska is not
    configured here (not "offers no delivery status"), shows the last known state and
    exits with its own code."""
    message_id, _ = await _send_in_process(fake_gateways, gateway_env, "smska")
    env = {k: v for k, v in gateway_env.items() if not k.startswith("SMSKA_")}
    result = await run("status", f"#{message_id}", env=env)
    assert result.code == 10, (result.out, result.err)
    assert "offers no delivery status" not in result.err
    assert "smska is not configured here" in result.err
    assert "last known state" in result.err
    assert f"#{message_id}" in result.err and ": sent" in result.err

    as_json = await run("status", f"#{message_id}", "--json", env=env)
    assert as_json.code == 10
    payload = as_json.json()
    assert payload["exit_code"] == 10
    assert payload["ok"] is False
    assert payload["state"] == "sent"
    assert payload["provider"] == "smska"
    assert payload["error_kind"] == "GatewayNotConfigured"
    assert len(fake_gateways.requests) == 1  # the send only: nobody was asked

    helped = await run("--help", env=env)
    assert "10  the gateway of this message is not configured here" in helped.out
    assert EXIT_CODES[10].startswith("the gateway of this message is not configured")


# ---------------------------------------------------------------------- key


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\t", "empty"),
        ("k" * 201, "too long"),
        ("night\tly", "control characters"),
        ("a\x1bb", "control characters"),
    ],
    ids=["empty", "blank", "tab", "too-long", "inner-tab", "escape"],
)
async def test_bad_key_is_refused(
    gateway_env: dict[str, str], fake_gateways: FakeGateways, key: str, says: str
) -> None:
    """A key that cannot be used is bad usage: exit 2, one sentence, nothing sent, nothing
    recorded (an empty key used to mean "no key", so a repeat would send again)."""
    result = await run("send", RECIPIENT, "hi", "--key", key, env=gateway_env)
    assert result.code == 2, (result.out, result.err)
    assert result.err.startswith("error: --key ")
    assert says in result.err
    assert "Nothing was sent" in result.err
    as_json = await run("send", RECIPIENT, "hi", f"--key={key}", "--json", env=gateway_env)
    assert as_json.code == 2
    assert as_json.json()["exit_code"] == 2
    assert fake_gateways.requests == []
    settings = gateway_settings(fake_gateways, Path(gateway_env["DATABASE_PATH"]))
    async with open_core(settings) as core:
        assert await core.store.messages.recent(user_id=None, limit=5) == []


async def test_a_key_of_200_characters_is_accepted(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    result = await run("send", RECIPIENT, "hi", "--key", "k" * 200, env=gateway_env)
    assert result.code == 0, result.err
    assert len(fake_gateways.requests) == 1


async def test_same_key_twice_sends_once(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    args = (
        "send",
        RECIPIENT,
        "Backup failed",
        "--provider",
        "smska",
        "--key",
        "backup-2024-06-01",
        "--json",
    )
    first, second = await asyncio.gather(run(*args, env=gateway_env), run(*args, env=gateway_env))
    assert (first.code, second.code) == (0, 0), first.out + first.err + second.out + second.err
    payloads = [first.json(), second.json()]
    assert sorted(p["duplicate"] for p in payloads) == [False, True]
    assert payloads[0]["id"] == payloads[1]["id"]
    assert len(fake_gateways.requests) == 1
    assert len(fake_gateways.sent) == 1


# ------------------------------------------------------------- help, imports


async def test_help_lists_exit_codes(base_env: dict[str, str]) -> None:
    result = await run("--help", env=base_env)
    assert result.code == 0
    assert "send" in result.out
    assert "balance" in result.out
    for code, meaning in EXIT_CODES.items():
        assert f"{code}  {meaning}" in result.out


async def test_command_line_does_not_import_aiogram(base_env: dict[str, str]) -> None:
    imports, modules = await asyncio.gather(
        run("balance", env=base_env, python_flags=("-X", "importtime")),
        run(
            "import bot.cli, bot.core, sys; print('aiogram' in sys.modules)",
            env=base_env,
            python_flags=("-c",),
        ),
    )
    assert imports.code == 0, imports.err
    assert "sandbox" in imports.out
    assert "import time:" in imports.err
    assert "aiogram" not in imports.err
    assert modules.code == 0, modules.err
    assert modules.out.strip() == "False"


# ------------------------------------------------- repeats and status wording


@pytest.mark.parametrize(
    ("behaviour", "state", "expected_code"),
    [("refused", "failed", 4), ("slow", "unknown", 6)],
)
async def test_key_repeat_reports_the_first_outcome(
    gateway_env: dict[str, str],
    fake_gateways: FakeGateways,
    behaviour: str,
    state: str,
    expected_code: int,
) -> None:
    """``--key`` exists for safe retries from scripts: a repeat of a send that FAILED
    (or whose outcome is unknown) must not exit 0, which EXIT_CODES defines as "the
    gateway accepted the message", nor print ``"ok": true``."""
    if behaviour == "refused":
        fake_gateways.queue_answer("smska", SMSKA_NO_CREDITS)
    else:
        fake_gateways.queue_behaviour("smska", Behaviour.SLOW)
    settings = gateway_settings(fake_gateways, Path(gateway_env["DATABASE_PATH"]))
    async with open_core(settings) as core:
        prepared = core.sender.prepare(RECIPIENT, "Backup failed", "smska")
        first = await core.sender.send(
            prepared, Origin(source="cli"), idempotency_key="cli:nightly"
        )
    assert first.state == state

    result = await run(
        "send",
        RECIPIENT,
        "Backup failed",
        "--provider",
        "smska",
        "--key",
        "nightly",
        "--json",
        env=gateway_env,
    )
    payload = result.json()
    assert payload["duplicate"] is True
    assert payload["state"] == state
    assert len(fake_gateways.requests) == 1  # nothing was sent again: correct
    assert payload["ok"] is False, payload
    assert result.code == expected_code


async def test_status_check_failure_does_not_claim_nothing_was_sent(
    gateway_env: dict[str, str], fake_gateways: FakeGateways, refused_port: int
) -> None:
    """A message the gateway accepted, then a status request that cannot connect:
    the answer must not tell the user "Nothing was sent" about a sent SMS."""
    message_id, _ = await _send_in_process(fake_gateways, gateway_env, "smska")
    env = {**gateway_env, "SMSKA_URL": f"http://127.0.0.1:{refused_port}/api/httppost.php"}
    result = await run("status", f"#{message_id}", env=env)
    assert result.code == 5
    assert f"#{message_id}" in result.err
    assert "could not connect" in result.err
    assert "nothing was sent" not in result.err.lower(), result.err


async def test_sigterm_during_a_send_lets_it_finish_and_record(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    fake_gateways.hold = asyncio.Event()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "send",
        RECIPIENT,
        "finish me",
        "--provider",
        "smska",
        cwd=ROOT,
        env=gateway_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await fake_gateways.wait_for_requests(1, timeout=20)
    proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    fake_gateways.hold.set()
    out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode == 0, err.decode()
    assert "sent via smska" in out.decode()
    assert "finishing the send in flight" in err.decode()
    assert len(fake_gateways.requests) == 1


# ------------------------------------------------------------------------- users


async def test_users_allow_admin_deny_and_list_are_audited_as_the_command_line(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    empty = await run("users", "list", env=base_env)
    assert (empty.code, empty.out.strip()) == (
        0,
        "users: none (add an admin: python -m bot users admin ID)",
    )

    made = await run("users", "admin", "111", "--json", env=base_env)
    assert made.code == 0, made.err
    assert made.json()["user"]["is_admin"] is True
    assert made.json()["created"] is True
    added = await run("users", "allow", "222", "Ivan", "\x1b[31mPetrov", env=base_env)
    assert (added.code, added.out.strip()) == (0, "222 (Ivan [31mPetrov) added.")
    last = await run("users", "deny", "111", env=base_env)
    assert last.code == 11
    assert "last admin" in last.err
    missing = await run("users", "deny", "333", "--json", env=base_env)
    assert missing.code == 9
    assert missing.json()["ok"] is False
    for bad in ("abc", "0", "-5", "1" * 20):
        result = await run("users", "deny", bad, env=base_env)
        assert result.code == 2, bad
        assert "not a Telegram user id" in result.err
    async with Database(base_env["DATABASE_PATH"]) as db:
        await StrangerRepository(db).note(
            999,
            "message: \x1b[2Jhi",
            datetime.now(UTC),
            can_answer=True,
            answer_every=timedelta(hours=1),
        )

    listing = await run("users", "list", env=base_env)
    assert listing.code == 0, listing.err
    lines = listing.out.splitlines()
    assert lines[0] == "users:"
    assert lines[1].startswith("  111 (admin) - added ")
    assert lines[2].startswith("  222 Ivan [31mPetrov - added ")
    assert lines[3] == "recent strangers (refused):"
    assert lines[4].startswith("  999: 1 time(s), last ")
    assert "\x1b" not in listing.out
    as_json = (await run("users", "list", "--json", env=base_env)).json()
    assert [u["user_id"] for u in as_json["users"]] == [111, 222]
    assert [(s["user_id"], s["count"]) for s in as_json["strangers"]] == [(999, 1)]

    removed = await run("users", "deny", "222", env=base_env)
    assert removed.code == 0, removed.err
    async with Database(base_env["DATABASE_PATH"]) as db:
        entries = await AuditLog(db).recent()
    assert [(e.user_id, e.action, e.detail) for e in reversed(entries)] == [
        (None, "admin", "111 admin=True name= (command line)"),
        (None, "allow", "222 admin=False name=Ivan [31mPetrov (command line)"),
        (None, "deny", "222 (command line)"),
    ]


async def test_users_admin_lets_the_operator_back_in_after_a_deny(
    base_env: dict[str, str],
) -> None:
    async with Database(base_env["DATABASE_PATH"]) as db:
        users = UserRepository(db)
        assert await users.seed_admin(111)
        await users.upsert(333, name="Eve", is_admin=True, added_by=111)
        assert await users.remove(111)  # the other admin removed the operator
        assert not await users.seed_admin(111)  # ADMIN_IDS does not bring them back

    back = await run("users", "admin", "111", env=base_env)

    assert (back.code, back.out.strip()) == (0, "111 (-) added as an admin.")
    async with Database(base_env["DATABASE_PATH"]) as db:
        admin = await UserRepository(db).get(111)
    assert admin is not None
    assert admin.is_admin


async def test_users_command_does_not_import_aiogram(base_env: dict[str, str]) -> None:
    result = await run("users", "list", env=base_env, python_flags=("-X", "importtime"))
    assert result.code == 0, result.err
    assert "import time:" in result.err
    assert "aiogram" not in result.err


# ------------------------------------------------- gateway names (old ones kept)


async def test_gateway_option_chooses_the_gateway(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    result = await run("send", RECIPIENT, "hello", "--gateway", "smska", "--json", env=gateway_env)
    assert result.code == 0, result.err
    payload = result.json()
    assert payload["provider"] == "smska"
    assert fake_gateways.sent[payload["gateway_id"]].gateway == "smska"

    balance = await run("balance", "--gateway", "smska", "--json", env=gateway_env)
    assert balance.code == 0, balance.err
    assert [b["provider"] for b in balance.json()["balances"]] == ["smska"]

    status = await run("status", f"#{payload['id']}", "--gateway", "smska", env=gateway_env)
    assert status.code == 0, status.err
    assert "via smska" in status.out


async def test_gateway_and_its_old_name_together(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    same = await run(
        "send", RECIPIENT, "hello", "--gateway", "smska", "--provider", "SMSKA", env=gateway_env
    )
    assert same.code == 0, same.err
    assert "sent via smska" in same.out
    sent_before = dict(fake_gateways.sent)

    different = await run(
        "send", RECIPIENT, "hello", "--gateway", "smska", "--provider", "smsrent", env=gateway_env
    )
    assert different.code == 2
    assert different.out == ""
    assert different.err == (
        "error: --gateway 'smska' and --provider 'smsrent' name different gateways: give only "
        "--gateway (--provider is its old name). Nothing was sent.\n"
    )
    assert fake_gateways.sent == sent_before
    as_json = await run(
        "balance", "--gateway", "smska", "--provider", "smsrent", "--json", env=gateway_env
    )
    assert as_json.code == 2
    assert as_json.json()["ok"] is False
    assert "name different gateways" in as_json.json()["error"]


async def test_default_gateway_setting_and_its_old_name(
    gateway_env: dict[str, str], fake_gateways: FakeGateways
) -> None:
    new = await run("send", RECIPIENT, "hello", env={**gateway_env, "DEFAULT_GATEWAY": "smska"})
    assert new.code == 0, new.err
    assert "sent via smska" in new.out
    old = await run("send", RECIPIENT, "hello", env={**gateway_env, "DEFAULT_PROVIDER": "smska"})
    assert old.code == 0, old.err
    assert "sent via smska" in old.out
    sent_before = dict(fake_gateways.sent)

    both = {**gateway_env, "DEFAULT_GATEWAY": "smska", "DEFAULT_PROVIDER": "smsrent"}
    conflict = await run("send", RECIPIENT, "hello", env=both)
    assert conflict.code == 3
    assert "DEFAULT_GATEWAY" in conflict.err
    assert "DEFAULT_PROVIDER" in conflict.err
    assert fake_gateways.sent == sent_before


async def test_help_names_gateway_first_and_the_old_option_as_still_accepted(
    base_env: dict[str, str],
) -> None:
    result = await run("send", "--help", env=base_env)
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "--gateway NAME gateway to use (default: DEFAULT_GATEWAY)" in text
    assert "--provider NAME the old name of --gateway, still accepted" in text
    assert text.index("--gateway NAME") < text.index("--provider NAME")
