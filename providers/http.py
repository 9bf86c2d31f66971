"""HTTP transport shared by the adapters: maps httpx failures onto the error tree.

The split that matters: a failure to connect means the request never left
(``NotSent``); anything after the request may have been written means the gateway
may have acted on it (``OutcomeUnknown``). A send is never retried; an idempotent
request (balance, status) is retried on connection failures only.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from providers.errors import NotSent, OutcomeUnknown

log = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# The request never reached the gateway.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    text: str


def create_http_client(
    *,
    connect_timeout: float = 5.0,
    read_timeout: float = 20.0,
    max_connections: int = 20,
    event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
) -> httpx.AsyncClient:
    """The one client the whole process shares. No transport-level retries: the
    adapters decide what may be retried.

    ``max_connections`` must cover every send that may be in flight at once (the send
    service queues in front of each gateway with that many slots), so that a send
    never waits for a connection: a pool time-out would read as "could not connect".
    ``event_hooks``: httpx's, e.g. the metrics' latency timer.
    """
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "smsbot/0.1"},
        event_hooks=dict(event_hooks or {}),
    )


def request_deadline(client: httpx.AsyncClient) -> float:
    """The longest one request may take, start to end: the connect time-out plus the
    read time-out. httpx's read time-out bounds each read, not the answer, so a
    gateway trickling a byte a second would otherwise hold a send open for ever."""
    timeout = client.timeout
    return (timeout.connect or 0.0) + (timeout.read or 0.0)


def _describe(exc: httpx.HTTPError) -> str:
    # httpx exception texts carry no request body; the URL holds no credential
    # either, but it is left out: a person needs the kind of failure, not the URL.
    return type(exc).__name__


async def post_form(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    provider: str,
    idempotent: bool,
    attempts: int = 3,
    backoff: float = 0.5,
    secrets: Sequence[str] = (),
) -> HttpAnswer:
    """POST an already form-encoded body and return the answer decoded as text.

    ``idempotent=False`` (a send): exactly one attempt, and any failure after the
    connection was made is ``OutcomeUnknown``.
    """
    tries = attempts if idempotent else 1
    deadline = request_deadline(client)
    for attempt in range(1, tries + 1):
        try:
            async with asyncio.timeout(deadline):
                response = await client.post(
                    url, content=body, headers={"Content-Type": FORM_CONTENT_TYPE}
                )
        except TimeoutError as exc:
            # Past the connect time-out, so the request was made: the answer is late.
            raise OutcomeUnknown(
                provider, f"the gateway did not answer within {deadline:g} s"
            ) from exc
        except _NOT_SENT as exc:
            if attempt < tries:
                log.info("%s: could not connect (%s), retrying", provider, _describe(exc))
                await asyncio.sleep(backoff * attempt)
                continue
            raise NotSent(provider, f"could not connect to the gateway ({_describe(exc)})") from exc
        except httpx.TimeoutException as exc:
            raise OutcomeUnknown(
                provider, f"the gateway did not answer in time ({_describe(exc)})"
            ) from exc
        except httpx.HTTPError as exc:
            raise OutcomeUnknown(
                provider, f"the connection failed after the request was sent ({_describe(exc)})"
            ) from exc
        return HttpAnswer(status=response.status_code, text=scrub(decode_body(response), secrets))
    raise AssertionError("unreachable")  # pragma: no cover


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every way a secret may appear in a URL, a form, an HTML/XML or a JSON answer
    (PHP's json_encode writes "/" as "\\/" and non-ASCII as \\uXXXX), longest first
    so that a secret holding another one is masked whole."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        as_json = [json.dumps(secret, ensure_ascii=a)[1:-1] for a in (True, False)]
        forms |= {
            secret,
            quote(secret, safe=""),
            quote_plus(secret),
            html.escape(secret),
            html.escape(secret, quote=False),
            *as_json,
            *(form.replace("/", "\\/") for form in as_json),
        }
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Mask credentials that a gateway echoes back (raw answers reach error texts)."""
    for form in secret_forms(secrets):
        text = text.replace(form, "***")
    return text


def decode_body(response: httpx.Response) -> str:
    """Decode tolerantly: declared charset, else UTF-8, else cp1251; strip a BOM."""
    raw = response.content
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    charset = response.charset_encoding
    for encoding in (charset, "utf-8", "cp1251"):
        if not encoding:
            continue
        try:
            return raw.decode(encoding).lstrip("\ufeff")
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("utf-8", errors="replace")
