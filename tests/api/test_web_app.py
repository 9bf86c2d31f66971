"""The API inside the bot's own web app (``bot.web.create_web_app``), in process:
the same routes as ``serve``, and problem+json only under /api/ (health, metrics and
the webhook of the same app keep their own answers)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.core import open_core
from bot.web import create_web_app
from tests.core.conftest import gateway_settings
from tests.fakes.gateways import FakeGateways


async def test_the_bots_web_app_serves_the_api_and_leaves_other_paths_alone(
    fake_gateways: FakeGateways, tmp_path: Path
) -> None:
    settings = gateway_settings(fake_gateways, tmp_path / "db.sqlite3", default_provider="smska")
    async with open_core(settings) as core:
        app = create_web_app(core)

        async def health(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app.router.add_get("/healthz", health)
        created = await core.tokens.create("bot-app", created_by=None)
        async with TestClient(TestServer(app)) as client:
            sent = await client.post(
                "/api/v1/messages",
                json={"to": "79123456789", "text": "from the bot's app"},
                headers={"Authorization": f"Bearer {created.token}"},
            )
            assert sent.status == 202, await sent.text()
            job = await sent.json()
            started = await core.store.messages.of_job(job["id"])
            assert [r.recipient for r in started] == ["79123456789"]
            await core.sender.drain(10)

            assert (await client.get("/healthz")).status == 200
            other = await client.get("/not-api")
            assert other.status == 404
            assert other.content_type == "text/plain"
            api_404 = await client.get("/api/v1/nowhere")
            assert api_404.content_type == "application/problem+json"
    assert [s.text for s in fake_gateways.sent.values()] == ["from the bot's app"]


async def test_an_unexpected_error_is_a_problem_without_its_details() -> None:
    from api.problems import problems_middleware

    app = web.Application(middlewares=[problems_middleware()])

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("internal detail smsbot_secretsecretsecret")

    app.router.add_get("/api/v1/broken", broken)
    async with TestClient(TestServer(app)) as client:
        answer = await client.get("/api/v1/broken")
        assert answer.status == 500
        assert answer.content_type == "application/problem+json"
        body = await answer.json()
        assert body["status"] == 500 and "Idempotency-Key" in body["detail"]
        assert "internal detail" not in await answer.text()
