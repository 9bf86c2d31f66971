"""Benchmarks that print figures (no assertions): run ``uv run python -m bench.bench``.

Sections (``--only a,b`` runs some of them; all by default):

* ``cli``: a cold command-line send (a new process, bytecode compiled) against a bare
  ``python -c "import pydantic_settings, httpx, phonenumbers, aiosqlite, asyncio"``;
  importing the bot (aiogram), and the peak memory of both;
* ``startup``: ``python -m bot`` against a fake Bot API, from process start to its first
  ``getUpdates``, and its memory once idle, against a bare aiogram echo bot script;
* ``send-roundtrip``: a ``/send`` through the real bot (dispatcher, services, SQLite,
  a zero-latency gateway) against a bare aiogram echo handler, both polling the same
  kind of fake Bot API in this process: from queueing the update to the bot's
  ``sendMessage`` arriving at the fake, median over sequential messages;
* ``pipeline``: sends through ``SendService`` against the fake smska at zero latency,
  sequential and concurrent, and what each send costs in SQLite writes;
* ``slow-gateway``: 1,000 sends at once against a gateway answering in 100 ms, through
  20 slots, against the ideal and against sending one by one;
* ``bulk-bot``: a .txt file of 1,000 numbers with a caption sent to the real bot (as in
  ``send-roundtrip``), sent at once (``SEND_CONFIRMATION=false``,
  ``BULK_CONFIRM_OVER`` = the count), the fake gateways in a child process answering in
  100 ms, 20 slots: from the document to the summary edit against the ideal, and how
  many times the job's progress message was edited;
* ``api``: ``python -m bot serve`` (a child process) taking ``POST /api/v1/messages``
  from 20 concurrent clients, the fake gateways at 0 ms in a child process: requests
  a second, p50/p95, against the same sends through the command line's core
  (``open_core``, ``SendService.send``) in this process.

Every line with a target prints the target and the ratio measured in this run. Everything
runs on 127.0.0.1; child processes run under time-outs and are always killed. Machines
here are noisy: compare the ratios printed in one run, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

    from bot.standin import FakeBotApi, SentMessage

ROOT = Path(__file__).resolve().parents[1]
#: Longest wait for a child process (start-up, a command-line send) before it is killed.
CHILD_TIMEOUT = 60.0
PHONE = "79123456789"
#: A memory-backed folder (fsync costs nothing there) for a what-if of the round trip.
TMPFS = "/dev/shm"  # noqa: S108
ADMIN = 111

BARE_IMPORTS = "import pydantic_settings, httpx, phonenumbers, aiosqlite, asyncio"
#: A bare aiogram bot: one echo handler, the session pointed at TELEGRAM_API_URL.
ECHO_BOT = """\
import asyncio, os
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()


@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "-")


async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    await dp.start_polling(bot)


asyncio.run(main())
"""


def _child_env(**values: str) -> dict[str, str]:
    """The environment of a child process: none of the project's settings from this
    environment, and a working folder without a ``.env`` (``_child_cwd``), so that a
    developer's real token or gateway credentials can never be used by a benchmark."""
    from bot.settings import Settings

    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **values}


def _forget_settings() -> list[str]:
    """Drop the project's settings from this process's environment (the in-process
    benchmarks pass ``_env_file=None`` and their own values; a ``DEFAULT_PROVIDER`` or
    gateway credentials left in the environment must not reach a real gateway)."""
    from bot.settings import Settings

    names = {name.upper() for name in Settings.model_fields}
    removed = sorted(key for key in os.environ if key.upper() in names)
    for key in removed:
        del os.environ[key]
    return removed


def _child_cwd() -> str:
    return tempfile.mkdtemp(prefix="bench-cwd-")


def _verdict(ratio: float, target: float) -> str:
    return "met" if ratio <= target else "NOT met"


# ---------------------------------------------------------------------------- cli


def _run(args: list[str], env: dict[str, str], cwd: str) -> float:
    """Wall time of a child process (killed after ``CHILD_TIMEOUT``)."""
    start = time.perf_counter()
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(  # noqa: S603
            args, cwd=cwd, env=env, check=False, capture_output=True, timeout=CHILD_TIMEOUT
        )
    return time.perf_counter() - start


