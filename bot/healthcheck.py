"""``python -m bot healthcheck``: the Docker HEALTHCHECK. Asks the running process's
``GET /health`` on ``HTTP_HOST:HTTP_PORT`` (loopback when it listens on every
address) and exits 0 when it answers 200, 1 otherwise, printing what is wrong.

Without ``HTTP_PORT`` there is no server to ask: it exits 0 and says so, so an image
run without the HTTP server is not marked unhealthy for it (its health then is only
"the process runs", which Docker sees anyway). Standard library only: it runs every
30 s, and must be cheap and not import aiogram.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from bot.exit_codes import EXIT_CONFIG
from bot.settings import ConfigError, load_settings

#: the whole check's bound (Docker's own timeout is longer)
TIMEOUT_SECONDS = 5.0

#: an address to listen on, as the address to connect to
_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def health_url(host: str, port: int) -> str:
    host = _ANY.get(host, host)
    return f"http://[{host}]:{port}/health" if ":" in host else f"http://{host}:{port}/health"


def run_healthcheck() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    if settings.http_port is None:
        print("healthy: HTTP_PORT is not set, so there is no /health to ask")
        return 0
    url = health_url(settings.http_host, settings.http_port)
    # The server is this container's own: never through HTTP_PROXY (urlopen's default)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_SECONDS) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"unhealthy: {url} did not answer ({reason})", file=sys.stderr)
        return 1
    if status == 200:
        print("healthy")
        return 0
    try:
        problems = json.loads(body).get("problems") or []
    except (ValueError, AttributeError):
        problems = []
    detail = "; ".join(str(p) for p in problems) or f"HTTP {status}"
    print(f"unhealthy: {detail}", file=sys.stderr)
    return 1
