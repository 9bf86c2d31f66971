"""SMS from Alertmanager's webhook (``services.alerts``) over a real core and the fake
gateways: the documented payloads, a retried notification, the text's size, bad
payloads and recipients, and the template checked at start."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core import Core
from bot.settings import ConfigError, load_settings
from services.alerts import (
    ALERT_SOURCE,
    AlertRecipientsRefused,
    AlertResult,
    AlertTemplate,
    InvalidAlert,
    InvalidTemplate,
    parse_notification,
)
from services.domain import analyze_text
from services.gateways import UnknownProvider
from services.recipients import NoRecipients
from services.sending import Origin
from tests.fakes.gateways import FakeGateways

MakeCore = Callable[..., Awaitable[Core]]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alertmanager"
ORIGIN = Origin(source=ALERT_SOURCE, user_name="alertmanager")
ONE = "79123456789"
TWO = "79161234567"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


async def notify(
    core: Core,
    payload: dict[str, Any] | bytes,
    to: str = ONE,
    *,
    gateway: str | None = None,
) -> AlertResult:
    result = await core.alerts.notify(payload, to, gateway=gateway, origin=ORIGIN)
    await result.started.outcomes()
    return result


async def jobs(core: Core) -> int:
    row = await core.db.fetchone("SELECT COUNT(*) AS n FROM jobs")
    assert row is not None
    return int(row["n"])


def sent(fake: FakeGateways) -> list[tuple[str, str]]:
    return sorted((sms.to, sms.text) for sms in fake.sent.values())


# -- the documented payloads --------------------------------------------------------


async def test_a_firing_group_sends_one_sms_to_each_recipient(
    core: Core, fake_gateways: FakeGateways
) -> None:
    result = await notify(core, raw("firing"), f"{ONE}, +7 916 123-45-67")

    text = "[FIRING:2] DiskFull: Disk almost full on db1 (+1 more)"
    assert result.text == text
    assert not result.duplicate
    assert result.recipients == [ONE, TWO]
    assert result.job.source == "alertmanager"
    assert sent(fake_gateways) == [(ONE, text), (TWO, text)]
    assert all(r.state == "sent" for r in await core.store.messages.of_job(result.job.id))


async def test_a_resolved_group_says_so(core: Core, fake_gateways: FakeGateways) -> None:
    result = await notify(core, fixture("resolved"))

    assert result.text == "[RESOLVED] DiskFull: Disk almost full on db1 (+1 more)"
    assert sent(fake_gateways) == [(ONE, result.text)]


async def test_the_documented_single_alert(core: Core, fake_gateways: FakeGateways) -> None:
    result = await notify(core, raw("probe_failure"))

    assert (
        result.text == "[FIRING:1] ProbeFailure: BlackBox Probe Failure: https://server.example.org"
    )
    assert sent(fake_gateways) == [(ONE, result.text)]


async def test_grafanas_webhook_payload_is_accepted(
    core: Core, fake_gateways: FakeGateways
) -> None:
    result = await notify(core, raw("grafana"))

    text = "[FIRING:2] High memory usage: This alert was triggered for zone us-1 (+1 more)"
    assert result.text == text
    assert sent(fake_gateways) == [(ONE, text)]


# -- a retried notification ---------------------------------------------------------


async def test_a_retried_notification_sends_nothing_and_returns_the_first_job(
    core: Core, fake_gateways: FakeGateways
) -> None:
    first = await notify(core, raw("firing"), f"{ONE},{TWO}")
    # Alertmanager posts the same body again; the recipients may be written otherwise
    again = await notify(core, fixture("firing"), f"{TWO}; +{ONE}")

    assert again.duplicate
    assert again.job.id == first.job.id
    assert again.text == first.text
    assert [r.id for r in again.records] == [r.id for r in first.records]
    assert len(fake_gateways.sent) == 2
    assert await jobs(core) == 1


async def test_retries_arriving_together_send_once(core: Core, fake_gateways: FakeGateways) -> None:
    results = await asyncio.gather(*(notify(core, raw("firing")) for _ in range(5)))

    assert len({r.job.id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert len(fake_gateways.sent) == 1


async def test_the_same_alerts_in_another_order_are_the_same_notification(
    core: Core, fake_gateways: FakeGateways
) -> None:
    first = await notify(core, fixture("firing"))
    reordered = fixture("firing")
    reordered["alerts"].reverse()
    again = await notify(core, reordered)

    assert again.duplicate and again.job.id == first.job.id
    assert len(fake_gateways.sent) == 1


def _changed(name: str, change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    payload = copy.deepcopy(fixture(name))
    change(payload)
    return payload


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p["alerts"].pop(), id="an alert fewer"),
        pytest.param(
            lambda p: p["alerts"].append(
                {**p["alerts"][0], "fingerprint": "0000000000000003", "labels": {"alertname": "X"}}
            ),
            id="an alert more",
        ),
        pytest.param(
            lambda p: p["alerts"][0].update(startsAt="2026-11-21T08:14:05.123Z"),
            id="fired again later",
        ),
        pytest.param(lambda p: p.update(groupKey='{}:{alertname="Other"}'), id="another group"),
        pytest.param(lambda p: [a.pop("fingerprint") for a in p["alerts"]], id="no fingerprints"),
    ],
)
async def test_a_changed_notification_is_a_new_send(
    core: Core, fake_gateways: FakeGateways, change: Callable[[dict[str, Any]], object]
) -> None:
    first = await notify(core, fixture("firing"))
    second = await notify(core, _changed("firing", change))

    assert not second.duplicate
    assert second.job.id != first.job.id
    assert len(fake_gateways.sent) == 2


async def test_resolved_after_firing_is_a_new_send(core: Core, fake_gateways: FakeGateways) -> None:
    await notify(core, fixture("firing"))
    resolved = await notify(core, fixture("resolved"))

    assert not resolved.duplicate
    assert len(fake_gateways.sent) == 2


async def test_labels_tell_alerts_apart_when_there_is_no_fingerprint(
    core: Core, fake_gateways: FakeGateways
) -> None:
    def strip(p: dict[str, Any]) -> None:
        for alert in p["alerts"]:
            alert.pop("fingerprint")

    await notify(core, _changed("firing", strip))
    again = await notify(core, _changed("firing", strip))

    def relabel(p: dict[str, Any]) -> None:
        strip(p)
        p["alerts"][1]["labels"]["instance"] = "db3:9100"

    other = await notify(core, _changed("firing", relabel))
    assert again.duplicate
    assert not other.duplicate
    assert len(fake_gateways.sent) == 2


async def test_other_recipients_or_gateway_are_a_new_send(
    core: Core, fake_gateways: FakeGateways
) -> None:
    first = await notify(core, fixture("firing"), ONE)
    other_to = await notify(core, fixture("firing"), TWO)
    other_gateway = await notify(core, fixture("firing"), ONE, gateway="smska")

    assert len({first.job.id, other_to.job.id, other_gateway.job.id}) == 3
    assert other_gateway.job.gateway == "smska"
    assert len(fake_gateways.sent) == 3


async def test_the_key_stays_short_for_a_large_notification(core: Core) -> None:
    payload = fixture("firing")
    alert = payload["alerts"][0]
    payload["alerts"] = [
        {**alert, "fingerprint": f"{i:016x}", "labels": {**alert["labels"], "n": "x" * 200}}
        for i in range(500)
    ]
    result = await notify(core, payload)

    key = result.job.idempotency_key
    assert key is not None and key.startswith("alert:") and len(key) == len("alert:") + 64
    assert result.text.endswith("(+499 more)")


# -- the text -----------------------------------------------------------------------


def _with_summary(summary: str, name: str = "firing") -> dict[str, Any]:
    def change(p: dict[str, Any]) -> None:
        p["alerts"][0]["annotations"]["summary"] = summary

    return _changed(name, change)


@pytest.mark.parametrize("max_parts", [1, 2, 3])
async def test_a_long_summary_is_cut_to_alert_max_parts(
    make_core: MakeCore, fake_gateways: FakeGateways, max_parts: int
) -> None:
    core = await make_core(default_provider="smska", alert_max_parts=max_parts)
    result = await notify(core, _with_summary("Disk almost full " * 80))

    sms = analyze_text(result.text)
    assert sms.encoding == "GSM-7"
    assert sms.parts == max_parts  # cut, but no shorter than it must be
    assert result.text.startswith("[FIRING:2] DiskFull: Disk almost full")
    # the summary is cut, the count kept; "..." as "…" is no GSM-7 character
    assert result.text.endswith("... (+1 more)")
    assert sent(fake_gateways) == [(ONE, result.text)]
    assert result.records[0].parts == max_parts


async def test_cyrillic_counts_ucs2_parts(make_core: MakeCore, fake_gateways: FakeGateways) -> None:
    core = await make_core(default_provider="smska", alert_max_parts=2)
    result = await notify(core, _with_summary("Диск почти заполнен на сервере базы " * 20))

    sms = analyze_text(result.text)
    assert sms.encoding == "UCS-2"
    assert sms.parts == 2
    assert sms.units <= 2 * 67
    assert result.text.endswith("… (+1 more)")
    assert sent(fake_gateways) == [(ONE, result.text)]


async def test_a_cut_never_splits_a_surrogate_pair(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    core = await make_core(default_provider="smska", alert_max_parts=1)
    result = await notify(core, _with_summary("🔥" * 200))

    result.text.encode("utf-8")  # no lone surrogate
    assert analyze_text(result.text).parts == 1
    assert "🔥…" in result.text
    assert sent(fake_gateways) == [(ONE, result.text)]


async def test_a_short_text_is_not_cut(make_core: MakeCore) -> None:
    core = await make_core(default_provider="smska", alert_max_parts=1)
    result = await notify(core, fixture("firing"))

    assert "…" not in result.text


async def test_the_text_fits_the_gateway_too(core: Core, fake_gateways: FakeGateways) -> None:
    """smsrent takes at most 160 characters, even when ALERT_MAX_PARTS allows more."""
    result = await notify(core, _with_summary("Диск почти заполнен " * 30))

    assert result.job.gateway == "smsrent"
    assert len(result.text) <= 160
    assert result.text.endswith("… (+1 more)")
    assert sent(fake_gateways) == [(ONE, result.text)]


async def test_control_characters_are_stripped_from_labels(
    core: Core, fake_gateways: FakeGateways
) -> None:
    def change(p: dict[str, Any]) -> None:
        alert = p["alerts"][0]
        alert["labels"]["alertname"] = "Disk\x1b[31mFull\x00\u202e"
        alert["annotations"]["summary"] = "line one\r\nline\ttwo\x07\u200b \ud800end"

    result = await notify(core, _changed("firing", change))

    assert result.text == "[FIRING:2] Disk [31mFull: line one line two \ufffdend (+1 more)"
    assert sent(fake_gateways) == [(ONE, result.text)]


async def test_a_template_of_the_settings_is_used(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    core = await make_core(
        alert_template="{status} {firing}/{total} {alertname} {instance} {severity} {receiver}"
    )
    result = await notify(core, fixture("firing"))

    assert result.text == "FIRING 2/2 DiskFull db1:9100 critical sms-oncall"


async def test_a_notification_without_a_summary_uses_the_description(core: Core) -> None:
    def change(p: dict[str, Any]) -> None:
        p["alerts"][0]["annotations"].pop("summary")

    result = await notify(core, _changed("firing", change))
    assert "Filesystem /var/lib/postgresql on db1 has 3% space left." in result.text


# -- bad payloads: a typed error naming the field, nothing recorded or sent -----------


def _payload_with(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    return _changed("firing", change)


BAD_PAYLOADS: list[Any] = [
    pytest.param(b"{not json", "", id="not JSON"),
    pytest.param(b"\xff\xfe", "", id="not UTF-8"),
    pytest.param(b"[1, 2]", "", id="not an object"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "", id="nested too deep"),
    pytest.param(b" " * 1_000_001, "", id="too large"),
    pytest.param(_payload_with(lambda p: p.pop("alerts")), "alerts", id="no alerts"),
    pytest.param(_payload_with(lambda p: p.update(alerts=[])), "alerts", id="empty alerts"),
    pytest.param(_payload_with(lambda p: p.update(alerts={})), "alerts", id="alerts not a list"),
    pytest.param(_payload_with(lambda p: p.update(status="pending")), "status", id="bad status"),
    pytest.param(_payload_with(lambda p: p.pop("groupKey")), "groupKey", id="no group key"),
    pytest.param(_payload_with(lambda p: p.update(version="3")), "version", id="version 3"),
    pytest.param(_payload_with(lambda p: p.update(version=4)), "version", id="version a number"),
    pytest.param(_payload_with(lambda p: p.pop("version")), "version", id="no version"),
    pytest.param(_payload_with(lambda p: p.pop("receiver")), "receiver", id="no receiver"),
    pytest.param(
        _payload_with(lambda p: p["alerts"][1].update(status="unknown")),
        "alerts[1].status",
        id="bad alert status",
    ),
    pytest.param(
        _payload_with(lambda p: p["alerts"][0].pop("labels")),
        "alerts[0].labels",
        id="alert without labels",
    ),
    pytest.param(
        _payload_with(lambda p: p["alerts"][0]["labels"].update(cpu=3)),
        "alerts[0].labels.cpu",
        id="label not a string",
    ),
    pytest.param(
        _payload_with(lambda p: p["alerts"][0].update(startsAt="yesterday")),
        "alerts[0].startsAt",
        id="bad time",
    ),
    pytest.param(
        _payload_with(lambda p: p["alerts"].__setitem__(0, "DiskFull")),
        "alerts[0]",
        id="alert not an object",
    ),
    pytest.param(
        _payload_with(lambda p: p.update(truncatedAlerts=-1)),
        "truncatedAlerts",
        id="negative truncated",
    ),
]


@pytest.mark.parametrize(("payload", "path"), BAD_PAYLOADS)
async def test_a_bad_payload_is_refused_with_the_field_named(
    core: Core, fake_gateways: FakeGateways, payload: Any, path: str
) -> None:
    with pytest.raises(InvalidAlert) as info:
        await core.alerts.notify(payload, ONE, gateway=None, origin=ORIGIN)

    assert info.value.path == path
    assert str(info.value).startswith("The alert notification is not valid: " + path)
    assert await jobs(core) == 0
    assert fake_gateways.requests == []


def test_parse_notification_keeps_extra_fields() -> None:
    notification = parse_notification(raw("grafana"))
    assert notification.model_extra == {
        "orgId": 1,
        "title": "[FIRING:2]  (blue)",
        "state": "alerting",
        "message": fixture("grafana")["message"],
    }


# -- recipients and gateway -----------------------------------------------------------


@pytest.mark.parametrize(
    "to",
    ["oncall", f"{ONE}, oncall", f"{ONE}, 12345", f"{ONE}, +88160000000"],
)
async def test_any_refused_recipient_sends_nothing(
    core: Core, fake_gateways: FakeGateways, to: str
) -> None:
    with pytest.raises(AlertRecipientsRefused) as info:
        await core.alerts.notify(raw("firing"), to, gateway=None, origin=ORIGIN)

    assert "Nothing was sent" in str(info.value)
    assert info.value.refused and to.split(", ")[-1] in str(info.value)
    assert await jobs(core) == 0
    assert fake_gateways.requests == []


@pytest.mark.parametrize("to", ["", " , ;"])
async def test_no_recipient_is_an_error(core: Core, fake_gateways: FakeGateways, to: str) -> None:
    with pytest.raises(NoRecipients):
        await core.alerts.notify(raw("firing"), to, gateway=None, origin=ORIGIN)
    assert await jobs(core) == 0


async def test_an_unknown_gateway_sends_nothing(core: Core, fake_gateways: FakeGateways) -> None:
    with pytest.raises(UnknownProvider):
        await core.alerts.notify(raw("firing"), ONE, gateway="nope", origin=ORIGIN)
    assert await jobs(core) == 0


# -- the template, checked at start ------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("[{tag}] {alertnam}", "unknown field “alertnam”"),
        ("{summary", "not a valid format"),
        ("summary}", "not a valid format"),
        ("{0}", "unknown field “0”"),
        ("{}", "unknown field"),
        ("{summary.__class__}", "unknown field"),
        ("{labels[0]}", "unknown field"),
        ("{firing:d} {summary:d}", "cannot be filled in"),
        ("{tag!z}", "cannot be filled in"),
        ("\x00{tag}", "cannot be sent"),
        ("{summary:>{firing}}", "not supported"),
        ("{summary:>99999999999}", "not supported"),
    ],
)
def test_a_bad_template_is_refused_at_start(template: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, alert_template=template)
    assert "ALERT_TEMPLATE" in str(info.value)
    assert says in str(info.value)
    with pytest.raises(InvalidTemplate):
        AlertTemplate(template)


def test_the_template_and_parts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_TEMPLATE", "{status}: {summary}")
    monkeypatch.setenv("ALERT_MAX_PARTS", "3")
    settings = load_settings(_env_file=None)
    assert settings.alert_template == "{status}: {summary}"
    assert settings.alert_max_parts == 3


@pytest.mark.parametrize("parts", ["0", "11", "two"])
def test_a_bad_max_parts_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, parts: str) -> None:
    monkeypatch.setenv("ALERT_MAX_PARTS", parts)
    with pytest.raises(ConfigError, match="ALERT_MAX_PARTS"):
        load_settings(_env_file=None)


# -- /history names the source ------------------------------------------------------------


def test_history_names_the_alert_source() -> None:
    from handlers.info import source_name

    assert source_name("ru", ALERT_SOURCE) == "оповещение мониторинга"
    assert source_name("en", ALERT_SOURCE) == "Alertmanager alert"
    assert source_name("en", "cli") == "command line"


async def test_characters_the_gateway_cannot_carry_become_question_marks(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    """smsrent in WINDOWS-1251 has no emoji: the alert still goes, with "?" for it."""
    core = await make_core(default_provider="smsrent", smsrent_encoding="WINDOWS-1251")
    result = await notify(core, _with_summary("Диск заполнен 🔥 на db1"))

    assert result.text == "[FIRING:2] DiskFull: Диск заполнен ? на db1 (+1 more)"
    assert sent(fake_gateways) == [(ONE, result.text)]


async def test_braces_in_an_alert_are_text_not_fields(
    core: Core, fake_gateways: FakeGateways
) -> None:
    result = await notify(core, _with_summary("{tag} {0} {summary.__class__} {{x}}"))

    assert result.text == "[FIRING:2] DiskFull: {tag} {0} {summary.__class__} {{x}} (+1 more)"


async def test_a_long_name_is_cut_at_the_end_when_cutting_the_summary_is_not_enough(
    make_core: MakeCore, fake_gateways: FakeGateways
) -> None:
    core = await make_core(default_provider="smska", alert_max_parts=1)

    def change(p: dict[str, Any]) -> None:
        p["alerts"][0]["labels"]["alertname"] = "Disk" * 300

    result = await notify(core, _changed("firing", change))

    sms = analyze_text(result.text)
    assert sms.parts == 1 and sms.encoding == "GSM-7"
    assert result.text.startswith("[FIRING:2] DiskDisk")
    assert result.text.endswith("...")
    assert sent(fake_gateways) == [(ONE, result.text)]
