"""Prometheus metrics, in a registry of the process's own (built by ``open_core``;
no module-level default registry).

Counted where they happen: the gateway request latency (the shared httpx client's
event hooks) and the Telegram API errors (a session middleware, ``bot.telegram``).
Read from the database at scrape time, so they survive restarts and include the
command line's sends: SMS by gateway and result, rows by delivery state, jobs waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: a send's result by its row's state: accepted by the gateway (and what became of it
#: since), refused or never sent, or not known; queued and sending rows are not results
RESULTS = {
    "sent": "accepted",
    "delivered": "accepted",
    "rejected": "accepted",
    "expired": "accepted",
    "deleted": "accepted",
    "failed": "failed",
    "unknown": "unknown",
}

_STARTED = "smsbot_started"  # the request's extension holding its start time


class _Snapshot(Collector):
    """The figures read from the database by the last ``Metrics.refresh``."""

    def __init__(self) -> None:
        self.counts: list[tuple[str, str, int]] = []
        self.queued_jobs = 0
        self.in_flight = 0

    def collect(self) -> Iterable[Metric]:
        sms = CounterMetricFamily(
            "smsbot_sms",
            "SMS recorded, by gateway and result (accepted, failed, unknown)",
            labels=["gateway", "result"],
        )
        results: dict[tuple[str, str], int] = {}
        states: dict[str, int] = {}
        for gateway, state, rows in self.counts:
            states[state] = states.get(state, 0) + rows
            if state in RESULTS:
                key = (gateway, RESULTS[state])
                results[key] = results.get(key, 0) + rows
        for (gateway, result), rows in sorted(results.items()):
            sms.add_metric([gateway, result], rows)
        yield sms
        delivery = GaugeMetricFamily(
            "smsbot_sms_state",
            "SMS rows by delivery state (queued, sending, sent, delivered, ...)",
            labels=["state"],
        )
        for state, rows in sorted(states.items()):
            delivery.add_metric([state], rows)
        yield delivery
        yield GaugeMetricFamily(
            "smsbot_jobs_queued",
            "Send jobs with at least one SMS waiting for its gateway",
            value=self.queued_jobs,
        )
        yield GaugeMetricFamily(
            "smsbot_sends_in_flight",
            "SMS being sent by this process now (waiting for a slot or at the gateway)",
            value=self.in_flight,
        )


class Metrics:
    def __init__(self, gateway_hosts: Mapping[str, str] | None = None) -> None:
        #: "host:port" -> gateway name, so that latency is labelled by gateway (never
        #: by URL: a URL may carry a credential)
        self.gateway_hosts = dict(gateway_hosts or {})
        self.registry = CollectorRegistry(auto_describe=True)
        self.gateway_latency = Histogram(
            "smsbot_gateway_request_seconds",
            "Time from a gateway request to its answer's headers, by gateway",
            ["gateway"],
            registry=self.registry,
        )
        self.telegram_errors = Counter(
            "smsbot_telegram_api_errors",
            "Telegram Bot API calls that failed, by method and error",
            ["method", "error"],
            registry=self.registry,
        )
        self._snapshot = _Snapshot()
        self.registry.register(self._snapshot)

    def update(self, counts: list[tuple[str, str, int]], queued_jobs: int, in_flight: int) -> None:
        """The figures read at scrape time (before ``generate_latest``)."""
        self._snapshot.counts = counts
        self._snapshot.queued_jobs = queued_jobs
        self._snapshot.in_flight = in_flight

    def gateway_of(self, url: httpx.URL) -> str:
        origin = _origin(url.scheme, url.host, url.port)
        return self.gateway_hosts.get(origin, url.host or "unknown")

    def event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """httpx event hooks timing every request of the shared client."""

        async def started(request: httpx.Request) -> None:
            request.extensions[_STARTED] = time.perf_counter()

        async def answered(response: httpx.Response) -> None:
            began = response.request.extensions.get(_STARTED)
            if isinstance(began, float):
                self.gateway_latency.labels(self.gateway_of(response.request.url)).observe(
                    time.perf_counter() - began
                )

        return {"request": [started], "response": [answered]}


def _origin(scheme: str, host: str | None, port: int | None) -> str:
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{host}:{port if port is not None else default}"


def gateway_hosts(urls: Mapping[str, str]) -> dict[str, str]:
    """gateway name -> URL, turned into "host:port" -> gateway name (the first wins)."""
    hosts: dict[str, str] = {}
    for name, url in urls.items():
        parts = urlsplit(url)
        try:
            origin = _origin(parts.scheme, parts.hostname, parts.port)
        except ValueError:
            continue
        if parts.hostname and origin not in hosts:
            hosts[origin] = name
    return hosts
