"""Bearer tokens of the HTTP API (RFC 6750): 401 with ``WWW-Authenticate`` for a
missing, unknown or revoked token, 403 for a token without the scope. Reusable by
any route that takes API tokens."""

from __future__ import annotations

from aiohttp import web

from api.problems import Problem
from services.tokens import ApiCaller, TokenRefused, TokenService

REALM = "smsbot"

_REFUSED = {
    "missing": (
        "missing-token",
        "This needs an API token: send “Authorization: Bearer TOKEN” (an admin "
        "creates one with “python -m bot tokens create NAME”).",
    ),
    "unknown": (
        "invalid-token",
        "The API token is not known here: check it, or ask an admin for a new one.",
    ),
    "revoked": (
        "revoked-token",
        "The API token was revoked: ask an admin for a new one.",
    ),
}


def bearer_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer TOKEN``; None without one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authorize(request: web.Request, tokens: TokenService, scope: str) -> ApiCaller:
    """The caller of ``request`` if its token may ``scope``; else raise ``Problem``."""
    action = f"{request.method} {request.path}"
    try:
        caller = await tokens.authenticate(bearer_token(request), action=action)
    except TokenRefused as exc:
        slug, detail = _REFUSED[exc.reason]
        challenge = f'Bearer realm="{REALM}"'
        if exc.reason != "missing":
            challenge += ', error="invalid_token"'
        raise Problem(401, slug, detail, headers={"WWW-Authenticate": challenge}) from None
    if scope not in caller.scopes:
        await tokens.wrong_scope(caller, scope, action)
        raise Problem(
            403,
            "insufficient-scope",
            f"The token “{caller.name}” may not {scope}: its scopes are "
            f"{', '.join(sorted(caller.scopes))}. An admin can create a token with "
            f"“--scope {scope}”.",
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
                )
            },
        )
    return caller
