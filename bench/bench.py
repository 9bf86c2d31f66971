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
  20 slots, against the ideal and against sending one by one.

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
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
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


# ---------------------------------------------------------------------------- main

SECTIONS = ("cli", "startup", "send-roundtrip", "pipeline", "slow-gateway")


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


if __name__ == "__main__":
    main()
