"""The HTTP client of the engine: one POST to a checked, pinned address, no redirects.

The host is resolved and every address checked (`safety.target_resolve`) before each batch of
a dispatch (and before each single attempt through `post`);
the connection goes to that address while TLS still checks the certificate for the host name
(SNI and Host header too), so a DNS answer that changes after the check cannot redirect the
request. A 3xx is a failed attempt ("redirect not followed"). Errors carry no secret and no
payload.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from core.exceptions import DomainError
from core.webhooks.limits import EXCERPT_BYTES, TIMEOUT_SECONDS
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
    the pinned address changed, replaces the pool; `send` makes one attempt (5 s timeout, no
    redirects). A refused target makes every `send` a failed attempt until the next `target`.
    Use as a context manager so the connection is closed at the end.
    """

    def __init__(self) -> None:
        self.pinned: Target | None = None
        self.refused = ""
        self.pool: urllib3.HTTPConnectionPool | None = None

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


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    """A one-connection pool to the pinned address (TLS still checks the host name)."""
    timeout = urllib3.Timeout(connect=TIMEOUT_SECONDS, read=TIMEOUT_SECONDS)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    return urllib3.HTTPConnectionPool(
        target.address, target.port, timeout=timeout, retries=False, maxsize=1
    )


def _host_header(target: Target) -> str:
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    return host if target.port == default_port else f"{host}:{target.port}"


def _send(
    pool: urllib3.HTTPConnectionPool,
    target: Target,
    *,
    body: bytes,
    headers: dict[str, str],
    started: float,
) -> Outcome:
    """One POST on `pool`; the connection is kept only when the response was read whole."""
    response = None
    keep = False
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
        )
        raw = response.read(EXCERPT_BYTES + 1)
        status = response.status
        # a body longer than the excerpt is not drained: that connection is closed instead
        keep = len(raw) <= EXCERPT_BYTES
    except Urllib3Timeout:
        return Outcome(False, None, _ms(started), "", f"timed out after {TIMEOUT_SECONDS} s")
    except HTTPError as exc:
        return Outcome(False, None, _ms(started), "", f"connection failed: {type(exc).__name__}")
    except OSError as exc:
        return Outcome(False, None, _ms(started), "", f"connection failed: {type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - any failure is a logged attempt, never a crash
        return Outcome(False, None, _ms(started), "", f"request failed: {type(exc).__name__}")
    finally:
        if response is not None:
            if not keep and response.connection is not None:
                response.connection.close()  # the pool reconnects on the next send
            response.release_conn()
            if not keep:
                response.close()
    duration = _ms(started)
    if 200 <= status < 300:
        return Outcome(True, status, duration, _excerpt(raw), "")
    if 300 <= status < 400:
        return Outcome(False, status, duration, _excerpt(raw), "redirect not followed")
    return Outcome(False, status, duration, _excerpt(raw), f"HTTP {status}")


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` once (fresh check, new connection, timeout 5 s), no redirects."""
    with Sender() as sender:
        sender.target(url)
        return sender.send(body=body, headers=headers)
