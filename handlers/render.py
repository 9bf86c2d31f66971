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
from services.records import INTERRUPTED, NOT_STARTED, MessageRecord, MessageState
from services.sending import RecordNotWritten, SendOutcome
from services.status import StatusCheck

_REASONS: dict[type[e.ProviderError], dict[Lang, str]] = {
    e.AuthenticationFailed: {
        "ru": "шлюз {gateway} не принял логин или ключ — проверьте настройки",
        "en": "{gateway} rejected the credentials — check the settings",
    },
    e.InvalidSignature: {
        "ru": "шлюз {gateway} не принял подпись запроса — проверьте ключ проекта",
        "en": "{gateway} rejected the request signature — check the project key",
    },
    e.InsufficientFunds: {
        "ru": "на счёте {gateway} закончились деньги или SMS",
        "en": "the {gateway} account has no money or SMS left",
    },
    e.InvalidRecipient: {
        "ru": "шлюз {gateway} считает номер получателя неверным или недоступным",
        "en": "{gateway} says the recipient number is invalid or unreachable",
    },
    e.InvalidSender: {
        "ru": "шлюз {gateway} не принял имя отправителя",
        "en": "{gateway} rejected the sender name",
    },
    e.InvalidRequest: {
        "ru": "шлюз {gateway} счёл запрос неполным или неверным",
        "en": "{gateway} says the request is invalid or incomplete",
    },
    e.MessageNotFound: {
        "ru": "шлюз {gateway} не знает такого сообщения",
        "en": "{gateway} does not know that message",
    },
    e.NotSent: {
        "ru": "не удалось подключиться к шлюзу {gateway}",
        "en": "could not connect to {gateway}",
    },
    e.OutcomeUnknown: {
        "ru": "шлюз {gateway} не ответил вовремя или ответ потерялся",
        "en": "{gateway} did not answer in time, or the answer was lost",
    },
}


def error_reason(error: e.ProviderError, lang: Lang) -> str:
    """One escaped clause saying what went wrong, with the detail that helps."""
    gateway = esc(error.provider)
    if isinstance(error, e.AccessDenied):
        if error.ip:
            return (
                f"шлюз {gateway} не пускает IP-адрес <code>{esc(error.ip)}</code> — добавьте его в настройках проекта"
                if lang == "ru"
                else f"{gateway} does not allow the IP address <code>{esc(error.ip)}</code> — add it in the project settings"
            )
        return (
            f"шлюз {gateway} отказал в доступе: проект или аккаунт не подходит"
            if lang == "ru"
            else f"{gateway} denied access: the project or account is not allowed"
        )
    if isinstance(error, e.GatewayInternalError):
        return (
            f"внутренняя ошибка шлюза {gateway} (код {esc(error.code)})"
            if lang == "ru"
            else f"internal error of {gateway} (code {esc(error.code)})"
        )
    if isinstance(error, RecordNotWritten):
        return t(lang, "record_not_written", gateway=error.provider, reason=error.reason)
    if isinstance(error, e.UnsupportedOperation):
        return (
            f"шлюз {gateway} не поддерживает такой запрос"
            if lang == "ru"
            else f"{gateway} offers no such request"
        )
    if isinstance(error, e.ProtocolError):
        head = (
            f"непонятный ответ шлюза {gateway}"
            if lang == "ru"
            else f"{gateway} gave an answer I cannot read"
        )
        return f"{head}: <code>{esc(error.raw)}</code>" if error.raw else head
    for cls, texts in _REASONS.items():
        if isinstance(error, cls):
            text = texts[lang].format(gateway=gateway)
            raw = getattr(error, "raw", None)
            if isinstance(error, e.OutcomeUnknown) and raw:
                text += f" (<code>{esc(raw)}</code>)"
            return text
    if isinstance(error, e.GatewayNotConfigured):
        return t(lang, "status_not_configured", gateway=error.provider).strip()
    return t(lang, "gateway_error_generic", gateway=error.provider, reason=error.message)


def input_error(error: InvalidInput, lang: Lang) -> str:
    reason = _number_or_gateway_reason(error, lang)
    if reason is not None:
        return t(lang, "invalid_input", reason=Html(reason))
    if isinstance(error, InvalidPhone):
        if not error.raw.strip():
            return t(lang, "invalid_input", reason=Html(t(lang, "ask_phone")))
        return t(lang, "invalid_input", reason=Html(t(lang, "bad_phone", raw=_clip(error.raw))))
    if isinstance(error, InvalidText):
        if error.char is not None:
            reason = t(
                lang,
                "text_not_encodable",
                char=error.char,
                gateway=error.provider or "",
                encoding=error.encoding or "",
            )
            return t(lang, "invalid_input", reason=Html(reason))
        if error.limit:
            reason = t(lang, "text_too_long", length=error.length, limit=error.limit)
            if error.provider:
                reason += f" ({esc(error.provider)})"
            return t(lang, "invalid_input", reason=Html(reason))
        if isinstance(error, InvalidCharacters):
            return t(lang, "invalid_input", reason=Html(t(lang, "text_invalid_unicode")))
        if "empty" in error.reason:
            return t(lang, "invalid_input", reason=Html(t(lang, "empty_text")))
        if "NUL" in error.reason:
            return t(lang, "invalid_input", reason=Html(t(lang, "text_has_nul")))
    return t(lang, "invalid_input", reason=Html(t(lang, "invalid_generic", reason=str(error))))


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
        return t(
            lang,
            "country_refused",
            number=error.number,
            country=country_name(error.region, lang),
            allowed=", ".join(country_name(code, lang) for code in error.allowed),
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
    label = "Состояние" if lang == "ru" else "State"
    return f"{label}: {esc(state_name(lang, record.state))}{esc(code)}"


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
    kind = record.error_kind or ""
    if kind == INTERRUPTED:
        return t(lang, "interrupted")
    if kind == NOT_STARTED:
        return t(lang, "not_started")
    if kind == RecordNotWritten.__name__:
        return t(lang, "record_not_written_stored")
    cls = getattr(e, kind, None)
    if isinstance(cls, type) and issubclass(cls, e.ProviderError):
        for known, texts in _REASONS.items():
            if issubclass(cls, known):
                return texts[lang].format(gateway=esc(record.provider))
        if issubclass(cls, e.GatewayRefused):
            reason = t(lang, "refused_generic", gateway=record.provider)
            return reason + (
                f": {esc(record.error_text)}" if lang == "en" and record.error_text else ""
            )
    if record.state == MessageState.UNKNOWN:
        return t(lang, "unknown_generic", gateway=record.provider)
    return t(lang, "send_error_generic", gateway=record.provider, reason=record.error_text or "")


def fmt_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
