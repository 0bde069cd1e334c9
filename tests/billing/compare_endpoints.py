"""Run comparison's screens and API endpoints in the permission matrix (SPEC 2, 9, 11).

They only read: one run and its regeneration per test serve every role; tenant B's owner gets
404 for tenant A's runs.
"""

from __future__ import annotations

from core import scopes as S
from tests.billing import compare_builders as cb
from tests.permissions import Endpoint, register

VIEW, OK = S.BILLING_RUN_VIEW, frozenset({200})


def _regeneration(world) -> dict:
    ctx = getattr(world, "_billing_compare", None)
    if ctx is None:
        regen = cb.regeneration(world.tenant)
        ctx = {"run": regen.second.pk, "with": regen.first.pk}
        world._billing_compare = ctx
    return ctx


def _endpoint(name: str, url, kind: str) -> Endpoint:
    return Endpoint(
        name,
        "GET",
        url,
        VIEW,
        kind=kind,
        setup=_regeneration,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    )


register(
    _endpoint(
        "screen billing run compare",
        lambda c: f"/billing/runs/{c['run']}/compare/?with={c['with']}",
        "screen",
    ),
    _endpoint(
        "screen billing run compare csv",
        lambda c: f"/billing/runs/{c['run']}/compare.csv?with={c['with']}",
        "screen",
    ),
    _endpoint(
        "api billing run compare",
        lambda c: f"/api/billing/runs/{c['run']}/compare?with={c['with']}",
        "api",
    ),
    _endpoint(
        "api billing run compare changes",
        lambda c: f"/api/billing/runs/{c['run']}/compare/changes?with={c['with']}",
        "api",
    ),
    _endpoint(
        "api billing run compare csv",
        lambda c: f"/api/billing/runs/{c['run']}/compare.csv?with={c['with']}",
        "api",
    ),
)
