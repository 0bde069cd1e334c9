"""The reusable permission matrix (SPEC 11): every endpoint and screen, checked for every role.

An app registers its endpoints with `register(Endpoint(...))` in `tests/<app>/endpoints.py`;
`tests/test_permission_matrix.py` runs `assert_matrix` for each. For every role of tenant A the
request must succeed when the role holds the endpoint's scope and answer 403 when it does not; an
anonymous client gets 401 (API) or a redirect to the sign-in page (screen); a user of tenant B
gets 404 for an object of tenant A, and never sees tenant A's data in a list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import scopes as S

Ctx = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """One API endpoint or staff screen and the scope it needs (None: any member)."""

    name: str
    method: str
    url: Callable[[Ctx], str]
    scope: str | None
    kind: str = "api"  # "api" or "screen"
    setup: Callable[[Any], Ctx] = lambda world: {}
    data: Callable[[Ctx], Any] = lambda ctx: None
    success: frozenset[int] = frozenset({200, 201, 302})
    object_of_tenant: bool = False  # the URL names an object of tenant A
    marker: Callable[[Ctx], str] | None = None  # text of tenant A that B must never see
    scope_holders: Callable[[str], bool] | None = None  # override who may (e.g. owner-only)
    format: str = "json"  # how an API request body is encoded ("multipart" for uploads)


ENDPOINTS: list[Endpoint] = []


def register(*endpoints: Endpoint) -> None:
    """Add endpoints to the matrix."""
    ENDPOINTS.extend(endpoints)


def _send(client, ep: Endpoint, ctx: Ctx):
    url = ep.url(ctx)
    data = ep.data(ctx)
    method = ep.method.lower()
    if ep.kind == "api":
        return getattr(client, method)(url, data, format=ep.format)
    return getattr(client, method)(url, data or {})


def _body(response) -> str:
    """The response text, streamed (CSV exports) or not."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode(errors="replace")


def _may(ep: Endpoint, role: str) -> bool:
    if ep.scope_holders is not None:
        return ep.scope_holders(role)
    return ep.scope is None or ep.scope in S.scopes_for_role(role)


def assert_matrix(ep: Endpoint, world) -> None:
    """Check one endpoint for every role, anonymous and another tenant's user."""
    problems = []
    for role in [r.value for r in S.Role]:
        ctx = ep.setup(world)
        response = _send(world.client(role), ep, ctx)
        if _may(ep, role):
            if response.status_code not in ep.success:
                problems.append(f"{role}: expected success, got {response.status_code}")
        elif response.status_code != 403:
            problems.append(f"{role}: expected 403, got {response.status_code}")

    ctx = ep.setup(world)
    response = _send(world.client(None), ep, ctx)
    if ep.kind == "api":
        if response.status_code != 401:
            problems.append(f"anonymous: expected 401, got {response.status_code}")
    elif response.status_code != 302 or "/login/" not in response.headers.get("Location", ""):
        problems.append(f"anonymous: expected a redirect to sign-in, got {response.status_code}")

    ctx = ep.setup(world)
    response = _send(world.client("outsider"), ep, ctx)
    if ep.object_of_tenant:
        if response.status_code != 404:
            problems.append(f"other tenant: expected 404, got {response.status_code}")
    elif ep.marker is not None and ep.marker(ctx) in _body(response):
        problems.append("other tenant: sees tenant A's data")
    assert not problems, f"{ep.name}: " + "; ".join(problems)
