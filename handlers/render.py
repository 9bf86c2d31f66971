"""Turning typed results and errors into the bot's sentences (ru/en, escaped)."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.texts import Html, Lang, amount_with_unit, esc, state_name, t
from services import errors as e
from services.domain import (
    AmbiguousPhone,
    InvalidCharacters,
    InvalidInput,
    InvalidPhone,
    InvalidText,
    RefusedCountry,
    RefusedNumberType,
    country_name,
    printable_text,
)
from services.gateways import UnknownProvider
from services.kinds import ErrorKind, error_kind, parse_kind
from services.recipients import EmptyGroup, NoRecipients, TooManyRecipients, UnknownRecipient
from services.records import MessageRecord, MessageState
from services.sending import RecordNotWritten, SendOutcome
from services.status import StatusCheck

#: The catalogue's sentence for each kind of gateway error that needs no detail but
#: the gateway's name (the live error and its stored row read the same).
_REASON_KEYS: dict[ErrorKind, str] = {
    ErrorKind.AUTHENTICATION_FAILED: "reason_authentication_failed",
    ErrorKind.INVALID_SIGNATURE: "reason_invalid_signature",
    ErrorKind.INSUFFICIENT_FUNDS: "reason_insufficient_funds",
    ErrorKind.INVALID_RECIPIENT: "reason_invalid_recipient",
    ErrorKind.INVALID_SENDER: "reason_invalid_sender",
    ErrorKind.INVALID_REQUEST: "reason_invalid_request",
    ErrorKind.MESSAGE_NOT_FOUND: "reason_message_not_found",
    ErrorKind.NOT_SENT: "reason_not_sent",
    ErrorKind.OUTCOME_UNKNOWN: "reason_outcome_unknown",
    ErrorKind.INTERNAL: "reason_outcome_unknown",
}


def error_reason(error: e.ProviderError, lang: Lang) -> str:
    """One escaped clause saying what went wrong, with the detail that helps."""
    gateway = error.provider
    if isinstance(error, e.AccessDenied):
        if error.ip:
            return t(lang, "reason_access_denied_ip", gateway=gateway, ip=error.ip)
        return t(lang, "reason_access_denied", gateway=gateway)
    if isinstance(error, e.GatewayInternalError):
        return t(lang, "reason_gateway_internal", gateway=gateway, code=error.code)
    if isinstance(error, RecordNotWritten):
        return t(lang, "record_not_written", gateway=gateway, reason=error.reason)
    if isinstance(error, e.UnsupportedOperation):
        return t(lang, "reason_unsupported", gateway=gateway)
    if isinstance(error, e.ProtocolError):
        head = t(lang, "reason_protocol_error", gateway=gateway)
        return f"{head}: <code>{esc(error.raw)}</code>" if error.raw else head
    key = _REASON_KEYS.get(error_kind(error))
    if key is not None:
        text = t(lang, key, gateway=gateway)
        if isinstance(error, e.OutcomeUnknown) and error.raw:
            text += f" (<code>{esc(error.raw)}</code>)"
        return text
    if isinstance(error, e.GatewayNotConfigured):
        return t(lang, "status_not_configured", gateway=gateway).strip()
    return t(lang, "gateway_error_generic", gateway=gateway, reason=error.message)


def input_error(error: InvalidInput, lang: Lang) -> str:
    return t(lang, "invalid_input", reason=Html(input_reason(error, lang)))


def input_reason(error: InvalidInput, lang: Lang) -> str:
    """What is wrong with an input, as one escaped sentence (no "nothing was sent")."""
    reason = _number_or_gateway_reason(error, lang) or _recipients_reason(error, lang)
    if reason is not None:
        return reason
    if isinstance(error, InvalidPhone):
        if not error.raw.strip():
            return t(lang, "ask_phone")
        return t(lang, "bad_phone", raw=_clip(error.raw))
    if isinstance(error, InvalidText):
        if error.char is not None:
            reason = t(
                lang,
                "text_not_encodable",
                char=error.char,
                gateway=error.provider or "",
                encoding=error.encoding or "",
            )
            return reason
        if error.limit:
            reason = t(lang, "text_too_long", length=error.length, limit=error.limit)
            if error.provider:
                reason += f" ({esc(error.provider)})"
            return reason
        if isinstance(error, InvalidCharacters):
            return t(lang, "text_invalid_unicode")
        if "empty" in error.reason:
            return t(lang, "empty_text")
        if "NUL" in error.reason:
            return t(lang, "text_has_nul")
    return t(lang, "invalid_generic", reason=str(error))


def entry_reason(error: InvalidInput, lang: Lang) -> str:
    """Why one entry of a list was refused, short: the list says which entry."""
    if type(error) is InvalidPhone and error.raw.strip():
        return t(lang, "entry_bad_phone")
    return input_reason(error, lang)


def _recipients_reason(error: InvalidInput, lang: Lang) -> str | None:
    """The refusals of names, groups and lists of recipients."""
    if isinstance(error, UnknownRecipient):
        return t(lang, "unknown_recipient", entry=_clip(error.entry))
    if isinstance(error, EmptyGroup):
        return t(lang, "empty_group", entry=_clip(error.entry))
    if isinstance(error, TooManyRecipients):
        return t(lang, "too_many_recipients", limit=error.limit)
    if isinstance(error, NoRecipients):
        return t(lang, "no_recipients")
    return None


def _number_or_gateway_reason(error: InvalidInput, lang: Lang) -> str | None:
    """The refusals of a number's type, country or reading, and of a gateway name."""
    if isinstance(error, AmbiguousPhone):
        readings = t(lang, "phone_readings_or").join(f"+{n}" for n in error.readings)
        return t(lang, "phone_ambiguous", raw=_clip(error.raw), readings=readings)
    if isinstance(error, RefusedNumberType):
        why = t(lang, "number_why_fraud" if error.fraud else "number_why_other")
        return t(
            lang,
            "number_type_refused",
            number=error.number,
            kind=t(lang, f"number_kind_{error.kind}"),
            why=why,
        )
    if isinstance(error, RefusedCountry):
        no_country = t(lang, "country_global")
        return t(
            lang,
            "country_refused",
            number=error.number,
            country=country_name(error.region, lang, global_name=no_country),
            allowed=", ".join(
                country_name(code, lang, global_name=no_country) for code in error.allowed
            ),
        )
    if isinstance(error, UnknownProvider):
        key = "gateway_not_configured" if error.known else "unknown_gateway"
        return t(lang, key, name=error.name, enabled=", ".join(error.enabled))
    return None


