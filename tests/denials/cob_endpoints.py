"""Coverage, COB and secondary-claim endpoints and screens in the permission matrix (issue 14).

Each setup makes a fresh member of tenant A with employer coverage (NYSDOH, 50 employees,
active) and Medicare (MCARE), an active override for the removal endpoints, and a claim to
NYSDOH with its 835 posted (partially paid) for the secondary-claim build.
"""

from __future__ import annotations

import itertools

from core import scopes as S
from denials.models import CobOverride, Coverage
from denials.remit_rows import read_row
from denials.services.posting import remittance_rows_load
from tests.denials.cob_builders import coverage
from tests.denials.remit_builders import claim, member, payer, sample_rows
from tests.permissions import Endpoint, register

VIEW, WRITE, OVERRIDE = S.CLAIMS_VIEW, S.CLAIMS_WRITE, S.BILLING_COB_OVERRIDE
_seq = itertools.count(1)


def _setup(world) -> dict:
    n = next(_seq)
    code = f"MXCOB{n}"
    m = member(world.tenant, code)
    coverage(world.tenant, m, "NYSDOH", Coverage.Kind.COMMERCIAL, size=50, active=True)
    coverage(world.tenant, m, "MCARE", Coverage.Kind.MEDICARE)
    CobOverride.objects.create(
        tenant=world.tenant, member=m, ordering=["MCARE", "NYSDOH"], reason="matrix"
    )
    number = f"CLM-{700000 + n}"
    pcn = f"MX-COB-{n}"
    claim(world.tenant, number, payer_obj=payer(world.tenant), member_id=code, billed="34.25",
          pcn=pcn)  # fmt: skip
    row = sample_rows()[2] | {
        "trace_number": f"MXCOBTRACE{n}",
        "patient_control_number": pcn,
        "member_id": code,
        "payer_claim_control_number": f"COB{n}",
    }
    errors = remittance_rows_load(tenant_id=world.tenant.pk, rows=[(1, read_row(row)[0])])
    assert not errors, errors
    # the secondary build follows the ladder (NYSDOH first): the override is for removal only
    return {"member": m.pk, "code": code, "claim": number}


def _setup_no_override(world) -> dict:
    ctx = _setup(world)
    CobOverride.objects.filter(member_id=ctx["member"]).update(active=False)
    return ctx


BODY = {
    "payer_code": "MCARE",
    "kind": "MEDICARE",
    "employer_size": None,
    "active_employment": False,
    "effective": "2026-01-01",
    "termination": None,
}

register(
    Endpoint(
        "api coverages list",
        "GET",
        lambda c: "/api/coverages",
        VIEW,
        setup=_setup,
        success=frozenset({200}),
        marker=lambda c: c["code"],
        payer_scoped=True,
    ),
    Endpoint(
        "api coverages create",
        "POST",
        lambda c: "/api/coverages",
        WRITE,
        setup=_setup,
        data=lambda c: BODY | {"member_id": c["code"]},
        success=frozenset({201}),
        marker=lambda c: c["code"],
    ),
    Endpoint(
        "api member cob",
        "GET",
        lambda c: f"/api/members/{c['member']}/cob",
        VIEW,
        setup=_setup,
        success=frozenset({200}),
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api member cob-override set",
        "POST",
        lambda c: f"/api/members/{c['member']}/cob-override",
        OVERRIDE,
        setup=_setup,
        data=lambda c: {"ordering": ["NYSDOH", "MCARE"], "reason": "matrix"},
        success=frozenset({201}),
        object_of_tenant=True,
    ),
    Endpoint(
        "api member cob-override remove",
        "DELETE",
        lambda c: f"/api/members/{c['member']}/cob-override?reason=matrix",
        OVERRIDE,
        setup=_setup,
        success=frozenset({200}),
        object_of_tenant=True,
    ),
    Endpoint(
        "api claim secondary",
        "POST",
        lambda c: f"/api/claims/{c['claim']}/secondary",
        WRITE,
        setup=_setup_no_override,
        success=frozenset({201}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen member cob",
        "GET",
        lambda c: f"/claims/members/{c['member']}/cob/",
        VIEW,
        kind="screen",
        setup=_setup,
        success=frozenset({200}),
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen member cob override",
        "POST",
        lambda c: f"/claims/members/{c['member']}/cob/override/",
        OVERRIDE,
        kind="screen",
        setup=_setup,
        data=lambda c: {"ordering": ["NYSDOH", "MCARE"], "reason": "matrix"},
        success=frozenset({302}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen member cob override remove",
        "POST",
        lambda c: f"/claims/members/{c['member']}/cob/override/remove/",
        OVERRIDE,
        kind="screen",
        setup=_setup,
        data=lambda c: {"reason": "matrix"},
        success=frozenset({302}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen claim secondary",
        "POST",
        lambda c: f"/claims/{c['claim']}/secondary/",
        WRITE,
        kind="screen",
        setup=_setup_no_override,
        success=frozenset({302}),
        object_of_tenant=True,
    ),
)
