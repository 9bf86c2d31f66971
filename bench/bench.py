"""Benchmarks that print figures (no assertions): run ``uv run python -m bench.bench``.

* start-up of the command line vs. importing the bot (aiogram), time and peak memory;
* sends through the service layer against the fake gateway on 127.0.0.1: throughput
  and latency, sequential and concurrent, and what each send costs in SQLite writes.

Machines here are noisy: compare the ratios printed in one run, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], env: dict[str, str]) -> float:
    """Wall time of a child process."""
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=False, capture_output=True)  # noqa: S603
    return time.perf_counter() - start


def startup(repeats: int) -> None:
    tmp = tempfile.mkdtemp()
    env = {**os.environ, "DATABASE_PATH": f"{tmp}/bench.sqlite3"}
    py = sys.executable
    cases = {
        "python -c pass": [py, "-c", "pass"],
        "cli: python -m bot --help": [py, "-m", "bot", "--help"],
        "cli: python -m bot send (sandbox)": [py, "-m", "bot", "send", "79123456789", "bench"],
        "bot: import bot.app (aiogram)": [py, "-c", "import bot.app"],
    }
    print(f"start-up, best of {repeats} (wall seconds)")
    results: dict[str, float] = {}
    for name, args in cases.items():
        times = [_run(args, env) for _ in range(repeats)]
        results[name] = min(times)
        print(f"  {name:40s} {min(times):7.3f} s   (median {statistics.median(times):.3f})")
    cli = results["cli: python -m bot send (sandbox)"]
    bot = results["bot: import bot.app (aiogram)"]
    print(f"  ratio: a command-line send takes {cli / bot:.2f}x the time of importing the bot")
    for label, args in (
        ("cli send", cases["cli: python -m bot send (sandbox)"]),
        ("import bot.app", cases["bot: import bot.app (aiogram)"]),
    ):
        rss = _peak_rss(args, env)
        print(f"  peak memory, {label:16s} {rss / 1024:7.1f} MiB")


def _peak_rss(args: list[str], env: dict[str, str]) -> int:
    """Peak RSS (KiB) of one child, measured in a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", wrapper, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return int(out.stdout.strip() or 0)


async def sends(count: int, concurrency: int) -> None:
    from bot.core import open_core
    from bot.settings import load_settings
    from services.sending import Origin
    from tests.fakes.gateways import FakeGateways

    tmp = tempfile.mkdtemp()
    async with FakeGateways(smska_balance=10**9) as fake:
        settings = load_settings(
            _env_file=None,
            smska_url=fake.smska_url,
            smska_api_key="test",
            smska_api_password=SecretStr("test-password"),
            smska_sender="Bench",
            database_path=Path(tmp) / "bench.sqlite3",
        )
        async with open_core(settings) as core:
            prepared = core.sender.prepare("79123456789", "benchmark message")
            origin = Origin(source="cli")

            async def one() -> float:
                start = time.perf_counter()
                outcome = await core.sender.send(prepared, origin)
                assert outcome.error is None, outcome.error
                return time.perf_counter() - start

            await one()  # warm the connection
            for level in sorted({1, concurrency}):
                latencies: list[float] = []
                start = time.perf_counter()
                semaphore = asyncio.Semaphore(level)

                async def limited(gate: asyncio.Semaphore, into: list[float]) -> None:
                    async with gate:
                        into.append(await one())

                await asyncio.gather(*(limited(semaphore, latencies) for _ in range(count)))
                wall = time.perf_counter() - start
                latencies.sort()
                p95 = latencies[int(len(latencies) * 0.95) - 1]
                print(
                    f"  {count} sends, concurrency {level:3d}: {count / wall:8.1f} sends/s, "
                    f"p50 {statistics.median(latencies) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms"
                )
            gateway_requests = len(fake.requests_for("smska"))
            rows = await core.db.fetchone("SELECT COUNT(*) AS n FROM messages")
            events = await core.db.fetchone("SELECT COUNT(*) AS n FROM message_events")
            assert rows is not None
            assert events is not None
            print(
                f"  gateway requests {gateway_requests}, message rows {rows['n']}, "
                f"events {events['n']} ({events['n'] / rows['n']:.1f} per send: "
                "queued, sending, result)"
            )


async def slow_gateway(count: int, concurrency: int, latency: float) -> None:
    """A healthy gateway with latency: ``count`` sends at once through ``concurrency``
    slots; the ideal is ``count / concurrency * latency``."""
    from bot.core import open_core
    from bot.settings import load_settings
    from services.sending import Origin
    from tests.fakes.gateways import FakeGateways

    tmp = tempfile.mkdtemp()
    async with FakeGateways(smska_balance=10**9, latency=latency) as fake:
        settings = load_settings(
            _env_file=None,
            smska_url=fake.smska_url,
            smska_api_key="test",
            smska_api_password=SecretStr("test-password"),
            smska_sender="Bench",
            smska_concurrency=concurrency,
            http_connect_timeout=latency / 2,  # shorter than the latency, on purpose
            database_path=Path(tmp) / "bench.sqlite3",
        )
        async with open_core(settings) as core:
            prepared = core.sender.prepare("79123456789", "benchmark message")
            start = time.perf_counter()
            outcomes = await asyncio.gather(
                *(core.sender.send(prepared, Origin(source="cli")) for _ in range(count))
            )
            wall = time.perf_counter() - start
            sent = sum(o.error is None for o in outcomes)
            ideal = count / concurrency * latency
            print(
                f"  {count} sends at once, latency {latency * 1000:.0f} ms, {concurrency} slots: "
                f"{wall:.2f} s (ideal {ideal:.2f} s, {wall / ideal:.2f}x), {sent} sent, "
                f"{count - sent} not"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    startup(args.repeats)
    print("sends through SendService -> fake smska on 127.0.0.1 (SQLite synchronous=FULL)")
    asyncio.run(sends(args.sends, args.concurrency))
    print("a slow gateway: sends queue for a slot, none fails")
    asyncio.run(slow_gateway(args.sends, args.concurrency, 0.1))


if __name__ == "__main__":
    main()