def cli(repeats: int) -> None:
    cwd = _child_cwd()
    env = _child_env(DATABASE_PATH=f"{cwd}/bench.sqlite3")
    py = sys.executable
    cases = {
        "python -c pass": [py, "-c", "pass"],
        "bare: python -c 'import pydantic_settings, ...'": [py, "-c", BARE_IMPORTS],
        "cli: python -m bot --help": [py, "-m", "bot", "--help"],
        "cli: python -m bot send (sandbox)": [py, "-m", "bot", "send", PHONE, "bench"],
        "bot: import bot.app (aiogram)": [py, "-c", "import bot.app"],
    }
    print(f"command line, a new process each time, best of {repeats} (wall seconds)")
    results: dict[str, float] = {}
    for name, args in cases.items():
        times = [_run(args, env, cwd) for _ in range(repeats)]
        results[name] = min(times)
        print(f"  {name:48s} {min(times):7.3f} s   (median {statistics.median(times):.3f})")
    send = results["cli: python -m bot send (sandbox)"]
    bare = results["bare: python -c 'import pydantic_settings, ...'"]
    ratio = send / bare
    print(
        f"  a cold command-line send takes {ratio:.2f}x the bare imports "
        f"(target at most 1.30x: {_verdict(ratio, 1.3)})"
    )
    bot = results["bot: import bot.app (aiogram)"]
    print(f"  a command-line send takes {send / bot:.2f}x the time of importing the bot")
    for label, args in (
        ("cli send", cases["cli: python -m bot send (sandbox)"]),
        ("bare imports", cases["bare: python -c 'import pydantic_settings, ...'"]),
        ("import bot.app", cases["bot: import bot.app (aiogram)"]),
    ):
        rss = _peak_rss(args, env, cwd)
        print(f"  peak memory, {label:16s} {rss / 1024:7.1f} MiB")


def _peak_rss(args: list[str], env: dict[str, str], cwd: str) -> int:
    """Peak RSS (KiB) of one child, measured in a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys; "
        f"subprocess.run(sys.argv[1:], capture_output=True, timeout={CHILD_TIMEOUT}); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    try:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", wrapper, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=CHILD_TIMEOUT + 5,
        )
    except subprocess.TimeoutExpired:
        return 0
    return int(out.stdout.strip() or 0)


# ---------------------------------------------------------------------------- startup


def _rss_kib(pid: int) -> int:
    """Current resident memory of a process (KiB), from /proc (Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _stop_child(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM, a few seconds to stop, then SIGKILL; always reaped."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def _start_to_polling(args: list[str], extra_env: dict[str, str]) -> tuple[float, int] | None:
    """Seconds from spawning ``args`` to its first ``getUpdates`` at a fresh fake Bot API,
    and its RSS (KiB) after one more second of idling; None when it exited or did not
    poll within ``CHILD_TIMEOUT``. The child is always stopped."""
    from bot.standin import FakeBotApi

    async with FakeBotApi() as api:
        env = _child_env(**extra_env, BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url)
        started = time.time()
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=_child_cwd(),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            polled = asyncio.ensure_future(api.wait_for_call("getUpdates", timeout=CHILD_TIMEOUT))
            exited = asyncio.ensure_future(proc.wait())
            await asyncio.wait({polled, exited}, return_when=asyncio.FIRST_COMPLETED)
            exited.cancel()
            if not polled.done():
                polled.cancel()
                return None
            try:
                call = polled.result()
            except AssertionError:  # did not poll in time
                return None
            seconds = call.at - started
            await asyncio.sleep(1.0)
            return seconds, _rss_kib(proc.pid)
        finally:
            await _stop_child(proc)


async def startup(repeats: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    echo = tmp / "echo_bot.py"
    echo.write_text(ECHO_BOT)
    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        "bare aiogram echo bot": ([sys.executable, str(echo)], {}),
        "python -m bot (sandbox)": (
            [sys.executable, "-m", "bot"],
            {"ADMIN_IDS": str(ADMIN), "DATABASE_PATH": str(tmp / "bot.sqlite3")},
        ),
    }
    print(f"bot start-up: process start to the first getUpdates, best of {repeats}")
    best: dict[str, tuple[float, int]] = {}
    for name, (args, env) in cases.items():
        tried = [await _start_to_polling(args, env) for _ in range(repeats)]
        runs = [run for run in tried if run is not None]
        if not runs:
            print(f"  {name:28s} did not reach polling within {CHILD_TIMEOUT:.0f} s")
            return
        seconds = min(s for s, _ in runs)
        rss = min(r for _, r in runs)
        best[name] = (seconds, rss)
        print(
            f"  {name:28s} {seconds:7.3f} s (median {statistics.median(s for s, _ in runs):.3f})"
            f", idle RSS {rss / 1024:6.1f} MiB"
        )
    bot_s, bot_rss = best["python -m bot (sandbox)"]
    bare_s, bare_rss = best["bare aiogram echo bot"]
    print(
        f"  start-up {bot_s / bare_s:.2f}x the bare bot (target at most 1.20x: "
        f"{_verdict(bot_s / bare_s, 1.2)}); idle memory {bot_rss / bare_rss:.2f}x "
        f"(target at most 1.20x: {_verdict(bot_rss / bare_rss, 1.2)})"
    )


# ---------------------------------------------------------------------------- send round trip


async def _poll(bot: Bot, dp: Dispatcher) -> asyncio.Task[None]:
    return asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=10, close_bot_session=False)
    )


