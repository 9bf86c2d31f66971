"""A process that submits send jobs and waits for them: the victim of the crash tests
(``tests/e2e/test_job_crash.py`` kills it with SIGKILL at chosen moments).

Run as ``python -m tests.e2e.job_runner --user 7 --chat 7 79123456701 79123456702 ...``
with the settings in the environment (``DATABASE_PATH``, ``SMSKA_URL`` ...). It opens
the real core (``bot.core.open_core``), submits one job per ``--jobs`` (the recipients
split evenly between them) as source ``telegram``, and writes one line per event to
stdout, flushed at once, so that the test can act between two of them:

- ``recorded <job id> <message id>,...`` once a job's rows are on disk (``queued``);
- ``at <step> <message id>`` when a send reaches ``--stop-at`` (see below);
- ``done <state>,...`` when every send has its outcome; the process then exits 0.

``--stop-at mark_sending`` or ``--stop-at mark_sent`` is a gate for the test: the first
send that reaches that step of the dispatcher (the row about to be marked ``sending``
before its request; the gateway's answer in hand, about to be recorded) announces it
and then waits for ever, as a process that dies right there would have done. Nothing
of the product is changed: the repository's method is wrapped on this instance only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core import open_core
from bot.settings import Settings
from services.sending import Origin

STEPS = ("none", "mark_sending", "mark_sent")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def gate(core_messages: object, step: str) -> None:
    """Replace ``core_messages.<step>`` so that the first call announces itself and
    never returns (later calls wait behind it the same way)."""
    original: Callable[..., Awaitable[Any]] = getattr(core_messages, step)
    never = asyncio.Event()

    async def stopped(message_id: int, *args: Any, **kwargs: Any) -> Any:
        say(f"at {step} {message_id}")
        await never.wait()
        return await original(message_id, *args, **kwargs)

    setattr(core_messages, step, stopped)


async def run(args: argparse.Namespace) -> int:
    settings = Settings(_env_file=None)
    origin = Origin(source="telegram", user_id=args.user, chat_id=args.chat, lang="en")
    async with open_core(settings) as core:
        if args.stop_at != "none":
            gate(core.store.messages, args.stop_at)
        size = -(-len(args.recipients) // args.jobs)
        groups = [args.recipients[i : i + size] for i in range(0, len(args.recipients), size)]
        jobs = []
        for group in groups:
            prepared = core.sender.prepare(group[0], args.text, args.gateway)
            started = await core.sender.submit(group, prepared, origin)
            ids = ",".join(str(r.id) for r in started.records)
            say(f"recorded {started.job.id} {ids}")
            jobs.append(started)
        states: list[str] = []
        for started in jobs:
            states.extend(str(o.state) for o in await started.outcomes())
        say(f"done {','.join(states)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.job_runner")
    parser.add_argument("recipients", nargs="+")
    parser.add_argument("--user", type=int, required=True)
    parser.add_argument("--chat", type=int, required=True)
    parser.add_argument("--text", default="crash test")
    parser.add_argument("--gateway", default="smska")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--stop-at", choices=STEPS, default="none")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
