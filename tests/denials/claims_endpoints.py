"""Charges and claims API endpoints and screens in the permission matrix (issue 13, item 11).

Every setup builds fresh charges (and a claim when the URL names one) in tenant A, so one role's
success never blocks the next role's attempt.
"""

from __future__ import annotations

import itertools

from core import scopes as S
from core.actors import Actor
from denials.services.claims import claims_build
from tests.denials.charge_builders import charge, member, payer
from tests.permissions import Endpoint, register

VIEW, WRITE = S.CLAIMS_VIEW, S.CLAIMS_WRITE
OK, CREATED, PAGE, REDIRECT = (
    frozenset({200}),
    frozenset({201}),
    frozenset({200}),
    frozenset({302}),
)
_seq = itertools.count(1)


def _charge(world) -> dict:
    n = next(_seq)
    payer(world.tenant, "MXPAYER")
    member(world.tenant, f"MXM-{n}")
    c = charge(world.tenant, f"MXC-{n}", member_id=f"MXM-{n}", payer_code="MXPAYER")
    return {"charge": c.charge_id, "member": f"MXM-{n}"}


def _claim(world) -> dict:
    ctx = _charge(world)
    (claim,) = claims_build(
        actor=Actor.system_for(world.tenant), tenant=world.tenant, charge_ids=[ctx["charge"]]
    )
    return {**ctx, "number": claim.number}


register(
    Endpoint(
        "api charges list",
        "GET",
        lambda c: "/api/charges",
        VIEW,
        setup=_charge,
        success=OK,
        marker=lambda c: c["charge"],
        payer_scoped=True,
    ),
    Endpoint(
        "api charges validate",
        "POST",
        lambda c: "/api/charges/validate",
        WRITE,
        setup=_charge,
        data=lambda c: {"chargeIds": [c["charge"]]},
        success=OK,
    ),
    Endpoint(
        "api claims build",
        "POST",
        lambda c: "/api/claims/build",
        WRITE,
        setup=_charge,
        data=lambda c: {"chargeIds": [c["charge"]]},
        success=CREATED,
    ),
    Endpoint(
        "api claims list",
        "GET",
        lambda c: "/api/claims",
        VIEW,
        setup=_claim,
        success=OK,
        marker=lambda c: c["member"],
        payer_scoped=True,
    ),
    Endpoint(
        "api claim detail",
        "GET",
        lambda c: f"/api/claims/{c['number']}",
        VIEW,
        setup=_claim,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen charges",
        "GET",
        lambda c: "/claims/charges/",
        VIEW,
        kind="screen",
        setup=_charge,
        success=PAGE,
        marker=lambda c: c["charge"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen charges export",
        "GET",
        lambda c: "/claims/charges/export.csv",
        VIEW,
        kind="screen",
        setup=_charge,
        success=PAGE,
        marker=lambda c: c["charge"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen claims export",
        "GET",
        lambda c: "/claims/export.csv",
        VIEW,
        kind="screen",
        setup=_claim,
        success=PAGE,
        marker=lambda c: c["member"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen charges validate",
        "POST",
        lambda c: "/claims/charges/validate/",
        WRITE,
        kind="screen",
        setup=_charge,
        success=REDIRECT,
    ),
    Endpoint(
        "screen claims build",
        "POST",
        lambda c: "/claims/charges/build/",
        WRITE,
        kind="screen",
        setup=_charge,
        data=lambda c: {"charge": [c["charge"]]},
        success=REDIRECT,
    ),
    Endpoint(
        "screen claims list",
        "GET",
        lambda c: "/claims/",
        VIEW,
        kind="screen",
        setup=_claim,
        success=PAGE,
        marker=lambda c: c["member"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen claim detail",
        "GET",
        lambda c: f"/claims/{c['number']}/",
        VIEW,
        kind="screen",
        setup=_claim,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
)
