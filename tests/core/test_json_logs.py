"""LOG_FORMAT=json (issue 11): one JSON object a line, with the send's fields, and no
secret in it (in the message, its arguments, an extra field or a traceback)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core import Core
from bot.logging_setup import configure_logging
from services.sending import Origin
from tests.core.conftest import RECIPIENT
from tests.fakes.gateways import SMSRENT_BALANCE_EMPTY, FakeGateways

SECRET = "Sup3r-Secret/Value+42"


@pytest.fixture
def json_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The root logger writes JSON to a buffer for the test, then is restored."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    configure_logging("INFO", [SECRET], "json")
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def events(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_each_event_is_one_json_line_with_its_fields(json_log: io.StringIO) -> None:
    logging.getLogger("services.sending").info(
        "send #%s via %s: accepted",
        7,
        "smsrent",
        extra={
            "user_id": 111,
            "message_id": 7,
            "job_id": 3,
            "gateway": "smsrent",
            "result": "accepted",
            "latency_ms": 12.5,
        },
    )
    logging.getLogger("bot").warning("two\nlines")
    first, second = events(json_log)
    assert first["level"] == "INFO"
    assert first["logger"] == "services.sending"
    assert first["message"] == "send #7 via smsrent: accepted"
    assert first["time"].endswith("+00:00")
    assert {k: first[k] for k in ("user_id", "message_id", "job_id", "gateway", "result")} == {
        "user_id": 111,
        "message_id": 7,
        "job_id": 3,
        "gateway": "smsrent",
        "result": "accepted",
    }
    assert first["latency_ms"] == 12.5
    assert second["message"] == "two\nlines"
    assert "user_id" not in second


def test_no_secret_in_a_json_line(json_log: io.StringIO) -> None:
    log = logging.getLogger("providers")
    log.warning("in the message " + SECRET)
    log.warning("in an argument %s", SECRET)
    log.warning("in an extra field", extra={"error": f"key={SECRET}", "gateway": SECRET})
    try:
        raise RuntimeError(f"https://api.example/bot{SECRET}/getMe failed")
    except RuntimeError:
        log.exception("in a traceback")
    text = json_log.getvalue()
    assert SECRET not in text
    assert SECRET.replace("/", "\\/") not in text
    found = events(json_log)
    assert len(found) == 4
    assert all("***" in json.dumps(event) for event in found)
    assert "RuntimeError" in found[3]["exc"]


def test_the_text_form_stays_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    configure_logging("INFO", [SECRET])
    try:
        logging.getLogger("bot").info("plain %s", SECRET)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
    line = buffer.getvalue().strip()
    assert line.endswith("bot: plain ***")
    assert not line.startswith("{")


async def test_a_send_logs_its_result_with_the_fields(
    json_log: io.StringIO, core: Core, fake_gateways: FakeGateways
) -> None:
    origin = Origin(source="cli", user_id=None, user_name=None)
    accepted = await core.sender.send(core.sender.prepare(RECIPIENT, "ok", "smsrent"), origin)
    fake_gateways.queue_answer("smsrent", SMSRENT_BALANCE_EMPTY)
    failed = await core.sender.send(core.sender.prepare(RECIPIENT, "no", "smsrent"), origin)
    results = {e["message_id"]: e for e in events(json_log) if "result" in e}
    ok, bad = results[accepted.record.id], results[failed.record.id]
    assert (ok["gateway"], ok["result"], ok["job_id"]) == (
        "smsrent",
        "accepted",
        accepted.record.job_id,
    )
    assert isinstance(ok["latency_ms"], float) and ok["latency_ms"] >= 0
    assert (bad["gateway"], bad["result"], bad["error"]) == (
        "smsrent",
        "failed",
        "InsufficientFunds",
    )
    assert core.settings.smsrent.secret_key is not None
    assert core.settings.smsrent.secret_key.get_secret_value() not in json_log.getvalue()
