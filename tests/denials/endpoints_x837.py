"""The 837P export's API endpoints and screens in the permission matrix (issue 13, part x837).

Each setup builds a fresh BUILT claim of tenant A, so one role's export never leaves the next
role nothing to export.
"""

from __future__ import annotations

from core import scopes as S
from core.actors import Actor
from denials.services.x12_export import claims_export_837
from tests.denials.builders_x837 import claim
from tests.permissions import OTHER_PAYER_CODE, Endpoint, register

VIEW, WRITE = S.CLAIMS_VIEW, S.CLAIMS_WRITE
OK = frozenset({200})


def _built(world) -> dict:
    c = claim(world.tenant)
    return {"claim": c.number}


def _built_beside_other_payer(world) -> dict:
    """A fresh BUILT claim, and one of the payer the matrix's narrowed member is granted (so
    that member's export of all built claims has a claim of its own and succeeds)."""
    claim(world.tenant, payer_code=OTHER_PAYER_CODE)
    return _built(world)


def _interchange(world) -> dict:
    c = claim(world.tenant)
    x = claims_export_837(
        actor=Actor.system_for(world.tenant), tenant=world.tenant, claim_numbers=[c.number]
    )
    return {"interchange": x.pk, "icn": x.interchange_control_number, "claim": c.number}


register(
    Endpoint(
        "api claims 837 export",
        "GET",
        # all built claims: what the caller may export is exactly what the service selects
        # (a named claim of a hidden payer is refused as unknown: tests/denials/test_x837_api.py)
        lambda c: "/api/claims/837?all_built=true",
        WRITE,
        setup=_built_beside_other_payer,
        success=OK,
        marker=lambda c: c["claim"],
        payer_scoped=True,
    ),
    Endpoint(
        "api claims interchanges list",
        "GET",
        lambda c: "/api/claims/interchanges",
        VIEW,
        setup=_interchange,
        success=OK,
        marker=lambda c: f'"{c["icn"]}"',
        payer_scoped=True,
    ),
    Endpoint(
        "api claims interchange file",
        "GET",
        lambda c: f"/api/claims/interchanges/{c['interchange']}/file",
        VIEW,
        setup=_interchange,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen claims 837 export",
        "GET",
        lambda c: "/claims/export-837/",
        VIEW,
        kind="screen",
        setup=_built,
        success=OK,
        marker=lambda c: c["claim"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen claims 837 export (export)",
        "POST",
        lambda c: "/claims/export-837/",
        WRITE,
        kind="screen",
        setup=_built,
        data=lambda c: {"claim": [c["claim"]]},
        success=frozenset({302}),
    ),
    Endpoint(
        "screen claims 837 file",
        "GET",
        lambda c: f"/claims/export-837/{c['interchange']}/file/",
        VIEW,
        kind="screen",
        setup=_interchange,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
)
