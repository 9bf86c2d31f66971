"""SMS from Prometheus Alertmanager's webhook (and Grafana's webhook contact point,
which posts the same shape).

``parse_notification`` checks a payload (``WebhookNotification``; a wrong shape is an
``InvalidAlert`` that names the field), ``AlertTemplate`` turns it into one SMS text
that fits ``ALERT_MAX_PARTS`` parts, and ``AlertService.notify`` sends that text to the
recipients of ``?to=`` as one job. Alertmanager repeats a notification it thinks was
not delivered (an error, a time-out): the job's idempotency key is made of what makes
a notification itself (group key, status, every alert's identity and times) plus the
recipients and the gateway, so a repeat sends nothing and returns the first job.

The template is ``str.format`` with named fields (``TEMPLATE_FIELDS``); it is checked
when the settings are read (``check_template``), never at the first alert.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.domain import (
    MAX_TEXT_CHARS,
    InvalidInput,
    InvalidText,
    SmsText,
    analyze_text,
    printable_text,
)
from services.recipients import NoRecipients, RecipientResolver, Refused, split_entries

if TYPE_CHECKING:
    from services.sending import JobStarted, Origin, SendService
    from storage.models import JobRecord, MessageRecord

#: ``Origin.source`` of the jobs this service creates
ALERT_SOURCE = "alertmanager"
#: Alertmanager's webhook payload version; Grafana's webhook contact point says "1"
PAYLOAD_VERSIONS = ("4", "1")
#: a larger body is refused before it is read as JSON
MAX_PAYLOAD_BYTES = 1_000_000
#: what marks a cut: "…", but "..." in a GSM-7 text ("…" is not in GSM-7 and would
#: turn the whole text into UCS-2, less than half as many characters a part)
ELLIPSIS = "…"
GSM_ELLIPSIS = "..."

DEFAULT_ALERT_TEMPLATE = "[{tag}] {alertname}: {summary}{more}"
DEFAULT_ALERT_MAX_PARTS = 2

#: The template's fields (``{name}``), what each holds.
TEMPLATE_FIELDS: dict[str, str] = {
    "tag": "FIRING:<firing> or RESOLVED, as in Alertmanager's own titles",
    "status": "FIRING or RESOLVED (the notification's status)",
    "firing": "how many alerts of the notification are firing",
    "resolved": "how many alerts of the notification are resolved",
    "total": "how many alerts the notification has (with those cut by max_alerts)",
    "alertname": "the alert's name (labels.alertname)",
    "summary": "annotations.summary, else annotations.description (the common ones if none)",
    "instance": "labels.instance (empty when none)",
    "severity": "labels.severity (empty when none)",
    "receiver": "Alertmanager's receiver name",
    "more": '" (+N more)" when the notification has more than one alert, else empty',
}

_SAMPLE_FIELDS: dict[str, object] = {
    "tag": "FIRING:2",
    "status": "FIRING",
    "firing": 2,
    "resolved": 0,
    "total": 2,
    "alertname": "DiskFull",
    "summary": "Disk almost full on db1",
    "instance": "db1:9100",
    "severity": "critical",
    "receiver": "sms",
    "more": " (+1 more)",
}

# Control characters (C0, DEL, C1) and the invisible format characters that can
# reorder or hide text (bidi overrides, zero-width); blanks collapse to one space.
_BIG_NUMBER = re.compile(r"\d{4,}")
_FORMAT_CHARS = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


class InvalidAlert(InvalidInput):
    """A webhook payload that is not an Alertmanager notification: ``path`` names the
    first wrong field (``alerts[0].status``), empty when the body itself is wrong."""

    def __init__(self, reason: str, path: str = "") -> None:
        where = f"{path}: " if path else ""
        super().__init__(f"The alert notification is not valid: {where}{reason}")
        self.path = path
        self.reason = reason


class AlertRecipientsRefused(InvalidInput):
    """Some entries of ``to`` are not recipients: nothing is sent to anyone."""

    def __init__(self, refused: Sequence[Refused]) -> None:
        self.refused = list(refused)
        listed = "; ".join(f"{r.entry}: {r.error}" for r in self.refused[:5])
        more = f" (and {len(self.refused) - 5} more)" if len(self.refused) > 5 else ""
        super().__init__(f"Nothing was sent: some recipients are refused: {listed}{more}")


class InvalidTemplate(ValueError):
    """ALERT_TEMPLATE cannot be used; ``str()`` says why (for the settings' error)."""


# -- the payload ---------------------------------------------------------------------


class _Model(BaseModel):
    # Grafana (and later Alertmanager versions) add fields: they are kept, not refused.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Alert(_Model):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = Field(default=None, alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""

    def identity(self) -> object:
        """What tells this alert apart: its fingerprint, else its labels."""
        return self.fingerprint or sorted(self.labels.items())


class WebhookNotification(_Model):
    version: str
    group_key: str = Field(alias="groupKey")
    status: Literal["firing", "resolved"]
    receiver: str
    alerts: list[Alert] = Field(min_length=1)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")

    @property
    def firing(self) -> int:
        return sum(1 for a in self.alerts if a.status == "firing")

    @property
    def total(self) -> int:
        return len(self.alerts) + self.truncated_alerts

    def identity(self) -> dict[str, object]:
        """What makes this notification itself (a retry carries the same): its group,
        status and alerts, each with its identity, status and times."""
        alerts = sorted(
            (
                json.dumps(a.identity(), ensure_ascii=False),
                a.status,
                a.starts_at.isoformat() if a.starts_at else "",
                a.ends_at.isoformat() if a.ends_at else "",
            )
            for a in self.alerts
        )
        return {
            "receiver": self.receiver,
            "groupKey": self.group_key,
            "status": self.status,
            "alerts": alerts,
            "truncated": self.truncated_alerts,
        }


def _path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            shown = printable_text(part)[:40]
            path += f".{shown}" if path else shown
    return path


def parse_notification(payload: Mapping[str, Any] | bytes) -> WebhookNotification:
    """The notification in ``payload`` (the request body or its decoded JSON); raise
    ``InvalidAlert`` naming what is wrong."""
    if isinstance(payload, bytes | bytearray):
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise InvalidAlert(f"the body is larger than {MAX_PAYLOAD_BYTES} bytes")
        try:
            data: object = json.loads(payload)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deep
            raise InvalidAlert("the body is not JSON") from None
    else:
        data = payload
    if not isinstance(data, Mapping):
        raise InvalidAlert("the body must be a JSON object")
    version = data.get("version")
    if isinstance(version, str) and version not in PAYLOAD_VERSIONS:
        shown = printable_text(str(version))[:20]
        raise InvalidAlert(
            f"version “{shown}” is not supported (Alertmanager's is 4, Grafana's 1)", "version"
        )
    try:
        return WebhookNotification.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise InvalidAlert(str(first["msg"]), _path(first["loc"])) from None
    except RecursionError:
        raise InvalidAlert("the body is nested too deep") from None


# -- the text ------------------------------------------------------------------------


def clean(value: str) -> str:
    """A label or annotation as it may go into an SMS: no control or invisible format
    characters, no character UTF-8 cannot carry, blanks collapsed to one space."""
    text = printable_text(value)
    text = "".join(
        " " if unicodedata.category(ch) == "Cc" else ch for ch in _FORMAT_CHARS.sub("", text)
    )
    return " ".join(text.split())


def check_template(template: str) -> str:
    """``template`` if it can render every notification; raise ``InvalidTemplate``."""
    if not template.strip():
        raise InvalidTemplate("is empty")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidTemplate(f"is not a valid format ({exc}); write {{{{ for a brace") from None
    known = ", ".join(TEMPLATE_FIELDS)
    for _literal, name, spec, _conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            shown = printable_text(name)[:30] or "{}"
            raise InvalidTemplate(f"has an unknown field “{shown}” (known: {known})")
        if spec and ("{" in spec or _BIG_NUMBER.search(spec)):
            # a field inside a format spec, or a width of millions: not for an SMS
            shown = printable_text(spec)[:30]
            raise InvalidTemplate(f"has a format “{shown}” for {name} that is not supported")
    try:
        rendered = template.format(**_SAMPLE_FIELDS)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise InvalidTemplate(f"cannot be filled in ({exc})") from None
    if not rendered.strip():
        raise InvalidTemplate("gives an empty text")
    try:
        analyze_text(rendered)
    except InvalidInput as exc:
        raise InvalidTemplate(f"gives a text that cannot be sent ({exc})") from None
    return template


def template_fields(notification: WebhookNotification) -> dict[str, object]:
    """The template's fields for ``notification``: cleaned of control characters."""
    firing = notification.firing
    wanted = "firing" if notification.status == "firing" else "resolved"
    main = next((a for a in notification.alerts if a.status == wanted), notification.alerts[0])
    labels = {**notification.common_labels, **notification.group_labels, **main.labels}
    notes = {**notification.common_annotations, **main.annotations}
    summary = notes.get("summary") or notes.get("description") or ""
    status = notification.status.upper()
    more = notification.total - 1
    return {
        "tag": f"FIRING:{firing}" if notification.status == "firing" else "RESOLVED",
        "status": status,
        "firing": firing,
        "resolved": len(notification.alerts) - firing,
        "total": notification.total,
        "alertname": clean(labels.get("alertname", "")) or "alert",
        "summary": clean(summary),
        "instance": clean(labels.get("instance", "")),
        "severity": clean(labels.get("severity", "")),
        "receiver": clean(notification.receiver),
        "more": f" (+{more} more)" if more > 0 else "",
    }


def shorten(text: str, fits: Callable[[str], bool], ellipsis: str = ELLIPSIS) -> str:
    """The longest start of ``text`` (by whole code points, so never half a surrogate
    pair) that, with ``ellipsis`` after it, ``fits``; ``text`` itself when it fits."""
    if fits(text):
        return text
    low, high = 0, len(text) - 1  # the longest prefix that fits is in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + ellipsis):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ellipsis


class AlertTemplate:
    """The SMS text of a notification: ``template`` filled in, cut to ``max_parts``."""

    def __init__(
        self, template: str = DEFAULT_ALERT_TEMPLATE, max_parts: int = DEFAULT_ALERT_MAX_PARTS
    ) -> None:
        self.template = check_template(template)
        if max_parts < 1:
            raise InvalidTemplate("ALERT_MAX_PARTS must be at least 1")
        self.max_parts = max_parts

    def render(
        self, notification: WebhookNotification, accepts: Callable[[SmsText], None] | None = None
    ) -> SmsText:
        """The text, within ``max_parts`` and what ``accepts`` (a gateway's
        ``check_text``, raising ``InvalidText``) takes. The summary is cut first (the
        rest of the text stays whole), then, if that is not enough, the text's end."""
        fields = template_fields(notification)

        def carry(text: str) -> str:
            return text if accepts is None else _carried(text, accepts)

        def build(values: Mapping[str, object]) -> str:
            return carry(self._fill(values))

        def fits(candidate: str) -> bool:
            try:
                sms = analyze_text(candidate)
                if accepts is not None:
                    accepts(sms)
            except InvalidInput:
                return False
            return sms.parts <= self.max_parts

        text = build(fields)
        if not fits(text):
            gsm = _encoding(text) == "GSM-7"
            mark = GSM_ELLIPSIS if gsm else ELLIPSIS
            summary = str(fields["summary"])
            if summary:  # cut the summary alone first
                best = shorten(summary, lambda s: fits(build({**fields, "summary": s})), mark)
                cut = build({**fields, "summary": best})
                if fits(cut):
                    return analyze_text(cut)
            text = carry(shorten(text, lambda c: fits(carry(c)), mark))
        return analyze_text(text)

    def _fill(self, fields: Mapping[str, object]) -> str:
        try:
            text = self.template.format(**fields).strip()
        except (ValueError, TypeError, KeyError, IndexError, OverflowError):
            text = ""  # checked at start, so not expected: the alert still goes
        if not text:  # e.g. "{summary}" of an alert without one
            text = DEFAULT_ALERT_TEMPLATE.format(**fields).strip()
        return text


def _encoding(text: str) -> str:
    for sample in (text, text[:MAX_TEXT_CHARS]):  # too long to count: the start tells
        try:
            return analyze_text(sample).encoding
        except InvalidInput:
            continue
    return "UCS-2"


def _carried(text: str, accepts: Callable[[SmsText], None]) -> str:
    """``text`` with each character the gateway cannot carry (``InvalidText.char``)
    replaced by "?"."""
    for _ in range(len(text)):
        if not text.strip():
            return text
        try:
            accepts(analyze_text(text))
        except InvalidText as exc:
            if not exc.char or exc.char not in text:
                return text
            text = text.replace(exc.char, "?")
            continue
        except InvalidInput:
            return text
        return text
    return text


# -- the service ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertResult:
    job: JobRecord
    records: list[MessageRecord]  # one per recipient
    recipients: list[str]  # the numbers, as resolved from ``to``
    duplicate: bool  # a repeat of a notification already sent: nothing was sent now
    text: str  # the text sent (the first job's on a repeat)
    started: JobStarted  # ``outcomes()`` waits for the gateways' answers


def notification_key(
    notification: WebhookNotification, numbers: Sequence[str], gateway: str
) -> str:
    """The job's idempotency key: "alert:" and 64 hex digits, whatever the payload's size."""
    canonical = json.dumps(
        {
            "notification": notification.identity(),
            "to": sorted(set(numbers)),
            "gateway": gateway,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"alert:{digest}"


class AlertService:
    def __init__(
        self, sender: SendService, recipients: RecipientResolver, template: AlertTemplate
    ) -> None:
        self._sender = sender
        self._recipients = recipients
        self.template = template

    async def notify(
        self,
        payload: Mapping[str, Any] | bytes,
        to: str,
        *,
        gateway: str | None,
        origin: Origin,
        quotas: tuple[tuple[int, timedelta], ...] = (),
    ) -> AlertResult:
        """Send the notification to every recipient of ``to`` (numbers, contacts,
        groups) as one job. Raises ``InvalidAlert``, ``AlertRecipientsRefused``,
        ``NoRecipients``, ``TooManyRecipients``, ``UnknownProvider`` or
        ``LimitExceeded`` with nothing recorded or sent."""
        notification = parse_notification(payload)
        provider = self._sender.gateways.get(gateway)  # UnknownProvider
        resolution = await self._recipients.resolve(split_entries(to))
        if resolution.refused:
            raise AlertRecipientsRefused(resolution.refused)
        numbers = resolution.numbers
        if not numbers:
            raise NoRecipients()
        sms = self.template.render(notification, provider.check_text)
        prepared = self._sender.prepare(numbers[0], sms.text, provider.name, international=True)
        started = await self._sender.submit(
            numbers,
            prepared,
            origin,
            idempotency_key=notification_key(notification, numbers, provider.name),
            names=resolution.names(),
            quotas=quotas,
        )
        return AlertResult(
            job=started.job,
            records=started.records,
            recipients=numbers,
            duplicate=started.duplicate,
            text=started.job.text,
            started=started,
        )
