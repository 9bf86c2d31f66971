"""Logging for the bot and the command line.

httpx logs every request URL at INFO: its loggers are kept at WARNING. As a second
line of defence a filter on the handler masks every configured secret value in
messages, arguments and tracebacks. As the last one, ``install_redacting_hooks`` and
``redact_loop_errors`` mask them in any traceback nobody caught (a bot token sits in
every Bot API URL).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from providers.http import secret_forms

MASK = "***"
#: An HTTP API token (``services.tokens``): not a setting, so masked by its shape
API_TOKEN = re.compile(r"smsbot_[A-Za-z0-9_-]{16,}")
QUIET_LOGGERS = ("httpx", "httpcore", "aiosqlite", "hpack", "asyncio")


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is masked whole; URL-encoded
        # forms too (a token or key inside a URL or a form body).
        self._secrets = secret_forms(s for s in secrets if len(s) >= 4)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if "smsbot_" in text:
            text = API_TOKEN.sub("smsbot_" + MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets and not _may_hold_api_token(record):
            return True
        message = record.getMessage()
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = self.redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


#: the fields a log line may carry besides its message (``extra={...}``); the JSON
#: form writes each one that is set
EXTRA_FIELDS = (
    "user_id",
    "chat_id",
    "update_id",
    "message_id",
    "job_id",
    "gateway",
    "result",
    "error",
    "latency_ms",
)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the
    ``EXTRA_FIELDS`` given, and the traceback as ``exc``. The whole line is masked
    again (an extra field may carry anything)."""

    def __init__(self, redactor: RedactingFilter) -> None:
        super().__init__()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                event[name] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            event["exc"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        return self._redactor.redact(json.dumps(event, ensure_ascii=False, default=str))


def _may_hold_api_token(record: logging.LogRecord) -> bool:
    if "smsbot_" in record.getMessage() or "smsbot_" in (record.stack_info or ""):
        return True
    if not record.exc_info:
        return False
    return "smsbot_" in logging.Formatter().formatException(record.exc_info)


def configure_logging(
    level: str = "INFO", secrets: Iterable[str] = (), log_format: str = "text"
) -> None:
    """Log to stderr: lines a person reads, or with ``log_format="json"`` one JSON
    object a line. Every configured secret is masked in either."""
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(redactor))
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def install_redacting_hooks(secrets: Iterable[str]) -> None:
    """The last line of defence: an exception nobody caught, in the main thread or
    another one, is printed with every configured secret masked."""
    redactor = RedactingFilter(secrets)

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write(redactor.redact(text))
        sys.stderr.flush()

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        text = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        sys.stderr.write(redactor.redact(f"Exception in thread {name}:\n{text}"))
        sys.stderr.flush()

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def redact_loop_errors(secrets: Iterable[str]) -> None:
    """Sets the running loop's exception handler: errors of tasks nobody awaited are
    logged with every configured secret masked. Call it first in ``asyncio.run``'s
    coroutine."""
    redactor = RedactingFilter(secrets)
    log = logging.getLogger("asyncio")

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "Unhandled exception in the event loop")
        exc = context.get("exception")
        details = [
            f"{key}: {value!r}"
            for key, value in context.items()
            if key not in ("message", "exception")
        ]
        text = "\n".join([message, *details])
        if isinstance(exc, BaseException):
            text += "\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("%s", redactor.redact(text.rstrip()))

    asyncio.get_running_loop().set_exception_handler(handler)
