"""The reusable permission matrix (SPEC 11): every endpoint and screen, checked for every role.

An app registers its endpoints with `register(Endpoint(...))` in `tests/<app>/endpoints.py`;
`tests/test_permission_matrix.py` runs `assert_matrix` for each. For every role of tenant A the
request must succeed when the role holds the endpoint's scope and answer 403 when it does not; an
anonymous client gets 401 (API) or a redirect to the sign-in page (screen); a user of tenant B
gets 404 for an object of tenant A, and never sees tenant A's data in a list.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_framework.test import APIClient

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
    # The data is payer-scoped (see PAYER_SCOPED_APPS): a member of tenant A holding the scope
    # but granted only another payer gets 404 for the object (object_of_tenant) or never sees
    # the marker (lists, exports, reports).
    payer_scoped: bool = False


ENDPOINTS: list[Endpoint] = []

# Registries are found, not listed: every tests/<app>/*endpoints*.py module registers endpoints.
# The URL coverage test then fails for any route none of them registered.
_TESTS_DIR = Path(__file__).resolve().parent


def registry_modules() -> list[str]:
    """Dotted names of the registry modules, in a stable order."""
    return sorted(
        f"tests.{path.parent.name}.{path.stem}" for path in _TESTS_DIR.glob("*/*endpoints*.py")
    )


def load_registries() -> list[Endpoint]:
    """Import every registry module (once) and return the registered endpoints."""
    for module in registry_modules():
        importlib.import_module(module)
    return ENDPOINTS


def register(*endpoints: Endpoint) -> None:
    """Add endpoints to the matrix."""
    ENDPOINTS.extend(endpoints)


# The payer the narrowed member of `_check_payer_grants` is granted. No setup uses it, unless an
# endpoint refuses to answer without a row of the caller's own (an export of "all built claims"
# with none is a 400): such a setup adds a row of this payer, so the narrowed member gets a
# success whose body must still not carry the marker.
OTHER_PAYER_CODE = "MATRIX-OTHER"


def _restricted_client(ep: Endpoint, world):
    """A member of tenant A with the endpoint's scope, granted one payer none of the setups use."""
    from billing.models import Payer
    from core.actors import Actor
    from core.models import TenantMembership
    from core.services import membership_add, object_access_grant, user_ensure

    role = next(r.value for r in reversed(S.Role) if _may(ep, r.value))
    user = user_ensure(username=f"alpha-payer-restricted-{role.lower()}")
    system = Actor.system_for(world.tenant)
    membership = TenantMembership.objects.filter(tenant=world.tenant, user=user).first()
    if membership is None:
        membership = membership_add(actor=system, user=user, role=role)
        other, _ = Payer.objects.get_or_create(
            tenant=world.tenant, code=OTHER_PAYER_CODE, defaults={"name": "Matrix Other Payer"}
        )
        object_access_grant(actor=system, membership_id=membership.pk, obj=other)
    client = APIClient()
    client.force_login(user)
    return client


def _check_payer_grants(ep: Endpoint, world, problems: list[str]) -> None:
    if ep.object_of_tenant:
        response = _send(_restricted_client(ep, world), ep, ep.setup(world))
        if response.status_code != 404:
            problems.append(
                f"member granted another payer: expected 404, got {response.status_code}"
            )
    elif ep.marker is not None:
        ctx = ep.setup(world)
        response = _send(_restricted_client(ep, world), ep, ctx)
        if response.status_code not in ep.success:
            problems.append(
                f"member granted another payer: expected success, got {response.status_code}"
            )
        elif ep.marker(ctx) in _body(response):
            problems.append("member granted another payer: sees the other payers' data")
    else:
        problems.append("payer_scoped needs object_of_tenant or a marker to check")


def _send(client, ep: Endpoint, ctx: Ctx):
    url = ep.url(ctx)
    data = ep.data(ctx)
    method = ep.method.lower()
    if ep.kind == "api":
        return getattr(client, method)(url, data, format=ep.format)
    return getattr(client, method)(url, data or {})


def _body(response) -> str:
    """The response's text, streamed (CSV exports) or not."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode(errors="replace")


def _may(ep: Endpoint, role: str) -> bool:
    if ep.scope_holders is not None:
        return ep.scope_holders(role)
    return ep.scope is None or ep.scope in S.scopes_for_role(role)


def assert_matrix(ep: Endpoint, world) -> None:
    """Check one endpoint for every role, anonymous and another tenant's user."""
    problems = []
    # a marker no member of tenant A is ever shown would make the checks below prove nothing
    marker_answers = marker_shown = 0
    for role in [r.value for r in S.Role]:
        ctx = ep.setup(world)
        response = _send(world.client(role), ep, ctx)
        if _may(ep, role):
            if response.status_code not in ep.success:
                problems.append(f"{role}: expected success, got {response.status_code}")
            elif ep.marker is not None and response.status_code == 200:
                marker_answers += 1
                marker_shown += ep.marker(ctx) in _body(response)
        elif response.status_code != 403:
            problems.append(f"{role}: expected 403, got {response.status_code}")
    if marker_answers and not marker_shown:
        problems.append("the marker is in no answer to tenant A's own members: it checks nothing")

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
    if ep.payer_scoped:
        _check_payer_grants(ep, world, problems)
    assert not problems, f"{ep.name}: " + "; ".join(problems)