def _clip(text: str, limit: int = 30) -> str:
    flat = " ".join(printable_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def send_outcome(outcome: SendOutcome, lang: Lang) -> str:
    record = outcome.record
    if outcome.duplicate:
        return t(lang, "duplicate", id=record.id, state=state_name(lang, record.state))
    if outcome.error is not None:
        reason = Html(error_reason(outcome.error, lang))
        if record.state == MessageState.UNKNOWN:
            text = t(lang, "unknown_outcome", id=record.id, reason=reason)
        else:
            text = t(lang, "failed", id=record.id, reason=reason)
    else:
        text = sent_text(record, lang, outcome)
    if outcome.unrecorded is not None:
        # What the gateway said stands; only the bot's own record is behind.
        text += t(lang, "result_not_recorded", id=record.id, reason=outcome.unrecorded)
    return text


def recorded_outcome(record: MessageRecord, lang: Lang) -> str:
    """The answer to a send, rebuilt from its record (when the first one was lost)."""
    if record.state == MessageState.UNKNOWN:
        return t(lang, "unknown_outcome", id=record.id, reason=Html(stored_reason(record, lang)))
    if record.state == MessageState.FAILED:
        return t(lang, "failed", id=record.id, reason=Html(stored_reason(record, lang)))
    return sent_text(record, lang)


def sent_text(record: MessageRecord, lang: Lang, outcome: SendOutcome | None = None) -> str:
    balance = ""
    if record.balance_after is not None:
        balance = t(
            lang,
            "balance_line_after",
            amount=amount_with_unit(lang, record.balance_after, record.balance_unit),
        )
    if record.simulated:
        text = t(
            lang,
            "sent_sandbox",
            id=record.id,
            phone=record.recipient,
            gateway_id=record.gateway_id or "",
            balance=Html(balance),
        )
        if record.state.final:
            text += "\n" + state_line(record, lang)
        return text
    failover = ""
    if outcome is not None and outcome.failed_attempts:
        attempt = outcome.failed_attempts[0]
        failover = t(
            lang,
            "failover_note",
            failed=attempt.provider,
            reason=Html(error_reason(attempt.error, lang)),
            gateway=record.provider,
        )
    text = t(
        lang,
        "sent",
        id=record.id,
        gateway=record.provider,
        phone=record.recipient,
        gateway_id=record.gateway_id or "",
        balance=Html(balance),
        failover=Html(failover),
    )
    if record.state.final:
        text += "\n" + state_line(record, lang)
    return text


def status_suffix(record: MessageRecord) -> str:
    """The gateway's own status code and name, e.g. `` (4 DELIVRD)``; "" when none."""
    return f" ({record.status_code} {record.status_name})" if record.status_code else ""


def state_line(record: MessageRecord, lang: Lang) -> str:
    code = status_suffix(record)
    return f"{t(lang, 'state_label')}: {esc(state_name(lang, record.state))}{esc(code)}"


def status_text(check: StatusCheck, lang: Lang) -> str:
    record = check.record
    assert record is not None
    code = status_suffix(record)
    gid = f"\nID: <code>{esc(record.gateway_id)}</code>" if record.gateway_id else ""
    if record.state in (MessageState.FAILED, MessageState.UNKNOWN):
        gid += f"\n{stored_reason(record, lang)}"
    text = t(
        lang,
        "status_line",
        id=record.id,
        phone=record.recipient,
        gateway=record.provider,
        state=state_name(lang, record.state),
        code=code,
        at=fmt_time(record.created_at),
        gid=Html(gid),
    )
    if check.error is not None:
        if isinstance(check.error, e.GatewayNotConfigured):
            text += t(lang, "status_not_configured", gateway=record.provider)
        elif isinstance(check.error, e.UnsupportedOperation):
            text += t(lang, "status_no_request", gateway=record.provider)
        else:
            text += t(lang, "status_check_failed", reason=Html(error_reason(check.error, lang)))
    return text


def stored_reason(record: MessageRecord, lang: Lang) -> str:
    """Why a recorded send failed or is unknown, in the reader's language (the stored
    text is the English one of the moment it happened)."""
    kind = parse_kind(record.error_kind)
    if kind == ErrorKind.INTERRUPTED:
        return t(lang, "interrupted")
    if kind == ErrorKind.NOT_STARTED:
        return t(lang, "not_started")
    if kind == ErrorKind.RECORD_NOT_WRITTEN:
        return t(lang, "record_not_written_stored")
    if kind is not None and kind in _REASON_KEYS and kind != ErrorKind.INTERNAL:
        return t(lang, _REASON_KEYS[kind], gateway=record.provider)
    if kind is not None and kind.refused:
        if record.error_text:
            return t(lang, "refused_with_detail", gateway=record.provider, detail=record.error_text)
        return t(lang, "refused_generic", gateway=record.provider)
    # an internal error, a kind of an older or newer version, or none: what is known
    if record.state == MessageState.UNKNOWN:
        return t(lang, "unknown_generic", gateway=record.provider)
    return t(lang, "send_error_generic", gateway=record.provider, reason=record.error_text or "")


def fmt_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
