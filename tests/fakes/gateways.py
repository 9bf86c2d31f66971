"""A fake of both SMS gateways (smsrent.ru and smska.net) on a real local HTTP server.

The fake speaks the wire formats described in ``/work/shared/GATEWAYS.md``. It runs an
aiohttp server on ``127.0.0.1`` (an ephemeral port unless one is given) in the current
event loop, so tests, benchmarks and a local try-out can all use it::

    async with FakeGateways() as fake:
        ...  # point the clients at fake.smsrent_url / fake.smska_url
        assert fake.requests_for("smsrent")[0].form["msg"] == "Привет"

Faults are injected per gateway through one FIFO queue shared by :meth:`queue_answer`
(an exact body, e.g. ``"Sign not valid"``) and :meth:`queue_behaviour` (a
:class:`Behaviour`); a request takes the head of its gateway's queue when it arrives,
and an empty queue means :attr:`Behaviour.OK`.

Order of events for every request to a gateway path:

1. the whole body is read and the request is recorded in :attr:`FakeGateways.requests`;
2. the head of that gateway's queue is taken;
3. the request waits for :attr:`FakeGateways.hold` (if any), then sleeps ``latency``;
4. the answer is produced. Only OK, SLOW, DROP and TRUNCATED run the gateway logic
   (validation, balance, :attr:`FakeGateways.sent`): with SLOW, DROP and TRUNCATED a valid
   send *is* accepted although the client never sees a usable answer, as the real
   gateway would have sent the SMS. HTML_502, EMPTY, GARBLED, HTTP_500 and queued
   answers change nothing.

Secrets (``skey``, ``APIPassword``) are never logged: aiohttp's access log (which would
print GET query strings) is off, and the fake's own log lines carry only the gateway,
method, path, status and answer.

Run ``python -m tests.fakes.gateways --port 8089`` to serve it until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import hashlib
import logging
import random
import re
import signal
import string
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Final
from urllib.parse import unquote_to_bytes

from aiohttp import web

__all__ = [
    "SMSKA",
    "SMSKA_PATH",
    "SMSRENT",
    "SMSRENT_PATH",
    "Behaviour",
    "FakeGateways",
    "RecordedRequest",
    "SentSms",
    "main",
]

logger = logging.getLogger(__name__)

SMSRENT: Final = "smsrent"
SMSKA: Final = "smska"
GATEWAYS: Final = (SMSRENT, SMSKA)

SMSRENT_PATH: Final = "/smsgateway/send.php"
SMSKA_PATH: Final = "/api/httppost.php"
# The smska document also names this address; it is served by the same fake.
SMSKA_ALT_PATH: Final = "/api/httppostapi2.php"

HOST: Final = "127.0.0.1"

# smsrent answers
SMSRENT_EMPTY_REQUEST: Final = "Access denied! Empty request!"
SMSRENT_PROJECT_NOT_ACCEPTED: Final = "Access denied! Project type is not accepted!"
SMSRENT_SECRET_NOT_VALID: Final = "Access denied! Secret key is not valid!"
SMSRENT_SIGN_NOT_VALID: Final = "Sign not valid"
SMSRENT_BALANCE_EMPTY: Final = "Balance is empty"
SMSRENT_FIRST_MSGID: Final = 100001

# smska answers
SMSKA_AUTH_FAILED: Final = (
    "1|Authentication failed. Your API Key, Password combination is not valid "
    "or your account has been locked."
)
SMSKA_SENT_ERROR: Final = "3|Sent Error"
SMSKA_ARGUMENTS_INVALID: Final = (
    "4|Argument validation failed. One or more of your POSTVars is invalid or missing."
)
SMSKA_NO_CREDITS: Final = (
    "5|Insufficient Credits. You do not have sufficient credits to send the message."
)
SMSKA_INVALID_MSISDN: Final = (
    "6|Invalid MSISDN. The mobile number is not valid or can not be reached via the API"
)
SMSKA_SENDER_NOT_VALID: Final = "7|Your SenderID is not valid."
SMSKA_ACCEPTED: Final = (3, "ACCEPTD")
SMSKA_DELIVERED: Final = (4, "DELIVRD")

_MSISDN_RE: Final = re.compile(r"[0-9]{11,15}")
_SMSKA_ID_ALPHABET: Final = string.ascii_lowercase + string.digits
_SMSKA_ID_LENGTH: Final = 17

HTML_502_BODY: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
GARBLED_BODY: Final = "\x00<?xml garbage ÿþ\x07 %PDF-1.4 ?>"
HTTP_500_BODY: Final = "Internal Server Error"
TRUNCATED_BODY: Final = {SMSRENT: "49", SMSKA: "0|Message se"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    gateway: str  # "smsrent", "smska", or "unknown" for a path that is neither
    method: str
    path: str
    # Decoded fields: the query string, plus (for POST) the urlencoded body, whose fields
    # win. smsrent decodes with utf-8 when in_enc is UTF-8, otherwise with cp1251 (the
    # gateway's default); smska with utf-8. Undecodable bytes become U+FFFD.
    form: dict[str, str]
    raw_body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class SentSms:
    """A message the fake accepted."""

    gateway: str
    to: str
    text: str
    sender: str
    at: float  # time.monotonic() when it was accepted
    msg_id: str = ""


class Behaviour(enum.Enum):
    """What the next answer of a gateway does."""

    OK = "ok"  # normal answer
    HTML_502 = "html_502"  # 502 with an HTML page (a proxy in front of the gateway)
    EMPTY = "empty"  # 200 with an empty body
    GARBLED = "garbled"  # 200 with a non-protocol line
    SLOW = "slow"  # processed (a valid send is accepted), answered after slow_seconds
    DROP = "drop"  # processed, then the connection is closed without an answer
    HTTP_500 = "http_500"  # 500 "Internal Server Error"
    TRUNCATED = "truncated"  # processed, answered with a cut success line
    TRICKLE = "trickle"  # processed, the answer sent one byte every trickle_seconds


@dataclass(frozen=True)
class _Answer:
    body: str
    status: int


_QueueItem = Behaviour | _Answer


def _parse_urlencoded(data: bytes) -> dict[str, bytes]:
    """Split ``a=1&b=2`` into names and *raw* (percent-decoded, not charset-decoded) values.

    The last of repeated names wins, as in PHP.
    """
    fields: dict[str, bytes] = {}
    for part in data.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        key = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace")
        fields[key] = unquote_to_bytes(value.replace(b"+", b" "))
    return fields


def _smsrent_encoding(raw: dict[str, bytes]) -> str:
    in_enc = raw.get("in_enc", b"").decode("ascii", "replace").strip().upper()
    return "utf-8" if in_enc == "UTF-8" else "cp1251"


def _md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class FakeGateways:
    """Both gateways on one local aiohttp server. See the module docstring."""

    def __init__(
        self,
        *,
        smsrent_project_id: int = 1234,
        smsrent_secret_key: str = "test-skey",
        smska_api_key: str = "test",
        smska_api_password: str = "test-password",
        latency: float = 0.0,
        slow_seconds: float = 30.0,
        trickle_seconds: float = 0.5,
        smsrent_balance: int = 500,
        smska_balance: int = 7464,
        delivery_after: float = 0.0,
    ) -> None:
        self.smsrent_project_id = smsrent_project_id
        self.smsrent_secret_key = smsrent_secret_key
        self.smska_api_key = smska_api_key
        self.smska_api_password = smska_api_password
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.trickle_seconds = trickle_seconds
        self.smsrent_balance = smsrent_balance
        self.smska_balance = smska_balance
        self.delivery_after = delivery_after
        # smsrent answers "Access denied! IP=127.0.0.1 is not valid!" while this is true.
        self.ip_denied = False
        self.hold: asyncio.Event | None = None

        self.requests: list[RecordedRequest] = []
        self.sent: dict[str, SentSms] = {}

        self._queues: dict[str, deque[_QueueItem]] = {g: deque() for g in GATEWAYS}
        self._statuses: dict[str, tuple[int, str]] = {}
        self._next_smsrent_id = SMSRENT_FIRST_MSGID
        self._random = random.Random()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._handlers: set[asyncio.Task[object]] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ----------------------------------------------------------------- lifecycle

    async def start(self, port: int = 0) -> None:
        """Serve on 127.0.0.1:port (0 = an ephemeral port)."""
        if self._runner is not None:
            raise RuntimeError("FakeGateways is already started")
        app = web.Application()
        app.router.add_route("*", SMSRENT_PATH, self._handle_smsrent)
        app.router.add_route("*", SMSKA_PATH, self._handle_smska)
        app.router.add_route("*", SMSKA_ALT_PATH, self._handle_smska)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        # access_log=None: the access log would print GET query strings with the secrets.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, HOST, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Stop serving; requests still in flight (held, SLOW) are abandoned."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        handlers = [task for task in self._handlers if not task.done()]
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.wait(handlers, timeout=1.0)
        await runner.cleanup()
        for _, future in self._waiters:
            future.cancel()
        self._waiters.clear()

    async def __aenter__(self) -> FakeGateways:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeGateways is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def smsrent_url(self) -> str:
        return f"{self.base_url}{SMSRENT_PATH}"

    @property
    def smska_url(self) -> str:
        return f"{self.base_url}{SMSKA_PATH}"

    # ------------------------------------------------------------ test controls

    def requests_for(self, gateway: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.gateway == gateway]

    def queue_answer(self, gateway: str, body: str, status: int = 200) -> None:
        """The next unserved request to ``gateway`` gets exactly ``body`` (FIFO)."""
        self._queue(gateway).append(_Answer(body, status))

    def queue_behaviour(self, gateway: str, behaviour: Behaviour) -> None:
        """The next unserved request to ``gateway`` behaves so (FIFO, shared queue)."""
        self._queue(gateway).append(behaviour)

    def pending(self, gateway: str) -> int:
        """How many queued answers/behaviours ``gateway`` still has."""
        return len(self._queue(gateway))

    def set_status(self, msg_id: str, code: int, name: str) -> None:
        """Force the smska delivery status of a sent message, e.g. ``(5, "REJECTD")``."""
        if msg_id not in self.sent:
            raise KeyError(f"no message {msg_id!r} was sent")
        self._statuses[msg_id] = (code, name)

    def status_of(self, msg_id: str) -> tuple[int, str]:
        """The smska delivery status the fake reports now for a sent message."""
        forced = self._statuses.get(msg_id)
        if forced is not None:
            return forced
        sms = self.sent[msg_id]
        if time.monotonic() - sms.at >= self.delivery_after:
            return SMSKA_DELIVERED
        return SMSKA_ACCEPTED

    async def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until at least ``n`` requests were received; TimeoutError otherwise."""
        if len(self.requests) < n:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (n, future)
            self._waiters.append(entry)
            try:
                await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"expected {n} requests within {timeout}s, got {len(self.requests)}"
                ) from None
            finally:
                if entry in self._waiters:
                    self._waiters.remove(entry)
        return list(self.requests)

    def _queue(self, gateway: str) -> deque[_QueueItem]:
        try:
            return self._queues[gateway]
        except KeyError:
            raise ValueError(f"unknown gateway {gateway!r}, expected one of {GATEWAYS}") from None

    # ------------------------------------------------------------------ serving

    async def _record(
        self, request: web.Request, gateway: str, charset: str | None
    ) -> tuple[RecordedRequest, dict[str, bytes]]:
        raw_body = await request.read()
        query = request.raw_path.partition("?")[2].encode("utf-8", "surrogateescape")
        raw = _parse_urlencoded(query)
        if request.method == "POST":
            raw.update(_parse_urlencoded(raw_body))
        if charset is None:
            charset = _smsrent_encoding(raw) if gateway == SMSRENT else "utf-8"
        recorded = RecordedRequest(
            gateway=gateway,
            method=request.method,
            path=request.path,
            form={k: v.decode(charset, "replace") for k, v in raw.items()},
            raw_body=raw_body,
            headers=dict(request.headers),
        )
        self.requests.append(recorded)
        for n, future in self._waiters:
            if len(self.requests) >= n and not future.done():
                future.set_result(None)
        return recorded, raw

    async def _handle_unknown(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "unknown", "utf-8")
        return web.Response(status=404, text="404 Not Found")

    async def _handle_smsrent(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, SMSRENT)

    async def _handle_smska(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, SMSKA)

    async def _serve(self, request: web.Request, gateway: str) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            recorded, raw = await self._record(request, gateway, None)
            queue = self._queues[gateway]
            item: _QueueItem = queue.popleft() if queue else Behaviour.OK
            hold = self.hold
            if hold is not None:
                await hold.wait()
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            return await self._answer(request, recorded, raw, item)
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def _answer(
        self,
        request: web.Request,
        recorded: RecordedRequest,
        raw: dict[str, bytes],
        item: _QueueItem,
    ) -> web.StreamResponse:
        gateway = recorded.gateway
        status = 200
        if isinstance(item, _Answer):
            body, status = item.body, item.status
        elif item is Behaviour.HTML_502:
            self._log(recorded, 502, "<html 502 page>")
            return web.Response(status=502, text=HTML_502_BODY, content_type="text/html")
        elif item is Behaviour.EMPTY:
            body = ""
        elif item is Behaviour.GARBLED:
            body = GARBLED_BODY
        elif item is Behaviour.HTTP_500:
            body, status = HTTP_500_BODY, 500
        else:
            body = self._process(recorded, raw)
            if item is Behaviour.SLOW:
                await asyncio.sleep(self.slow_seconds)
            elif item is Behaviour.DROP:
                self._log(recorded, 0, "<connection dropped>")
                if request.transport is not None:
                    request.transport.close()
                # Writing this to the closed transport fails; aiohttp ignores that quietly.
                return web.Response(status=200, text="")
            elif item is Behaviour.TRUNCATED:
                body = TRUNCATED_BODY[gateway]
            elif item is Behaviour.TRICKLE:
                # Every read gets a byte well within any read time-out: only a deadline
                # on the whole request ends this.
                self._log(recorded, status, body + " <trickled>")
                data = body.encode("utf-8")
                stream = web.StreamResponse(status=200)
                stream.content_type = "text/html"
                stream.content_length = len(data)
                await stream.prepare(request)
                for index in range(len(data)):
                    await stream.write(data[index : index + 1])
                    await asyncio.sleep(self.trickle_seconds)
                await stream.write_eof()
                return stream
        self._log(recorded, status, body)
        # PHP's default content type; answers are plain lines.
        return web.Response(
            status=status, body=body.encode("utf-8"), content_type="text/html", charset="utf-8"
        )

    def _log(self, recorded: RecordedRequest, status: int, answer: str) -> None:
        # Never the form, query or headers: they hold the secrets.
        logger.info(
            "%s %s %s -> %s %r", recorded.gateway, recorded.method, recorded.path, status, answer
        )

    def _process(self, recorded: RecordedRequest, raw: dict[str, bytes]) -> str:
        if recorded.gateway == SMSRENT:
            return self._process_smsrent(recorded.form, raw)
        return self._process_smska(recorded.form)

    # ----------------------------------------------------------------- smsrent

    def _process_smsrent(self, form: dict[str, str], raw: dict[str, bytes]) -> str:
        required = ("sender", "to", "msg", "id", "sign")
        if any(not raw.get(name) for name in required):
            return SMSRENT_EMPTY_REQUEST
        if self.ip_denied:
            return f"Access denied! IP={HOST} is not valid!"
        try:
            project_id = int(form["id"])
        except ValueError:
            return SMSRENT_PROJECT_NOT_ACCEPTED
        if project_id != self.smsrent_project_id:
            return SMSRENT_PROJECT_NOT_ACCEPTED
        if "skey" in form and form["skey"] != self.smsrent_secret_key:
            return SMSRENT_SECRET_NOT_VALID
        # md5(sender + to + msg + id + md5(skey)) over the bytes as sent, which are the
        # text encoded as in_enc says (UTF-8, or WINDOWS-1251 by default).
        signed = raw["sender"] + raw["to"] + raw["msg"] + raw["id"]
        expected = _md5_hex(signed + _md5_hex(self.smsrent_secret_key.encode()).encode())
        if form["sign"].strip().lower() != expected:
            return SMSRENT_SIGN_NOT_VALID
        if self.smsrent_balance <= 0:
            return SMSRENT_BALANCE_EMPTY
        self.smsrent_balance -= 1
        msg_id = str(self._next_smsrent_id)
        self._next_smsrent_id += 1
        self.sent[msg_id] = SentSms(
            gateway=SMSRENT,
            to=form["to"],
            text=form["msg"],
            sender=form["sender"],
            at=time.monotonic(),
            msg_id=msg_id,
        )
        return f"{self.smsrent_balance};{msg_id}"

    # ------------------------------------------------------------------- smska

    def _process_smska(self, form: dict[str, str]) -> str:
        if (
            form.get("APIKey") != self.smska_api_key
            or form.get("APIPassword") != self.smska_api_password
        ):
            return SMSKA_AUTH_FAILED
        action = form.get("Action", "").strip().lower()
        if action == "balance":
            return f"0|Balance status|{self.smska_balance}"
        if action == "query":
            batch_id = form.get("BatchId", "")
            if batch_id not in self.sent or self.sent[batch_id].gateway != SMSKA:
                return SMSKA_ARGUMENTS_INVALID
            code, name = self.status_of(batch_id)
            return f"0|Status|{code}|{name}"
        if action:
            return SMSKA_ARGUMENTS_INVALID
        message = form.get("Message", "")
        msisdn = form.get("MSISDN", "")
        sender = form.get("SenderID", "")
        if not (message and msisdn and sender):
            return SMSKA_ARGUMENTS_INVALID
        if not _MSISDN_RE.fullmatch(msisdn):
            return SMSKA_INVALID_MSISDN
        if len(sender) > 11:
            return SMSKA_SENDER_NOT_VALID
        if self.smska_balance < 1:
            return SMSKA_NO_CREDITS
        self.smska_balance -= 1
        msg_id = self._new_smska_id()
        self.sent[msg_id] = SentSms(
            gateway=SMSKA,
            to=msisdn,
            text=message,
            sender=sender,
            at=time.monotonic(),
            msg_id=msg_id,
        )
        return f"0|Message sent|{msg_id}|Balance status|{self.smska_balance}"

    def _new_smska_id(self) -> str:
        while True:
            msg_id = "".join(self._random.choices(_SMSKA_ID_ALPHABET, k=_SMSKA_ID_LENGTH))
            if msg_id not in self.sent:
                return msg_id


# ---------------------------------------------------------------------- try-out


async def _serve_forever(port: int, latency: float, delivery_after: float) -> None:
    fake = FakeGateways(latency=latency, delivery_after=delivery_after)
    await fake.start(port=port)
    try:
        print(f"smsrent: {fake.smsrent_url}  (project id {fake.smsrent_project_id})", flush=True)
        print(f"smska:   {fake.smska_url}", flush=True)
        print("Credentials are the FakeGateways defaults. Ctrl-C to stop.", flush=True)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Also when SIGINT was ignored on entry (a background job of a shell).
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still works
                loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.gateways",
        description="Serve fake smsrent.ru and smska.net gateways on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument(
        "--delivery-after", type=float, default=5.0, help="seconds until smska DELIVRD"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, args.latency, args.delivery_after))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
