"""The HTTP client of the engine: one POST to a checked, pinned address, no redirects.

The host is resolved once per attempt and every address checked (`safety.target_resolve`);
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
from core.webhooks.safety import target_resolve


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


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` once (timeout 5 s), never following a redirect."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = target_resolve(url)
    except DomainError as exc:
        return Outcome(False, None, elapsed(), "", f"refused: {exc.message}"[:300])
    timeout = urllib3.Timeout(connect=TIMEOUT_SECONDS, read=TIMEOUT_SECONDS)
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    if target.port != default_port:
        host_header = f"{host_header}:{target.port}"
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, retries=False, maxsize=1
        )
    response = None
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "host": host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        raw = response.read(EXCERPT_BYTES + 1)
        status = response.status
    except Urllib3Timeout:
        return Outcome(False, None, elapsed(), "", f"timed out after {TIMEOUT_SECONDS} s")
    except HTTPError as exc:
        return Outcome(False, None, elapsed(), "", f"connection failed: {type(exc).__name__}")
    except OSError as exc:
        return Outcome(False, None, elapsed(), "", f"connection failed: {type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - any failure is a logged attempt, never a crash
        return Outcome(False, None, elapsed(), "", f"request failed: {type(exc).__name__}")
    finally:
        if response is not None:
            response.release_conn()
            response.close()
        pool.close()
    duration = elapsed()
    if 200 <= status < 300:
        return Outcome(True, status, duration, _excerpt(raw), "")
    if 300 <= status < 400:
        return Outcome(False, status, duration, _excerpt(raw), "redirect not followed")
    return Outcome(False, status, duration, _excerpt(raw), f"HTTP {status}")
