"""The routes of the HTTP API, version 1 (see ``api.openapi`` for the document).

Bodies that are not JSON, not an object, with unknown fields, a missing field or a
field of the wrong type are refused with 400; well-formed values that cannot be sent
(a number, a name, the text, the gateway, too many recipients) with 422. Nothing is
sent on any error."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from typing import Any

from aiohttp import web

from api.auth import authorize
from api.openapi import openapi_document
from api.problems import Problem, problems_middleware
from services.alerts import AlertRecipientsRefused, AlertService, InvalidAlert
from services.api_calls import (
    ApiJob,
    ApiService,
    IdempotencyConflict,
    MessageRecord,
    RecipientsRefused,
)
from services.balance import BalanceService
from services.domain import InvalidInput, printable_text
from services.gateways import UnknownProvider
from services.limits import LimitExceeded
from services.recipients import Refused, TooManyRecipients, split_entries
from services.sending import Origin
from services.tokens import READ, SEND, TokenService

PREFIX = "/api/v1"
MESSAGE_FIELDS = frozenset({"to", "text", "gateway"})
MAX_KEY_LENGTH = 200
#: SQLite's largest integer: a larger id names nothing
MAX_ID = 2**63 - 1

TOKENS_KEY = web.AppKey("api_tokens", TokenService)
API_KEY = web.AppKey("api_service", ApiService)
BALANCES_KEY = web.AppKey("api_balances", BalanceService)
ALERTS_KEY = web.AppKey("api_alerts", AlertService)


def setup_api(
    app: web.Application,
    *,
    tokens: TokenService,
    api: ApiService,
    balances: BalanceService,
    alerts: AlertService,
) -> None:
    """Add the API's routes and its problem+json middleware to ``app``."""
    app[TOKENS_KEY] = tokens
    app[API_KEY] = api
    app[BALANCES_KEY] = balances
    app[ALERTS_KEY] = alerts
    app.middlewares.append(problems_middleware())
    app.router.add_post(f"{PREFIX}/messages", post_messages)
    app.router.add_get(f"{PREFIX}/messages/{{id}}", get_message)
    app.router.add_get(f"{PREFIX}/jobs/{{id}}", get_job)
    app.router.add_get(f"{PREFIX}/balance", get_balance)
    app.router.add_get(f"{PREFIX}/openapi.json", get_openapi)
    app.router.add_post(f"{PREFIX}/alertmanager", post_alertmanager)


def _bad_request(detail: str) -> Problem:
    detail = detail.rstrip()
    if not detail.endswith((".", "?", "!")):  # a service's reason may end without one
        detail += "."
    return Problem(400, "bad-request", detail + " Nothing was sent.")


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def message_payload(record: MessageRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "job_id": record.job_id,
        "to": record.recipient,
        "name": record.recipient_name,
        "state": str(record.state),
        "gateway": record.provider,
        "gateway_id": record.gateway_id,
        "error": record.error_text,
        "created_at": _time(record.created_at),
        "updated_at": _time(record.updated_at),
    }


def job_payload(found: ApiJob) -> dict[str, Any]:
    states: dict[str, int] = {}
    for record in found.messages:
        states[str(record.state)] = states.get(str(record.state), 0) + 1
    return {
        "id": found.job.id,
        "created_at": _time(found.job.created_at),
        "gateway": found.job.gateway,
        "total": found.job.total,
        "states": states,
        "messages": [message_payload(r) for r in found.messages],
    }