async def _stop_polling(dp: Dispatcher, polling: asyncio.Task[None]) -> None:
    if not polling.done():
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
    await asyncio.wait_for(polling, timeout=10)


async def _round_trips(
    api: FakeBotApi, count: int, text: Callable[[int], str], check: Callable[[str], bool]
) -> list[float]:
    """Seconds from queueing each update to the bot's first new message in that chat
    (the fake's ``on_message`` hook, called when ``sendMessage`` arrives)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    for i in range(count):
        arrived: asyncio.Future[tuple[float, SentMessage]] = loop.create_future()

        def hook(message: SentMessage, into: asyncio.Future[tuple[float, SentMessage]]) -> None:
            if not into.done() and not message.edits:
                into.set_result((time.perf_counter(), message))

        api.on_message = functools.partial(hook, into=arrived)
        start = time.perf_counter()
        api.send_text(ADMIN, text(i), language_code="en")
        at, message = await asyncio.wait_for(arrived, timeout=10)
        if not check(message.text):
            msg = f"unexpected answer: {message.text!r}"
            raise RuntimeError(msg)
        latencies.append(at - start)
    api.on_message = None
    return latencies


async def _echo_round_trip(count: int) -> list[float]:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    from bot.standin import FakeBotApi

    async with FakeBotApi() as api:
        dp = Dispatcher()

        @dp.message()
        async def echo(message: Message) -> None:
            await message.answer(message.text or "-")

        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot(api.token, session=session)
        polling = await _poll(bot, dp)
        try:
            await api.wait_for_call("getUpdates", timeout=10)
            await _round_trips(api, 10, lambda i: f"warm {i}", lambda _: True)
            return await _round_trips(
                api, count, lambda i: f"echo {i}", lambda text: text.startswith("echo")
            )
        finally:
            await _stop_polling(dp, polling)
            await session.close()


async def _bot_round_trip(
    count: int, gateway: str, db_dir: str | None = None, statements: list[str] | None = None
) -> list[float]:
    """The real bot as tests/bot/conftest.py builds it; ``gateway`` is ``sandbox`` or
    ``smska`` (the fake smska on 127.0.0.1 at zero latency, in this process); the
    database in a new folder under ``db_dir`` (default: the system's temporary folder).
    ``statements`` collects the SQL the measured sends ran."""
    with tempfile.TemporaryDirectory(dir=db_dir, ignore_cleanup_errors=True) as folder:
        return await _bot_round_trip_in(count, gateway, Path(folder), statements)


async def _bot_round_trip_in(
    count: int, gateway: str, tmp: Path, statements: list[str] | None
) -> list[float]:
    from bot.app import register_lifecycle
    from bot.core import open_core
    from bot.factory import create_dispatcher
    from bot.settings import load_settings
    from bot.standin import FakeBotApi
    from bot.telegram import TelegramNotifier, build_bot
    from services.status import DeliveryTracker
    from tests.fakes.gateways import FakeGateways

    async with FakeBotApi() as api, FakeGateways(smska_balance=10**9) as fake:
        values: dict[str, Any] = {
            "_env_file": None,
            "bot_token": api.token,
            "telegram_api_url": api.base_url,
            "admin_ids": [ADMIN],
            "send_confirmation": False,
            "sends_per_minute": 10**6,
            "sends_per_day": 10**6,
            "status_poll_first_seconds": 600.0,  # tracking out of the way, as in the tests
            "database_path": tmp / "bench.sqlite3",
        }
        if gateway == "smska":
            values |= {
                "smska_url": fake.smska_url,
                "smska_api_key": fake.smska_api_key,
                "smska_api_password": SecretStr(fake.smska_api_password),
                "smska_sender": "Bench",
            }
        settings = load_settings(**values)
        async with open_core(settings) as core:
            bot = build_bot(api.token, api.base_url)
            notifier = TelegramNotifier(bot, core.store.messages)
            tracker = DeliveryTracker(core.status, core.store.messages, notifier)
            dp = create_dispatcher(core, tracker)
            register_lifecycle(dp, core, bot, tracker, notifier)
            polling = await _poll(bot, dp)
            try:
                await api.wait_for_call("getUpdates", timeout=10)

                def sent(text: str) -> bool:
                    return "#" in text

                await _round_trips(api, 10, lambda i: f"/send {PHONE} warm {i}", sent)
                if statements is not None:
                    await core.db.conn.set_trace_callback(statements.append)
                try:
                    return await _round_trips(
                        api, count, lambda i: f"/send {PHONE} bench {i}", sent
                    )
                finally:
                    await core.db.conn.set_trace_callback(None)  # type: ignore[arg-type]
            finally:
                await _stop_polling(dp, polling)
                await bot.session.close()


@contextlib.contextmanager
def _responses_held() -> Iterator[None]:
    """A what-if: aiogram parses every answer with ``Response[method.__returning__]``, a
    pydantic generic model that pydantic caches only weakly; once the garbage collector has
    freed it, the next call builds it again (milliseconds of schema building). Holding one
    strong reference per Bot API method's return type keeps the cached models alive."""
    from aiogram import methods
    from aiogram.methods.base import Response

    called = (  # the Bot API methods both bots here call
        methods.GetMe,
        methods.GetUpdates,
        methods.SendMessage,
        methods.EditMessageText,
        methods.EditMessageReplyMarkup,
        methods.AnswerCallbackQuery,
        methods.DeleteMessage,
        methods.SetMyCommands,
        methods.DeleteWebhook,
    )
    held: dict[Any, type[Any]] = {}
    for method in called:
        returning = method.__returning__
        if returning not in held:
            held[returning] = Response[returning]  # type: ignore[valid-type]
    try:
        yield
    finally:
        held.clear()


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[int(len(values) * 0.9) - 1]
    return f"median {statistics.median(values) * 1000:6.2f} ms, p90 {p90 * 1000:6.2f} ms"


def _fsync_ms(folder: str | None = None, count: int = 30) -> float:
    """Median time of one fsync of a 4 KiB write in ``folder``: what each durable SQLite
    commit waits for (``synchronous=FULL``)."""
    fd, path = tempfile.mkstemp(dir=folder)
    times: list[float] = []
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            start = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(times) * 1000


def _compare(label: str, values: list[float], echo_median: float, db_dir: str | None) -> None:
    ratio = statistics.median(values) / echo_median
    print(
        f"  {label:32s} {_ms(values)}: {ratio:.2f}x the echo "
        f"(target at most 2.00x: {_verdict(ratio, 2.0)}); fsync just after "
        f"{_fsync_ms(db_dir):.2f} ms"
    )


async def send_round_trip(count: int, tmpfs: str | None) -> None:
    print(
        f"/send round trip (SEND_CONFIRMATION=false), {count} sequential messages each, "
        "update queued -> sendMessage at the fake Bot API"
    )
    print(f"  fsync in the database's folder now: median {_fsync_ms():.2f} ms")
    echo = await _echo_round_trip(count)
    print(f"  {'bare aiogram echo handler':32s} {_ms(echo)}")
    echo_median = statistics.median(echo)
    statements: list[str] = []
    smska = await _bot_round_trip(count, "smska", statements=statements)
    _compare("/send, fake smska (0 ms)", smska, echo_median, None)
    _compare("/send, sandbox", await _bot_round_trip(count, "sandbox"), echo_median, None)
    commits = sum(sql.strip().upper() == "COMMIT" for sql in statements)
    print(
        f"  per /send (with the tracker's polls while they ran): {len(statements) / count:.1f} "
        "SQL statements run in aiosqlite's thread (each a hand-over there and back), "
        f"{commits / count:.1f} commits (each an fsync)"
    )
    print(
        "  what-ifs, not what the bot does today: aiogram's Response[...] models held "
        "(see _responses_held), then also the database on tmpfs (fsync free)"
    )
    with _responses_held():
        echo = await _echo_round_trip(count)
        print(f"  {'bare aiogram echo handler, held':32s} {_ms(echo)}")
        echo_median = statistics.median(echo)
        smska = await _bot_round_trip(count, "smska")
        _compare("/send, fake smska, held", smska, echo_median, None)
        if tmpfs is not None:
            fsync_free = await _bot_round_trip(count, "smska", db_dir=tmpfs)
            _compare("/send, fake smska, held, tmpfs", fsync_free, echo_median, tmpfs)


# ---------------------------------------------------------------------------- pipeline


async def sends(count: int, concurrency: int) -> None:
    from bot.core import open_core
    from bot.settings import load_settings
    from services.sending import Origin
    from tests.fakes.gateways import FakeGateways

    print("sends through SendService -> fake smska on 127.0.0.1 (SQLite synchronous=FULL)")
    print(f"  fsync in the database's folder now: median {_fsync_ms():.2f} ms")
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
            prepared = core.sender.prepare(PHONE, "benchmark message")
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
                target = ""
                if level == concurrency:
                    rate = count / wall
                    target = f"  (target at least 600: {rate / 600:.2f}x the target, " + (
                        "met)" if rate >= 600 else "NOT met)"
                    )
                print(
                    f"  {count} sends, concurrency {level:3d}: {count / wall:8.1f} sends/s, "
                    f"p50 {statistics.median(latencies) * 1000:6.1f} ms, "
                    f"p95 {p95 * 1000:6.1f} ms{target}"
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


async def slow_gateway(count: int, concurrency: int, latency: float, sequential: int) -> None:
    """A healthy gateway with latency: ``count`` sends at once through ``concurrency``
    slots; the ideal is ``count / concurrency * latency``. One-by-one sending is
    estimated from ``sequential`` sends in a row."""
    from bot.core import open_core
    from bot.settings import load_settings
    from services.sending import Origin
    from tests.fakes.gateways import FakeGateways

    print(f"a slow gateway ({latency * 1000:.0f} ms a request): sends queue for a slot")
    print(f"  fsync in the database's folder now: median {_fsync_ms():.2f} ms")
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
            prepared = core.sender.prepare(PHONE, "benchmark message")

            def send() -> Awaitable[Any]:
                return core.sender.send(prepared, Origin(source="cli"))

            await send()  # warm the connection
            start = time.perf_counter()
            for _ in range(sequential):
                await send()
            one_by_one = (time.perf_counter() - start) / sequential * count
            start = time.perf_counter()
            outcomes = await asyncio.gather(*(send() for _ in range(count)))
            wall = time.perf_counter() - start
            sent = sum(o.error is None for o in outcomes)
            ideal = count / concurrency * latency
            print(
                f"  {count} sends at once, {concurrency} slots: {wall:.2f} s, {sent} sent, "
                f"{count - sent} not; ideal {ideal:.2f} s: {wall / ideal:.2f}x "
                f"(target at most 1.10x: {_verdict(wall / ideal, 1.1)})"
            )
            print(
                f"  one by one, estimated from {sequential} sends in a row: {one_by_one:.1f} s "
                f"for {count}; at once is {one_by_one / wall:.1f}x faster"
            )


# ---------------------------------------------------------------------------- child processes

#: The fake gateways (tests/fakes/gateways.py) in a process of their own, so that their
#: aiohttp server does not share the measured process's event loop and CPU time: prints
#: the fake smska's URL, serves until SIGTERM. Credentials are the fake's defaults.
GATEWAY_CHILD = """\
import asyncio, signal, sys
from tests.fakes.gateways import FakeGateways


async def main() -> None:
    fake = FakeGateways(latency=float(sys.argv[1]), smska_balance=10**9)
    await fake.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(fake.smska_url, flush=True)
    await stop.wait()
    await fake.stop()


asyncio.run(main())
"""
SMSKA_KEY = "test"
SMSKA_PASSWORD = "test-password"  # noqa: S105 (the fake's own)


class Child:
    """A child process the benchmark started: its pid and, for a gateway, its URL."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str) -> None:
        self.proc = proc
        self.url = url

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far (Linux /proc)."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def _gateway_process(latency: float) -> AsyncIterator[Child]:
    """The fake gateways in a child process (see ``GATEWAY_CHILD``); always stopped."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        GATEWAY_CHILD,
        str(latency),
        cwd=_child_cwd(),
        env=_child_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=CHILD_TIMEOUT)
        url = line.decode().strip()
        if not url.startswith("http://127.0.0.1:"):
            msg = f"the fake gateways did not start (exit code {proc.returncode})"
            raise RuntimeError(msg)
        yield Child(proc, url)
    finally:
        await _stop_child(proc)


def _cpu_now() -> float:
    """CPU seconds this process has used (all its threads: aiosqlite's included)."""
    return time.process_time()


def _p(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` in milliseconds (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))] * 1000


def _numbers(count: int, first: int = 1) -> list[str]:
    """``count`` distinct Russian mobile numbers."""
    return [f"7912{index:07d}" for index in range(first, first + count)]


# ---------------------------------------------------------------------------- bulk through the bot


async def bulk_bot(count: int, concurrency: int, latency: float) -> None:
    """A .txt file of ``count`` numbers with a caption, sent to the real bot (dispatcher,
    handlers, services, SQLite) polling the Telegram stand-in in this process; the fake
    gateways in a child process answer each request in ``latency`` seconds. With
    SEND_CONFIRMATION=false and BULK_CONFIRM_OVER=``count`` the file is sent at once (no
    preview to tap). Measured: from queueing the document to the summary edit."""
    from bot.app import register_lifecycle
    from bot.core import open_core
    from bot.factory import create_dispatcher
    from bot.settings import load_settings
    from bot.standin import FakeBotApi
    from bot.telegram import TelegramNotifier, build_bot
    from services.status import DeliveryTracker

    ideal = count / concurrency * latency
    print(
        f"a bulk job through the bot: a .txt of {count} numbers with a caption, gateway "
        f"latency {latency * 1000:.0f} ms in its own process, {concurrency} slots"
    )
    print(f"  fsync in the database's folder now: median {_fsync_ms():.2f} ms")
    warm = 2 * concurrency
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        async with _gateway_process(latency) as gateway, FakeBotApi() as api:
            settings = load_settings(
                _env_file=None,
                bot_token=api.token,
                telegram_api_url=api.base_url,
                admin_ids=[ADMIN],
                send_confirmation=False,
                bulk_confirm_over=count,  # the file is sent at once, no preview
                max_recipients=max(count, warm),
                sends_per_minute=10**6,  # admins have limits too (services/limits.py)
                sends_per_day=10**6,
                status_poll_first_seconds=600.0,  # tracking out of the way
                smska_url=gateway.url,
                smska_api_key=SMSKA_KEY,
                smska_api_password=SecretStr(SMSKA_PASSWORD),
                smska_sender="Bench",
                smska_concurrency=concurrency,
                database_path=Path(folder) / "bench.sqlite3",
            )
            async with open_core(settings) as core:
                bot = build_bot(api.token, api.base_url)
                notifier = TelegramNotifier(bot, core.store.messages)
                tracker = DeliveryTracker(core.status, core.store.messages, notifier)
                dp = create_dispatcher(core, tracker)
                register_lifecycle(dp, core, bot, tracker, notifier)
                polling = await _poll(bot, dp)
                try:
                    await api.wait_for_call("getUpdates", timeout=10)
                    await _bulk_file(api, _numbers(warm, first=count + 1), limit=60)
                    cpu = _cpu_now(), gateway.cpu_seconds()
                    run = await _bulk_file(api, _numbers(count), limit=max(60.0, 20 * ideal))
                    cpu_bot, cpu_gateway = _cpu_now() - cpu[0], gateway.cpu_seconds() - cpu[1]
                    sent = await core.db.fetchone(
                        "SELECT COUNT(*) AS n FROM messages WHERE state = 'sent'"
                    )
                finally:
                    await _stop_polling(dp, polling)
                    await bot.session.close()
    assert sent is not None
    wall, first_reply, edits, progress_edits = run
    print(
        f"  document -> summary edit: {wall:.2f} s for {count} ({count / wall:.0f} sends/s); "
        f"ideal {ideal:.2f} s: {wall / ideal:.2f}x (target at most 1.10x: "
        f"{_verdict(wall / ideal, 1.1)}); {sent['n'] - warm} of {count} recorded sent"
    )
    print(
        f"  first reply after {first_reply * 1000:.0f} ms; the job's message edited "
        f"{edits} times: {progress_edits} progress edits (PROGRESS_EDIT_SECONDS="
        f"{settings.progress_edit_seconds:g}), the first and the summary"
    )
    print(
        f"  CPU during the run: this process (bot, stand-in, SQLite thread) {cpu_bot:.2f} s "
        f"({cpu_bot / wall:.0%} of one core), the gateway process {cpu_gateway:.2f} s"
    )


async def _bulk_file(
    api: FakeBotApi, numbers: list[str], limit: float
) -> tuple[float, float, int, int]:
    """Sends the file, waits for the summary; returns its wall time, the time to the
    bot's first reply, the edits of the job's message and how many were progress ones."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[SentMessage] = loop.create_future()
    replies: list[float] = []

    def hook(message: SentMessage) -> None:
        replies.append(time.perf_counter())
        if "is done" in message.text and not done.done():
            done.set_result(message)

    content = "\n".join(numbers).encode()
    api.on_message = hook
    start = time.perf_counter()
    try:
        api.send_document(ADMIN, "numbers.txt", content, caption="bench bulk", language_code="en")
        summary = await asyncio.wait_for(done, timeout=limit)
    finally:
        api.on_message = None
    wall = time.perf_counter() - start
    edits = [
        call
        for call in api.calls_of("editMessageText")
        if str(call.params.get("message_id")) == str(summary.message_id)
    ]
    progress = sum("is done" not in str(call.params.get("text")) for call in edits) - 1
    return wall, replies[0] - start, len(edits), max(progress, 0)


# ---------------------------------------------------------------------------- the HTTP API


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _make_token(db_path: Path) -> str:
    """A send token in the server's database, as ``python -m bot tokens create`` makes it."""
    from services.limits import Limits
    from services.tokens import DEFAULT_SCOPES, TokenService
    from storage.audit import AuditLog
    from storage.db import Database
    from storage.tokens import TokenRepository

    async with Database(db_path) as db:
        service = TokenService(TokenRepository(db), AuditLog(db), Limits(0, 0))
        return (await service.create("bench", DEFAULT_SCOPES, created_by=None)).token


async def _wait_settled(db_path: Path, limit: float) -> int:
    """Waits (at most ``limit`` seconds) until no message of the database is ``queued`` or
    ``sending``; returns how many still are."""
    from storage.db import Database

    left = -1
    async with Database(db_path) as db:
        for _ in range(int(limit / 0.01)):
            row = await db.fetchone(
                "SELECT COUNT(*) AS n FROM messages WHERE state IN ('queued', 'sending')"
            )
            left = int(row["n"]) if row is not None else 0
            if not left:
                return 0
            await asyncio.sleep(0.01)
    return left


async def _serve_process(
    gateway: Child, db_path: Path, concurrency: int, profile: str | None = None
) -> Child:
    """``python -m bot serve`` against the gateway child, with no API limits (under
    cProfile writing to ``profile`` when given); returns once it answers
    ``/api/v1/openapi.json``. The caller stops it (``_stop_child``)."""
    import httpx

    port = _free_port()
    env = _child_env(
        SMSKA_URL=gateway.url,
        SMSKA_API_KEY=SMSKA_KEY,
        SMSKA_API_PASSWORD=SMSKA_PASSWORD,
        SMSKA_SENDER="Bench",
        SMSKA_CONCURRENCY=str(concurrency),
        DEFAULT_PROVIDER="smska",
        DATABASE_PATH=str(db_path),
        HTTP_PORT=str(port),
        STATUS_POLL_FIRST_SECONDS="600",
        API_SENDS_PER_MINUTE="0",
        API_SENDS_PER_DAY="0",
        LOG_LEVEL="WARNING",
    )
    profiler = ["-m", "cProfile", "-o", profile] if profile else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *profiler,
        "-m",
        "bot",
        "serve",
        cwd=_child_cwd(),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    child = Child(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + CHILD_TIMEOUT
    try:
        async with httpx.AsyncClient() as client:
            while True:
                if proc.returncode is not None or time.monotonic() > deadline:
                    msg = f"python -m bot serve did not start (exit code {proc.returncode})"
                    raise RuntimeError(msg)
                with contextlib.suppress(httpx.TransportError):
                    answer = await client.get(f"{child.url}/api/v1/openapi.json")
                    if answer.status_code == 200:
                        return child
                await asyncio.sleep(0.1)
    except BaseException:
        await _stop_child(proc)
        raise


async def _load(
    count: int, concurrency: int, one: Callable[[int, int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """``count`` calls of ``one(worker, index)`` by ``concurrency`` workers, each taking
    the next index when its call returns; the wall time and each call's latency."""
    latencies: list[float] = []
    indexes = iter(range(count))

    async def worker(number: int) -> None:
        for index in indexes:
            began = time.perf_counter()
            await one(number, index)
            latencies.append(time.perf_counter() - began)

    start = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return time.perf_counter() - start, latencies


def _rate_line(label: str, count: int, wall: float, latencies: list[float]) -> str:
    return (
        f"  {label:34s} {count / wall:7.1f}/s ({count} in {wall:.2f} s), "
        f"p50 {_p(latencies, 0.5):6.1f} ms, p95 {_p(latencies, 0.95):6.1f} ms"
    )


async def api(count: int, concurrency: int, profile: str | None = None) -> None:
    """``count`` POST /api/v1/messages (one recipient each) from ``concurrency`` clients
    (an httpx client each, in this process) to ``python -m bot serve``; then the same
    sends through the command line's core in this process (``open_core``,
    ``SendService.send``), both against the fake gateways at zero latency in a process
    of their own. ``profile``: a file for serve's cProfile statistics."""
    import httpx

    from bot.core import open_core
    from bot.settings import load_settings
    from services.sending import Origin
    from storage.db import Database

    began = time.perf_counter()
    warm = 2 * concurrency
    print(
        f"the HTTP API: {count} POST /api/v1/messages from {concurrency} clients to "
        "python -m bot serve, gateway at 0 ms in its own process"
    )
    print(f"  fsync in the database's folder now: median {_fsync_ms():.2f} ms")
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    db_path = folder / "serve.sqlite3"
    async with _gateway_process(0.0) as gateway:
        async with Database(db_path):  # the schema, before the token
            pass
        token = await _make_token(db_path)
        serve = await _serve_process(gateway, db_path, concurrency, profile)
        try:
            clients = [
                httpx.AsyncClient(
                    base_url=serve.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
                )
                for _ in range(concurrency)
            ]
            failures: list[str] = []

            async def post(worker: int, index: int) -> None:
                answer = await clients[worker].post(
                    "/api/v1/messages", json={"to": f"+{numbers[index]}", "text": "bench"}
                )
                if answer.status_code != 202:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")

            try:
                numbers = _numbers(warm, first=count + 1)
                await _load(warm, concurrency, post)
                await _wait_settled(db_path, CHILD_TIMEOUT)
                numbers = _numbers(count)
                cpu = _cpu_now(), serve.cpu_seconds(), gateway.cpu_seconds()
                run_start = time.perf_counter()
                wall, latencies = await _load(count, concurrency, post)
                cpu_clients, cpu_serve, cpu_gateway = (
                    _cpu_now() - cpu[0],
                    serve.cpu_seconds() - cpu[1],
                    gateway.cpu_seconds() - cpu[2],
                )
                left = await _wait_settled(db_path, CHILD_TIMEOUT)
                settled = time.perf_counter() - run_start
            finally:
                await asyncio.gather(*(client.aclose() for client in clients))
        finally:
            await _stop_child(serve.proc)
        print(_rate_line("API, 202 answers", count, wall, latencies))
        if failures:
            print(f"  {len(failures)} requests not accepted, the first: {failures[0]}")
        print(
            f"  all {count} recorded sent {settled:.2f} s after the first request "
            f"({count / settled:.1f}/s end to end){f'; {left} still unsettled' if left else ''}"
        )
        print(
            f"  CPU during the requests: serve {cpu_serve:.2f} s ({cpu_serve / wall:.0%} of one "
            f"core), the 20 clients (this process) {cpu_clients:.2f} s, the gateway "
            f"{cpu_gateway:.2f} s"
        )

        settings = load_settings(
            _env_file=None,
            smska_url=gateway.url,
            smska_api_key=SMSKA_KEY,
            smska_api_password=SecretStr(SMSKA_PASSWORD),
            smska_sender="Bench",
            smska_concurrency=concurrency,
            status_poll_first_seconds=600.0,
            database_path=folder / "core.sqlite3",
        )
        async with open_core(settings) as core:
            origin = Origin(source="cli")
            refused: list[str] = []

            async def send(_worker: int, index: int) -> None:
                prepared = core.sender.prepare(numbers[index], "bench", "smska")
                outcome = await core.sender.send(prepared, origin)
                if outcome.error is not None:
                    refused.append(str(outcome.error))

            numbers = _numbers(warm, first=count + 1)
            await _load(warm, concurrency, send)
            numbers = _numbers(count)
            cpu_core = _cpu_now()
            core_wall, core_latencies = await _load(count, concurrency, send)
            cpu_core = _cpu_now() - cpu_core
    print(_rate_line("core, SendService.send", count, core_wall, core_latencies))
    if refused:
        print(f"  {len(refused)} core sends not sent, the first: {refused[0]}")
    print(
        f"  CPU during the core's sends: this process {cpu_core:.2f} s "
        f"({cpu_core / core_wall:.0%} of one core)"
    )
    core_rate = count / core_wall
    print(
        f"  API rate / core rate: {count / wall / core_rate:.2f} (202 answers), "
        f"{count / settled / core_rate:.2f} (end to end, all sent)"
    )
    print(f"  this section's wall time: {time.perf_counter() - began:.1f} s")


# ---------------------------------------------------------------------------- main

SECTIONS = ("cli", "startup", "send-roundtrip", "pipeline", "slow-gateway", "bulk-bot", "api")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run, of: {', '.join(SECTIONS)} (default: all)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each child process")
    parser.add_argument("--sends", type=int, default=200, help="sends in the pipeline section")
    parser.add_argument("--messages", type=int, default=200, help="/send round trips")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--slow-sends", type=int, default=1000)
    parser.add_argument("--sequential", type=int, default=50, help="one-by-one sample size")
    parser.add_argument("--bulk-recipients", type=int, default=1000, help="numbers in the file")
    parser.add_argument(
        "--api-requests", type=int, default=1000, help="API requests (and core sends)"
    )
    parser.add_argument(
        "--profile-serve",
        metavar="FILE",
        help="api: run serve under cProfile, its statistics to FILE",
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if removed := _forget_settings():
        print(f"(the project's settings in this environment are not used: {', '.join(removed)})")
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), sections: {', '.join(chosen)}"
    )
    for name in SECTIONS:
        if name not in chosen:
            continue
        if name == "cli":
            cli(args.repeats)
        elif name == "startup":
            asyncio.run(startup(args.repeats))
        elif name == "send-roundtrip":
            tmpfs = TMPFS if Path(TMPFS).is_dir() else None
            asyncio.run(send_round_trip(args.messages, tmpfs))
        elif name == "pipeline":
            asyncio.run(sends(args.sends, args.concurrency))
        elif name == "slow-gateway":
            asyncio.run(slow_gateway(args.slow_sends, args.concurrency, 0.1, args.sequential))
        elif name == "bulk-bot":
            asyncio.run(bulk_bot(args.bulk_recipients, args.concurrency, 0.1))
        elif name == "api":
            profile = str(Path(args.profile_serve).resolve()) if args.profile_serve else None
            asyncio.run(api(args.api_requests, args.concurrency, profile))


if __name__ == "__main__":
    main()
