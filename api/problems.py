"""Errors of the HTTP API as ``application/problem+json`` (RFC 9457): ``type``,
``title``, ``status`` and ``detail`` (a sentence a person can act on), plus fields
of their own where they help (``refused``, ``retry_after``).

Raise ``Problem`` anywhere in a handler; ``problems_middleware`` turns it, and every
other error under its path prefixes (aiohttp's own 404, 405, 413, an unexpected
exception), into such a response. Reusable by any route (the Alertmanager receiver).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

log = logging.getLogger("api")

PROBLEM_JSON = "application/problem+json"
#: ``type`` of the problems this API defines; aiohttp's own are ``about:blank``
TYPE_PREFIX = "urn:smsbot:problem:"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """An answer of an error: nothing was done (``detail`` says what to do)."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def response(self) -> web.Response:
        return problem_response(
            self.status,
            self.title,
            self.detail,
            type_=TYPE_PREFIX + self.slug,
            headers=self.headers,
            extra=self.extra,
        )


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> web.Response:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **(extra or {})}
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


#: What aiohttp's own errors say to a person.
_HTTP_DETAILS = {
    404: "There is no such resource: see /api/v1/openapi.json for the API's paths.",
    405: "This path does not take this method: see /api/v1/openapi.json.",
    413: "The request body is too large.",
}


def problems_middleware(prefixes: tuple[str, ...] = ("/api/",)) -> Any:
    """Every error of a path under ``prefixes`` becomes problem+json; other paths
    (health, metrics, the webhook) keep their own answers."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(prefixes):
            return await handler(request)
        try:
            return await handler(request)
        except Problem as exc:
            return exc.response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            headers = {}
            if exc.status == 405 and "Allow" in exc.headers:
                headers["Allow"] = exc.headers["Allow"]
            detail = _HTTP_DETAILS.get(exc.status) or exc.reason
            return problem_response(exc.status, exc.reason, detail, headers=headers)
        except Exception:
            log.exception("%s %s: unexpected error", request.method, request.path)
            return problem_response(
                500,
                "Internal Server Error",
                "The server failed on this request (the error is in its log). Repeat it "
                "with the same Idempotency-Key: a job already recorded is answered, never "
                "sent again.",
            )

    return middleware
