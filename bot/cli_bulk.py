"""``python -m bot send`` to many: a list of numbers, names and groups, or a file of
them (``--to-file``), sent as one job.

Every entry is checked before anything is recorded: an entry that is not a valid
recipient refuses the whole send (exit 2, each bad entry listed with where it was),
unless ``--skip-invalid``; repeats are sent once and said. The job's rows are written
in one transaction, then sent with each gateway's bounded concurrency; a progress bar
goes to standard error only when it is a terminal. SIGINT/SIGTERM: what is in flight
finishes and is recorded, what is left stays ``queued`` (nothing of it sent) and the
command says how to send or drop it (``python -m bot job resume|cancel N``).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli import WRITE_RETRY_SECONDS, Output, _error_payload, _printable, describe_error
from bot.exit_codes import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    exit_code_for_record,
)
from handlers.texts_cli import say
from services.domain import InvalidInput, preview_text, printable_text
from services.recipients import Resolution, TooManyRecipients, looks_like_number, split_entries
from storage.models import MessageRecord, MessageState

if TYPE_CHECKING:
    from bot.core import Core
    from bot.settings import Settings
    from services.sending import JobStarted, SendOutcome

#: the progress bar is redrawn at most this often (seconds)
PROGRESS_INTERVAL = 0.25
PROGRESS_WIDTH = 30


@dataclass(frozen=True, slots=True)
class Entry:
    where: str  # "line 3" (a file) or "entry 2" (the argument)
    text: str


@dataclass(frozen=True, slots=True)
class EntryList:
    entries: list[Entry]
    header: Entry | None = None  # a file's first line, taken as a header and skipped


class EntryFileError(Exception):
    """The file of recipients cannot be read: nothing was sent."""


def entries_of_argument(raw: str) -> EntryList:
    """``"oncall, Petr; +7 912 345-67-80"``: entries numbered by position."""
    return EntryList([Entry(f"entry {n}", e) for n, e in enumerate(split_entries(raw), 1)])


def entries_of_lines(lines: Iterable[str], limit: int) -> EntryList:
    """One recipient a line, or the first column of a CSV (``,`` ``;`` or tab);
    blank lines and ``#`` comments skipped; a first line that is not a number is a
    header, skipped. More than ``limit`` entries: ``TooManyRecipients`` (the file is
    not read further)."""
    entries: list[Entry] = []
    header: Entry | None = None
    for number, line in enumerate(lines, 1):
        text = line.strip().lstrip("\ufeff").strip()
        if not text or text.startswith("#"):
            continue
        delimiter = next((d for d in ",;\t" if d in text), None)
        if delimiter is not None:
            try:
                text = next(csv.reader([text], delimiter=delimiter), [""])[0].strip()
            except csv.Error:  # a NUL byte, a huge field: the first column as it is
                text = text.split(delimiter, 1)[0].strip()
            if not text:
                continue
        entry = Entry(f"line {number}", text)
        if not entries and header is None and not looks_like_number(text):
            header = entry
            continue
        entries.append(entry)
        if len(entries) > limit:
            raise TooManyRecipients(len(entries), limit)
    return EntryList(entries, header)


def read_entries_file(path: str, stdin: TextIO | None, limit: int) -> EntryList:
    """The entries of ``--to-file`` (``-``: standard input). Raises ``EntryFileError``
    (cannot be read, not UTF-8) or ``TooManyRecipients``."""
    shown = printable_text(path)
    try:
        if path == "-":
            if stdin is not None:
                return entries_of_lines(stdin, limit)
            raw = sys.stdin.buffer.read()
            return entries_of_lines(raw.decode("utf-8").splitlines(), limit)
        with open(path, encoding="utf-8", newline="") as file:
            return entries_of_lines(file, limit)
    except UnicodeDecodeError:
        raise EntryFileError(say("file_not_utf8", path=shown)) from None
    except OSError as exc:
        raise EntryFileError(
            say("file_unreadable", path=shown, reason=exc.strerror or type(exc).__name__)
        ) from None


class Progress:
    """``[#####-----] 12/50 sent 10, failed 2`` on a terminal, redrawn in place at
    most every ``PROGRESS_INTERVAL`` seconds and wiped at the end; nothing at all
    when the stream is not a terminal (a log, a pipe, ``--json`` runs in scripts)."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._total = total
        self._shown = False
        self._last = 0.0
        self._width = 0
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty is not None and isatty())

    def update(self, done: int, counts: dict[str, int], *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and self._shown and now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        filled = PROGRESS_WIDTH * done // max(self._total, 1)
        bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
        detail = ", ".join(f"{state} {n}" for state, n in counts.items() if n)
        line = f"[{bar}] {done}/{self._total} {detail}"
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = max(self._width, len(line))
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._shown = False


def _positions(entries: list[Entry]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        where[entry.text].append(entry.where)
    return where


def _take(positions: dict[str, list[str]], entry: str, used: dict[str, int], start: int) -> str:
    """Where the next occurrence of ``entry`` was (a group's members share its one)."""
    found = positions.get(entry) or ["?"]
    index = max(used.get(entry, start), start)
    used[entry] = index + 1
    return found[min(index, len(found) - 1)]


@dataclass(frozen=True, slots=True)
class Problems:
    refused: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]


def _problems(listed: EntryList, resolution: Resolution) -> Problems:
    positions = _positions(listed.entries)
    used: dict[str, int] = {}
    refused = [
        {
            "where": _take(positions, r.entry, used, 0),
            "entry": printable_text(r.entry),  # bytes that were not UTF-8 cannot be printed
            "name": r.name,
            "error": str(r.error),
            "error_kind": type(r.error).__name__,
        }
        for r in resolution.refused
    ]
    used_again: dict[str, int] = {}
    duplicates = [
        {
            "where": _take(positions, d.entry, used_again, 1 if d.entry == d.first else 0),
            "entry": printable_text(d.entry),
            "number": d.number,
            "first": printable_text(d.first),
            "first_where": (positions.get(d.first) or ["?"])[0],
        }
        for d in resolution.duplicates
    ]
    return Problems(refused, duplicates)


def _refused_line(item: dict[str, Any]) -> str:
    """One refused entry for a terminal (typed text: no control characters)."""
    name = f" ({item['name']})" if item["name"] else ""
    return _printable(
        say(
            "bulk_refused_entry",
            where=item["where"],
            entry=preview_text(item["entry"], 60),
            name=name,
            reason=item["error"],
        )
    )


def _duplicate_line(item: dict[str, Any]) -> str:
    return _printable(
        say(
            "bulk_duplicate_entry",
            where=item["where"],
            entry=preview_text(item["entry"], 60),
            number=item["number"],
            first=item["first_where"],
        )
    )


def _recipient(record: MessageRecord, outcome: SendOutcome | None) -> dict[str, Any]:
    error: str | None = record.error_text
    if outcome is not None and outcome.error is not None:
        error = describe_error(outcome.error)
    elif record.state == MessageState.QUEUED:
        error = say("bulk_left_queued")
    return {
        "number": record.recipient,
        "name": record.recipient_name,
        "id": record.id,
        "state": str(record.state),
        "provider": record.provider,
        "gateway_id": record.gateway_id,
        "parts": record.parts,
        "error": error,
        "error_kind": record.error_kind,
        "recorded": outcome is None or outcome.unrecorded is None,
    }


def job_exit_code(records: list[MessageRecord], *, skipped: bool, interrupted: bool) -> int:
    """0: every recipient's SMS was accepted. When every recipient ended the same
    way, the code of a one-recipient send ending so (4, 5, 6); any mix, an entry
    skipped (``--skip-invalid``) or recipients left unsent by a stop: 12."""
    codes = {exit_code_for_record(str(r.state), r.error_kind) for r in records}
    if interrupted and any(r.state == MessageState.QUEUED for r in records):
        return EXIT_PARTIAL
    if codes == {EXIT_OK}:
        return EXIT_PARTIAL if skipped else EXIT_OK
    if len(codes) == 1 and not skipped:
        return codes.pop()
    return EXIT_PARTIAL


@dataclass(frozen=True, slots=True)
class BulkRequest:
    listed: EntryList
    text: str
    gateway: str | None
    key: str | None
    skip_invalid: bool


async def send_job(core: Core, settings: Settings, output: Output, request: BulkRequest) -> int:
    """Resolve, check, record and send the job; print what happened; the exit code."""
    from services.sending import Origin

    header = request.listed.header
    if header is not None and await core.recipients.names_someone(header.text):
        # a contact's or a group's name: the first recipient, not a header
        listed = EntryList([header, *request.listed.entries])
        request = dataclasses.replace(request, listed=listed)
    if request.listed.header is not None and not output.as_json:
        header = request.listed.header
        print(
            _printable(say("bulk_header", where=header.where, entry=preview_text(header.text, 60))),
            file=output.err,
        )
    try:
        resolution = await core.recipients.resolve(e.text for e in request.listed.entries)
    except TooManyRecipients as exc:
        return output.emit(
            EXIT_USAGE,
            say("error_nothing_sent", message=exc),
            {"error": str(exc), "error_kind": type(exc).__name__},
        )
    problems = _problems(request.listed, resolution)
    base: dict[str, Any] = {"refused": problems.refused, "duplicates": problems.duplicates}
    if request.listed.header is not None:
        base["header"] = {"where": request.listed.header.where, "entry": request.listed.header.text}
    if len(request.listed.entries) == 1 and len(resolution.refused) == 1:
        # one recipient, as a lone number is answered: one line with the reason
        error = resolution.refused[0].error
        return output.emit(
            EXIT_USAGE,
            _printable(say("error_nothing_sent", message=error)),
            {**base, **_error_payload(error)},
        )
    if problems.refused and not request.skip_invalid:
        lines = [say("bulk_refused", count=len(problems.refused))]
        lines += [_refused_line(item) for item in problems.refused]
        message = say("bulk_refused_short", count=len(problems.refused))
        return output.emit(
            EXIT_USAGE,
            "\n".join(lines),
            {**base, "error": message, "error_kind": "InvalidRecipients"},
        )
    if not resolution.recipients:
        message = say("bulk_no_recipient")
        return output.emit(
            EXIT_USAGE,
            say("error_nothing_sent", message=message),
            {**base, "error": message, "error_kind": "NoRecipients"},
        )
    try:
        prepared = core.sender.prepare(
            resolution.numbers[0], request.text, request.gateway, international=True
        )
    except InvalidInput as exc:
        return output.emit(
            EXIT_USAGE,
            say("error_nothing_sent", message=exc),
            {**base, "error": str(exc), "error_kind": type(exc).__name__},
        )
    if not output.as_json:
        for item in problems.refused:
            print(say("bulk_skipped", line=_refused_line(item).strip()), file=output.err)
        for item in problems.duplicates:
            print(_duplicate_line(item), file=output.err)
    await core.sender.recover_interrupted(bot_starting=False, stale_after=settings.stale_send_age)
    stop: list[str] = []
    with _held_on_signal(core, output.err, stop):
        started = await core.sender.submit(
            resolution.numbers,
            prepared,
            Origin(source="cli"),
            idempotency_key=None if request.key is None else f"cli:{request.key}",
            names=resolution.names(),
        )
        return await _report(
            core, settings, output, started, stop, base, skipped=bool(problems.refused)
        )


async def _report(
    core: Core,
    settings: Settings,
    output: Output,
    started: JobStarted,
    stop: list[str],
    base: dict[str, Any],
    *,
    skipped: bool,
) -> int:
    """Wait for the job's sends (drawing the progress), then print every recipient's
    result and say what a stop left; the exit code."""
    progress = Progress(output.err, len(started.tasks))
    outcomes = await _wait(started.tasks, progress)
    by_id = {o.record.id: o for o in outcomes}
    job = started.job
    records = await core.store.messages.of_job(job.id)
    # a result the database refused is shown as the gateway said
    records = [
        by_id[r.id].record if by_id.get(r.id) and by_id[r.id].unrecorded else r for r in records
    ]
    if started.duplicate:
        records = [
            await core.sender.wait_settled(r, settings.max_request_seconds + 5) for r in records
        ]
    unrecorded = [o for o in outcomes if o.unrecorded is not None]
    if unrecorded:
        print(say("bulk_not_recorded", count=len(unrecorded)), file=output.err)
        if not await core.sender.drain(WRITE_RETRY_SECONDS):
            print(say("bulk_still_not_recorded"), file=output.err)
    queued = [r for r in records if r.state == MessageState.QUEUED]
    interrupted = bool(stop) and bool(queued)
    if interrupted:
        await core.store.messages.mark_job_stopped(job.id)
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        counts[str(record.state)] += 1
    code = job_exit_code(records, skipped=skipped, interrupted=interrupted)
    payload: dict[str, Any] = {
        "job": {
            "id": job.id,
            "total": len(records),
            "gateway": job.gateway,
            "duplicate": started.duplicate,
            "interrupted": interrupted,
        },
        "counts": dict(counts),
        "recipients": [_recipient(r, by_id.get(r.id)) for r in records],
        **base,
    }
    lines = [
        say(
            "bulk_summary",
            id=job.id,
            total=len(records),
            gateway=job.gateway,
            counts=", ".join(f"{n} {state}" for state, n in counts.items()),
        )
    ]
    if started.duplicate:
        lines.append(say("bulk_duplicate_job"))
    for record in records:
        if record.state in (MessageState.SENT, MessageState.DELIVERED, MessageState.QUEUED):
            continue
        item = _recipient(record, by_id.get(record.id))
        name = f" ({record.recipient_name})" if record.recipient_name else ""
        lines.append(
            _printable(
                say(
                    "bulk_recipient",
                    number=record.recipient,
                    name=name,
                    id=record.id,
                    state=record.state,
                    error=item["error"] or "",
                )
            )
        )
    if interrupted:
        lines.append(say("bulk_interrupted", signal=stop[0], count=len(queued), id=job.id))
    return output.emit(code, "\n".join(lines), payload)


async def job_command(
    core: Core, settings: Settings, output: Output, action: str, job_id: int
) -> int:
    """``job resume N``: send what a stopped command-line job left queued (each row
    at most once, even against another resume); ``job cancel N``: drop it (its rows
    become failed, nothing of them sent)."""
    from services.sending import JobNotYours

    job = await core.store.messages.job(job_id)
    if job is None or job.source != "cli":
        message = say("no_cli_job", id=job_id)
        return output.emit(
            EXIT_NOT_FOUND,
            say("error", message=message),
            {"error": message, "error_kind": "NotFound"},
        )
    stop: list[str] = []
    with _held_on_signal(core, output.err, stop):
        try:
            if action == "cancel":
                cancelled = await core.sender.cancel(job_id, job.user_id)
                return output.emit(
                    EXIT_OK,
                    say("job_cancelled", id=job_id, count=len(cancelled)),
                    {"job": {"id": job_id}, "cancelled": [r.id for r in cancelled]},
                )
            started = await core.sender.resume(job_id, job.user_id)
        except (JobNotYours, InvalidInput) as exc:
            return output.emit(
                EXIT_USAGE,
                say("error_nothing_sent", message=exc),
                {"error": str(exc), "error_kind": type(exc).__name__},
            )
        return await _report(core, settings, output, started, stop, {}, skipped=False)


async def _wait(tasks: list[asyncio.Task[SendOutcome]], progress: Progress) -> list[SendOutcome]:
    """Every task's outcome, drawing the progress as they finish."""
    outcomes: list[SendOutcome] = []
    counts: dict[str, int] = defaultdict(int)
    pending: set[asyncio.Task[SendOutcome]] = set(tasks)
    progress.update(0, counts, force=True)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                with contextlib.suppress(Exception):  # a bug's task: its row tells the state
                    outcome = task.result()
                    outcomes.append(outcome)
                    counts[str(outcome.record.state)] += 1
            progress.update(len(tasks) - len(pending), counts, force=not pending)
    finally:
        progress.clear()
    return outcomes


@contextlib.contextmanager
def _held_on_signal(core: Core, err: TextIO, stop: list[str]) -> Iterator[None]:
    """While inside, SIGINT/SIGTERM mid-job make no new request: what is out finishes
    and is recorded; the rest stays queued (``stop`` gets the signal's name)."""
    loop = asyncio.get_running_loop()

    def hold(sig: signal.Signals) -> None:
        if not stop:
            stop.append(sig.name)
            print(say("bulk_stopping", signal=sig.name), file=err)
        core.sender.hold()

    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, hold, sig)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
