"""Auto-correction endpoints and screen actions in the permission matrix (issue 14, corr).

Every setup makes a fresh CO-197 denial on an exported claim of tenant A, so a run or a
force-retry has something to decide for each role.
"""

from __future__ import annotations

from core import scopes as S
from tests.denials.corr_builders import denied
from tests.permissions import Endpoint, register

VIEW, RUN, OVERRIDE = (
    S.CLAIMS_VIEW,
    S.BILLING_AUTOCORRECTION_RUN,
    S.BILLING_AUTOCORRECTION_OVERRIDE,
)


def _setup(world) -> dict:
    d = denied(world.tenant, carc="197")
    return {"denial": d.pk, "claim": d.claim.number}


FORCE = {"reason_code": "stale_skip", "reason": "matrix"}

register(
    Endpoint(
        "api denial corrections list",
        "GET",
        lambda c: f"/api/denials/{c['denial']}/corrections",
        VIEW,
        setup=_setup,
        success=frozenset({200}),
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api denial corrections run",
        "POST",
        lambda c: f"/api/denials/{c['denial']}/corrections",
        RUN,
        setup=_setup,
        data=lambda c: {},
        success=frozenset({201}),
        object_of_tenant=True,
    ),
    Endpoint(
        "api denial corrections force-retry",
        "POST",
        lambda c: f"/api/denials/{c['denial']}/corrections/force-retry",
        OVERRIDE,
        setup=_setup,
        data=lambda c: FORCE,
        success=frozenset({201}),
        object_of_tenant=True,
    ),
    Endpoint(
        "api correction handlers",
        "GET",
        lambda c: "/api/corrections/handlers",
        VIEW,
        success=frozenset({200}),
    ),
    Endpoint(
        "screen denial correction run",
        "POST",
        lambda c: f"/claims/denials/{c['denial']}/corrections/run/",
        RUN,
        kind="screen",
        setup=_setup,
        success=frozenset({302}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen denial correction force-retry",
        "POST",
        lambda c: f"/claims/denials/{c['denial']}/corrections/force-retry/",
        OVERRIDE,
        kind="screen",
        setup=_setup,
        data=lambda c: FORCE,
        success=frozenset({302}),
        object_of_tenant=True,
    ),
)