def _entries(to: object) -> list[str]:
    if isinstance(to, str):
        entries = split_entries(to)
    elif isinstance(to, list):
        if not all(isinstance(item, str) for item in to):
            raise _bad_request("“to” is a string or a list of strings.")
        entries = [item.strip() for item in to]
        if any(not item for item in entries):
            position = entries.index("") + 1
            raise Problem(
                422,
                "invalid-recipients",
                f"Entry {position} of “to” is empty: remove it. Nothing was sent.",
            )
    else:
        raise _bad_request("“to” is a string or a list of strings.")
    if not entries:
        raise Problem(422, "invalid-recipients", "“to” names no recipient. Nothing was sent.")
    return entries


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's fields; raise ``_DuplicateKey`` for a field given twice (which of
    two "to" was meant cannot be known: neither is guessed)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()  # 413 past the app's client_max_size
    try:
        body = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        shown = printable_text(exc.key)[:40]
        raise _bad_request(
            f"The field “{shown}” is given more than once: give each field once."
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad_request(f"The body is not JSON ({type(exc).__name__}).") from None
    except RecursionError:  # thousands of [ or {: no request of this API is like that
        raise _bad_request("The body's JSON is nested too deep.") from None
    if not isinstance(body, dict):
        raise _bad_request('The body is a JSON object: {"to": …, "text": …}.')
    return body


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise _bad_request(
            f"Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable characters, not blank."
        )
    return key


async def post_messages(request: web.Request) -> web.Response:
    caller = await authorize(request, request.app[TOKENS_KEY], SEND)
    key = _idempotency_key(request)
    body = await _json_body(request)
    unknown = sorted(set(body) - MESSAGE_FIELDS)
    if unknown:
        raise _bad_request(
            f"Unknown field(s): {', '.join(unknown)[:200]}; the fields are to, text, gateway."
        )
    for name in ("to", "text"):
        if name not in body:
            raise _bad_request(f"“{name}” is missing.")
    text, gateway = body["text"], body.get("gateway")
    if not isinstance(text, str):
        raise _bad_request("“text” is a string.")
    if gateway is not None and not isinstance(gateway, str):
        raise _bad_request("“gateway” is a string (or absent for the default gateway).")
    if gateway is not None and not gateway.strip():
        raise Problem(
            422,
            "unknown-gateway",
            "“gateway” is blank: leave it out for the default gateway. Nothing was sent.",
        )
    entries = _entries(body["to"])
    canonical = json.dumps(
        {"to": entries, "text": text, "gateway": gateway.strip().lower() if gateway else None},
        ensure_ascii=False,
        sort_keys=True,
    )
    request_hash = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    service = request.app[API_KEY]
    try:
        found = await service.send(
            caller, entries, text, gateway, idempotency_key=key, request_hash=request_hash
        )
    except IdempotencyConflict as exc:
        raise Problem(
            409,
            "idempotency-key-reused",
            f"This Idempotency-Key was used for another request (job {exc.job_id}): use "
            "a new key for a new request. Nothing was sent.",
            extra={"job_id": exc.job_id},
        ) from None
    except RecipientsRefused as exc:
        raise _refused(exc.refused) from None
    except LimitExceeded as exc:
        raise _rate_limited(caller.name, exc) from None
    except UnknownProvider as exc:
        raise Problem(422, "unknown-gateway", f"{exc} Nothing was sent.") from None
    except TooManyRecipients as exc:
        raise Problem(422, "too-many-recipients", f"{exc} Nothing was sent.") from None
    except InvalidInput as exc:
        raise Problem(422, "invalid-message", f"{exc} Nothing was sent.") from None
    payload = job_payload(found)
    payload["repeated"] = not found.created
    payload["duplicates"] = [{"entry": e, "same_as": first} for e, first in found.duplicates]
    # 202: recorded and being sent; 200: the first result of a repeated key
    return web.json_response(payload, status=202 if found.created else 200)


def _refused(refused: list[Refused]) -> Problem:
    return Problem(
        422,
        "invalid-recipients",
        f"{len(refused)} recipient(s) cannot be sent to: correct or remove them. Nothing was sent.",
        extra={
            "refused": [{"entry": r.entry, "name": r.name, "reason": str(r.error)} for r in refused]
        },
    )


def _rate_limited(token: str, exc: LimitExceeded) -> Problem:
    seconds = max(1, math.ceil(exc.hit.reset_in.total_seconds()))
    return Problem(
        429,
        "rate-limited",
        f"The token “{token}” may send {exc.hit.limit} SMS per "
        f"{'minute' if exc.hit.window.total_seconds() <= 60 else 'day'}: try again in "
        f"{seconds} s. Nothing was sent.",
        headers={"Retry-After": str(seconds)},
        extra={"retry_after": seconds},
    )


async def post_alertmanager(request: web.Request) -> web.Response:
    """Prometheus Alertmanager's webhook (and Grafana's): one SMS per notification to
    every recipient of ``?to=``; a retried notification sends nothing again (200 with
    the first job). Every refusal is a 4xx, so that Alertmanager does not retry it."""
    caller = await authorize(request, request.app[TOKENS_KEY], SEND)
    for name in ("to", "gateway"):
        if len(request.query.getall(name, [])) > 1:
            # ?to=A&to=B would send to A alone: neither half is guessed
            raise _bad_request(
                f"“{name}” is given more than once in the URL: give it once"
                + (", with the recipients separated by commas." if name == "to" else ".")
            )
    to = request.query.get("to", "")
    if not to.strip():
        raise Problem(
            422,
            "invalid-recipients",
            "The URL names no recipient: add ?to=NUMBERS,NAMES,GROUPS. Nothing was sent.",
        )
    gateway = request.query.get("gateway")
    if gateway is not None and not gateway.strip():
        raise Problem(
            422,
            "unknown-gateway",
            "“gateway” is blank: leave it out for the default gateway. Nothing was sent.",
        )
    tokens = request.app[TOKENS_KEY]
    try:
        result = await request.app[ALERTS_KEY].notify(
            await request.read(),
            to,
            gateway=gateway,
            origin=Origin(source="alertmanager", api_token_id=caller.id),
            quotas=await tokens.quotas(caller),
        )
    except InvalidAlert as exc:
        raise _bad_request(str(exc)) from None
    except AlertRecipientsRefused as exc:
        raise _refused(exc.refused) from None
    except LimitExceeded as exc:
        raise _rate_limited(caller.name, exc) from None
    except UnknownProvider as exc:
        raise Problem(422, "unknown-gateway", f"{exc} Nothing was sent.") from None
    except InvalidInput as exc:  # no recipient, too many, a text the gateway refuses
        raise Problem(422, "invalid-message", f"{exc} Nothing was sent.") from None
    payload = {
        "job_id": result.job.id,
        "repeated": result.duplicate,
        "text": result.text,
        "messages": [message_payload(r) for r in result.records],
    }
    return web.json_response(payload, status=200 if result.duplicate else 202)


def _id(request: web.Request, what: str) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_ID or int(raw) == 0:
        raise Problem(404, "not-found", f"There is no {what} “{raw[:30]}”: ids are numbers.")
    return int(raw)


async def get_message(request: web.Request) -> web.Response:
    caller = await authorize(request, request.app[TOKENS_KEY], READ)
    message_id = _id(request, "message")
    record = await request.app[API_KEY].message(caller, message_id)
    if record is None:
        raise Problem(
            404,
            "not-found",
            f"There is no message {message_id} sent with the token “{caller.name}”.",
        )
    return web.json_response(message_payload(record))


async def get_job(request: web.Request) -> web.Response:
    caller = await authorize(request, request.app[TOKENS_KEY], READ)
    job_id = _id(request, "job")
    found = await request.app[API_KEY].job(caller, job_id)
    if found is None:
        raise Problem(
            404, "not-found", f"There is no job {job_id} sent with the token “{caller.name}”."
        )
    return web.json_response(job_payload(found))


async def get_balance(request: web.Request) -> web.Response:
    await authorize(request, request.app[TOKENS_KEY], READ)
    lines = await request.app[BALANCES_KEY].all()
    balances = []
    for line in lines:
        entry: dict[str, Any] = {"gateway": line.provider, "amount": None, "unit": None}
        if line.balance is not None:
            entry.update(
                amount=str(line.balance.amount),
                unit=line.balance.unit,
                at=_time(line.balance.at),
                source=str(line.balance.source),
            )
        if line.error is not None:
            entry["error"] = (
                f"{line.provider} did not answer with its balance: {line.error.message}"
            )
        elif line.balance is None:
            entry["error"] = f"{line.provider} has no balance request; none is known yet."
        balances.append(entry)
    return web.json_response({"balances": balances})


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
