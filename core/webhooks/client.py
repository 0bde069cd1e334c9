"""The HTTP client of the engine: one POST to a checked, pinned address, no redirects.

The host is resolved and every address checked (`safety.target_resolve`) before each batch of
a dispatch (and before each single attempt through `post`);
the connection goes to that address while TLS still checks the certificate for the host name
(SNI and Host header too), so a DNS answer that changes after the check cannot redirect the
request. A 3xx is a failed attempt ("redirect not followed"). Errors carry no secret and no
payload.

Every attempt (connect, TLS, send, response headers, the 1 KB excerpt) has one overall deadline,
`limits.TIMEOUT_SECONDS`, read at call time: urllib3's read timeout applies per socket read, so a
receiver dripping one byte at a time would otherwise hold an attempt for minutes. A watchdog
thread shuts the connection's socket down when the deadline passes; the attempt then fails
("timed out after 5 s") and that connection is discarded, so the next send reconnects.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from core.exceptions import DomainError
from core.webhooks import limits
from core.webhooks.limits import EXCERPT_BYTES
from core.webhooks.safety import Target, target_resolve


@dataclass(frozen=True)
class Outcome:
    """What one attempt got back."""

    succeeded: bool
    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str


def _excerpt(raw: bytes) -> str:
    return raw[:EXCERPT_BYTES].decode("utf-8", errors="replace")


class Sender:
    """POSTs to one endpoint over a kept-alive pool pinned to the checked address.

    `target(url)` resolves and checks the URL (fresh DNS, the SSRF rules) and, when the URL or
    the pinned address changed, replaces the pool; `send` makes one attempt (5 s overall
    deadline, no redirects). A refused target makes every `send` a failed attempt until the
    next `target`. Use as a context manager so the connection is closed at the end.
    """

    def __init__(self) -> None:
        self.pinned: Target | None = None
        self.refused = ""
        self.pool: _HTTPPool | _HTTPSPool | None = None

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the pool and its connection."""
        if self.pool is not None:
            self.pool.close()
        self.pool = None
        self.pinned = None

    def target(self, url: str) -> None:
        """Resolve and check `url` now; keep the open connection if nothing changed."""
        try:
            target = target_resolve(url)
        except DomainError as exc:
            self.close()
            self.refused = f"refused: {exc.message}"[:300]
            return
        self.refused = ""
        if target == self.pinned and self.pool is not None:
            return
        self.close()
        self.pinned = target
        self.pool = _pool(target)

    def send(self, *, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST `body` once to the pinned target, never following a redirect."""
        started = time.monotonic()
        if self.pool is None or self.pinned is None:
            return Outcome(False, None, _ms(started), "", self.refused or "refused: no target")
        return _send(self.pool, self.pinned, body=body, headers=headers, started=started)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class _TracksConnection:
    """A pool that remembers the connection it made last: with `maxsize=1` and one caller at a
    time, that is the one an attempt in flight uses (the deadline watchdog shuts it down)."""

    current = None

    def _new_conn(self):
        conn = super()._new_conn()
        self.current = conn
        return conn


class _HTTPPool(_TracksConnection, urllib3.HTTPConnectionPool):
    pass


class _HTTPSPool(_TracksConnection, urllib3.HTTPSConnectionPool):
    pass


def _pool(target: Target) -> _HTTPPool | _HTTPSPool:
    """A one-connection pool to the pinned address (TLS still checks the host name)."""
    if target.scheme == "https":
        return _HTTPSPool(
            target.address,
            target.port,
            retries=False,
            maxsize=1,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    return _HTTPPool(target.address, target.port, retries=False, maxsize=1)


def _cut(conn) -> None:
    """Shut the connection's socket down (from another thread): a blocked connect/send/recv on
    it returns at once. The plain socket method, so a TLS socket is cut at the descriptor."""
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Deadline:
    """A watchdog for one attempt: after `seconds` it cuts the pool's connection (and keeps
    cutting every 50 ms, in case the connect was just finishing) until `stop()`."""

    def __init__(self, pool: _TracksConnection, seconds: float) -> None:
        self._pool = pool
        self._done = threading.Event()
        self.fired = False
        self._thread = threading.Thread(
            target=self._run, args=(seconds,), name="webhook-deadline", daemon=True
        )
        self._thread.start()

    def _run(self, seconds: float) -> None:
        if self._done.wait(seconds):
            return
        self.fired = True
        while True:
            _cut(self._pool.current)
            if self._done.wait(0.05):
                return

    def stop(self) -> bool:
        """End the watchdog; True when the deadline passed (the attempt timed out)."""
        self._done.set()
        self._thread.join()
        return self.fired


def _host_header(target: Target) -> str:
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    return host if target.port == default_port else f"{host}:{target.port}"


def _send(
    pool: _HTTPPool | _HTTPSPool,
    target: Target,
    *,
    body: bytes,
    headers: dict[str, str],
    started: float,
) -> Outcome:
    """One POST on `pool` within the overall deadline; the connection is kept only when the
    response was read whole in time."""
    seconds = limits.TIMEOUT_SECONDS  # at call time, so tests can shorten it
    timed_out = f"timed out after {seconds:g} s"
    response = None
    raw = b""
    status = 0
    keep = False
    error = ""
    deadline = _Deadline(pool, seconds)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "host": _host_header(target)},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(connect=seconds, read=seconds),
        )
        raw = response.read(EXCERPT_BYTES + 1)
        status = response.status
        # a body longer than the excerpt is not drained: that connection is closed instead
        keep = len(raw) <= EXCERPT_BYTES
    except Urllib3Timeout:
        error = timed_out
    except (HTTPError, OSError) as exc:
        error = f"connection failed: {type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - any failure is a logged attempt, never a crash
        error = f"request failed: {type(exc).__name__}"
    finally:
        if deadline.stop():
            # whatever was read, the socket was cut: a failed attempt, the connection discarded
            error, keep = timed_out, False
        if response is not None:
            if not keep and response.connection is not None:
                response.connection.close()  # the pool reconnects on the next send
            response.release_conn()
            if not keep:
                response.close()
        elif error and pool.current is not None:
            pool.current.close()  # failed before a response: never reuse that connection
    duration = _ms(started)
    if error:
        return Outcome(False, None, duration, "", error)
    if 200 <= status < 300:
        return Outcome(True, status, duration, _excerpt(raw), "")
    if 300 <= status < 400:
        return Outcome(False, status, duration, _excerpt(raw), "redirect not followed")
    return Outcome(False, status, duration, _excerpt(raw), f"HTTP {status}")


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` once (fresh check, new connection, 5 s deadline), no redirects."""
    with Sender() as sender:
        sender.target(url)
        return sender.send(body=body, headers=headers)
