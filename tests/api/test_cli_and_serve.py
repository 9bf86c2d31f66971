"""``python -m bot tokens ...`` and the start of ``python -m bot serve`` (its
refusals), as real subprocesses; the OpenAPI document against the app's routes."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import cast

import pytest
from aiohttp import web

from api.openapi import openapi_document
from api.routes import setup_api
from bot.exit_codes import EXIT_CONFIG, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from services.alerts import AlertService
from services.api_calls import ApiService
from services.balance import BalanceService
from services.tokens import TokenService, hash_token
from storage.db import Database
from tests.core.test_cli import run


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_PATH": str(tmp_path / "cli.sqlite3"),
    }


async def test_tokens_create_prints_the_token_once_and_stores_only_its_hash(
    env: dict[str, str],
) -> None:
    created = await run("tokens", "create", "grafana", "--scope", "read", "--json", env=env)
    assert created.code == EXIT_OK, created.err
    payload = created.json()
    token = payload["token"]
    assert token.startswith("smsbot_") and len(token) > 40
    assert payload["name"] == "grafana" and payload["scopes"] == ["read"]
    async with Database(Path(env["DATABASE_PATH"])) as db:
        rows = await db.fetchall("SELECT * FROM api_tokens")
        audit = await db.fetchall("SELECT detail FROM audit")
    assert [r["token_hash"] for r in rows] == [hash_token(token)]
    assert all(token not in str(tuple(r)) for r in rows)
    assert any("grafana" in a["detail"] for a in audit)

    human = await run("tokens", "create", "ci", env=env)
    assert human.code == EXIT_OK, human.err
    assert "smsbot_" in human.out and "only this once" in human.out

    listed = await run("tokens", "list", env=env)
    assert listed.code == EXIT_OK
    assert "grafana" in listed.out and "ci" in listed.out
    assert token not in listed.out and "smsbot_" not in listed.out
    as_json = (await run("tokens", "list", "--json", env=env)).json()
    assert [t["name"] for t in as_json["tokens"]] == ["ci", "grafana"]
    assert "token" not in as_json["tokens"][0]


async def test_tokens_create_refuses_a_bad_name_scope_or_a_taken_name(
    env: dict[str, str],
) -> None:
    assert (await run("tokens", "create", "ok-name", env=env)).code == EXIT_OK
    for args in (
        ("tokens", "create", "two words"),
        ("tokens", "create", "-"),
        ("tokens", "create", "x" * 65),
        ("tokens", "create", "имя"),
        ("tokens", "create", "fine", "--scope", "admin"),
        ("tokens", "create", "fine", "--scope", ","),
        ("tokens", "create", "OK-NAME"),
    ):
        refused = await run(*args, env=env)
        assert refused.code == EXIT_USAGE, (args, refused.out, refused.err)
        assert "No token was created" in refused.err
        assert "smsbot_" not in refused.out + refused.err
    names = (await run("tokens", "list", "--json", env=env)).json()["tokens"]
    assert [t["name"] for t in names] == ["ok-name"]


async def test_tokens_revoke(env: dict[str, str]) -> None:
    assert (await run("tokens", "create", "old", env=env)).code == EXIT_OK
    revoked = await run("tokens", "revoke", "OLD", env=env)
    assert revoked.code == EXIT_OK, revoked.err
    assert "revoked" in revoked.out
    listed = (await run("tokens", "list", "--json", env=env)).json()["tokens"]
    assert listed[0]["revoked_at"] is not None
    missing = await run("tokens", "revoke", "nobody", env=env)
    assert missing.code == EXIT_NOT_FOUND
    assert "nothing was changed" in missing.err


async def test_serve_without_http_port_says_to_set_it(env: dict[str, str]) -> None:
    result = await run("serve", env=env)
    assert result.code == EXIT_CONFIG
    assert "HTTP_PORT" in result.err and "set it" in result.err
    assert "Traceback" not in result.err


async def test_serve_on_a_port_in_use_says_so(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await run("serve", env={**env, "HTTP_PORT": str(port)})
    assert result.code == EXIT_CONFIG
    assert f"127.0.0.1:{port}" in result.err and "HTTP_PORT" in result.err
    assert "Traceback" not in result.err


async def test_serve_with_an_unusable_database_says_so(env: dict[str, str]) -> None:
    result = await run("serve", env={**env, "HTTP_PORT": "1", "DATABASE_PATH": "/proc/no.db"})
    assert result.code == EXIT_CONFIG
    assert "DATABASE_PATH" in result.err and "Traceback" not in result.err


async def test_serve_needs_no_bot_token_and_imports_no_aiogram(env: dict[str, str]) -> None:
    modules = await run(
        "import bot.server, bot.cli_tokens, api.routes, sys; print('aiogram' in sys.modules)",
        env=env,
        python_flags=("-c",),
    )
    assert modules.code == 0, modules.err
    assert modules.out.strip() == "False"


def test_the_openapi_document_covers_every_route() -> None:
    app = web.Application()
    setup_api(
        app,
        tokens=cast(TokenService, None),
        api=cast(ApiService, None),
        balances=cast(BalanceService, None),
        alerts=cast(AlertService, None),
    )
    paths = openapi_document()["paths"]
    routes = [r for r in app.router.routes() if r.method != "HEAD"]
    assert routes
    for route in routes:
        path = route.resource.canonical if route.resource is not None else ""
        assert path in paths, path
        assert route.method.lower() in paths[path], (route.method, path)
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["responses"], (method, path)


def test_an_api_token_is_masked_in_logs_and_tracebacks() -> None:
    import logging

    from bot.logging_setup import RedactingFilter
    from services.tokens import PREFIX

    token = PREFIX + "A1b2_C3d4-E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"
    redactor = RedactingFilter([])  # no configured secret: the shape is enough
    try:
        raise ValueError(f"bad header Bearer {token}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "api", logging.ERROR, __file__, 1, "got %s", (token,), sys.exc_info()
        )
    assert redactor.filter(record)
    assert token not in record.getMessage() and "smsbot_***" in record.getMessage()
    assert record.exc_text is not None and token not in record.exc_text
