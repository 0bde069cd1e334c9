"""A loopback webhook receiver for tests: records every request and misbehaves on demand.

    from tests.core.webhook_receiver import Receiver, webhook_receiver  # noqa: F401 (fixture)

    def test_x(settings, webhook_receiver):
        settings.DEBUG = True                 # plain http:// to loopback needs DEBUG
        rx = webhook_receiver(fail_first=2)   # answers 500 twice, then 200
        ... create an endpoint with url=rx.url, deliver ...
        assert [r.json["type"] for r in rx.requests] == [...]
        rx.verify(secret)                     # every request verified with standardwebhooks

`Receiver(...)` options:
- `fail_first=N`: the first N requests get `fail_status` (500) and the body `fail_body`;
- `fail_on={3, ...}`: those request numbers (1-based) get `fail_status` too;
- `status`, `body`: the answer to the other requests (200, b"ok"); `body` may be large (the
  engine keeps only the first 1 KB);
- `redirect_to=URL`: answer every POST with 302 and `Location: URL`;
- `delay=seconds`: sleep before answering (timeouts; monkeypatch
  `core.webhooks.limits.TIMEOUT_SECONDS` down rather than waiting 5 s);
- `drip=seconds`: send the answer (status line, headers, body) one byte every `drip` seconds,
  a slow-loris receiver (the engine's overall deadline must cut it); `drip_first=N` drips only
  the first N answers and answers the rest at once.
Each `Recorded` has the caller's `peer` port (one port = one kept-alive connection).
It is a `http.server.ThreadingHTTPServer` on 127.0.0.1 and a free port, served from a daemon
thread; use it as a context manager or through the `webhook_receiver` fixture (a factory that
stops every receiver it started). Works with `transaction=True` tests and plain `db` ones
(the engine's HTTP call happens in the test's thread, the receiver answers from its own).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook


@dataclass
class Recorded:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    peer: int = 0  # the client's port: requests on one connection share it

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """A local HTTP server that records requests; see the module docstring."""

    def __init__(
        self,
        *,
        fail_first: int = 0,
        fail_status: int = 500,
        fail_body: bytes = b"temporarily broken",
        status: int = 200,
        body: bytes = b"ok",
        redirect_to: str | None = None,
        delay: float = 0.0,
        fail_on: set[int] | frozenset[int] = frozenset(),
        drip: float = 0.0,
        drip_first: int | None = None,
    ) -> None:
        self.fail_first = fail_first
        self.fail_on = set(fail_on)
        self.fail_status = fail_status
        self.fail_body = fail_body
        self.status = status
        self.body = body
        self.redirect_to = redirect_to
        self.delay = delay
        self.drip = drip
        self.drip_first = drip_first
        self._stopping = threading.Event()
        self.requests: list[Recorded] = []
        self.answered = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---
    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.requests.append(
                        Recorded(
                            method=self.command,
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            peer=self.client_address[1],
                        )
                    )
                    receiver.answered += 1
                    number = receiver.answered
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if number <= receiver.fail_first or number in receiver.fail_on:
                    status, payload = receiver.fail_status, receiver.fail_body
                else:
                    status, payload = receiver.status, receiver.body
                if receiver.drip and (receiver.drip_first is None or number <= receiver.drip_first):
                    self._drip(status, payload)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

            def _drip(self, status: int, payload: bytes) -> None:
                self.close_connection = True
                answer = (
                    f"HTTP/1.0 {status} OK\r\nContent-Type: text/plain\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                ).encode() + payload
                with contextlib.suppress(OSError):  # the caller hung up: stop dripping
                    for i in range(len(answer)):
                        self.wfile.write(answer[i : i + 1])
                        if receiver._stopping.wait(receiver.drip):
                            return

            do_POST = _handle  # noqa: N815
            do_GET = _handle  # noqa: N815

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends any drip in progress
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- reading ---
    @property
    def port(self) -> int:
        assert self._server is not None, "receiver not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>/hook` (plain http: set settings.DEBUG = True)."""
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self) -> list[dict]:
        """The JSON bodies received, in arrival order."""
        return [r.json for r in self.requests if r.method == "POST"]

    def verify(self, secret: str) -> list[dict]:
        """Verify every POST with `standardwebhooks` and this secret (raises if one fails)."""
        wh = Webhook(secret)
        return [wh.verify(r.body, r.headers) for r in self.requests if r.method == "POST"]


@pytest.fixture
def webhook_receiver():
    """A factory of started receivers (`webhook_receiver(fail_first=2)`), all stopped after."""
    started: list[Receiver] = []

    def build(**options) -> Receiver:
        rx = Receiver(**options).start()
        started.append(rx)
        return rx

    yield build
    for rx in started:
        rx.stop()


TEST_TYPE = "tests.thing.happened"


@pytest.fixture
def test_event_type():
    """A catalogued event type for engine tests (`tests.thing.happened`), removed afterwards.

    Emit with `core.events.event_emit(tenant=..., type=TEST_TYPE, object_id=i, payload={...})`.
    """
    from core import events as ev

    ev.event_types_register(
        "tests",
        [
            ev.EventType(
                name=TEST_TYPE,
                description="A thing happened (tests only).",
                object_type="tests.Thing",
                sample={"thing_id": 1, "state": "DONE"},
            )
        ],
    )
    yield TEST_TYPE
    ev._TYPES.pop(TEST_TYPE, None)
