"""Remittances, receivables and denials API endpoints in the permission matrix (issue 13).

Every setup loads a fresh remittance of tenant A through the REMITTANCE kind (system actor):
one claim payment waiting in the queue (two claims share its number), so force-match has a
line to take for each role, and one matched payment with a denial for unmatch and the lists.
"""

from __future__ import annotations

import itertools

from core import scopes as S
from denials.models import RemittanceClaim
from denials.remit_rows import read_row
from denials.services.posting import remittance_rows_load
from tests.denials.remit_builders import claim, payer, sample_rows
from tests.permissions import Endpoint, register

VIEW, OVERRIDE = S.CLAIMS_VIEW, S.BILLING_RECEIVABLE_OVERRIDE
OK = frozenset({200})
_seq = itertools.count(1)


def _setup(world) -> dict:
    n = next(_seq)
    p = payer(world.tenant)
    pcn = f"MX-PCN-{n}"
    c1 = claim(world.tenant, f"MXQ-{n}-1", payer_obj=p, member_id=f"MXA{n}", billed="34.25",
               pcn=pcn)  # fmt: skip
    claim(world.tenant, f"MXQ-{n}-2", payer_obj=p, member_id=f"MXB{n}", billed="34.25", pcn=pcn)
    matched = claim(world.tenant, f"MXM-{n}", payer_obj=p, member_id=f"MXM{n}", billed="34.00",
                    pcn=f"MX-DEN-{n}")  # fmt: skip
    trace = f"MXTRACE{n}"
    waiting = sample_rows()[0] | {
        "trace_number": trace,
        "patient_control_number": pcn,
        "member_id": f"NOBODY{n}",
        "payer_claim_control_number": f"Q{n}",
    }
    denied = sample_rows()[1] | {
        "trace_number": trace,
        "patient_control_number": f"MX-DEN-{n}",
        "member_id": f"MXM{n}",
        "payer_claim_control_number": f"D{n}",
    }
    rows = [(i, read_row(r)[0]) for i, r in enumerate((waiting, denied), start=1)]
    errors = remittance_rows_load(tenant_id=world.tenant.pk, rows=rows)
    assert not errors, errors
    queued = RemittanceClaim.objects.get(payer_claim_control_number=f"Q{n}")
    posted = RemittanceClaim.objects.get(payer_claim_control_number=f"D{n}")
    assert posted.claim == matched
    return {
        "trace": trace,
        "remittance": queued.remittance_id,
        "queued": queued.pk,
        "posted": posted.pk,
        "claim": c1.number,
        "denied_claim": matched.number,
    }


register(
    Endpoint(
        "api remittances list",
        "GET",
        lambda c: "/api/remittances",
        VIEW,
        setup=_setup,
        success=OK,
        marker=lambda c: c["trace"],
        payer_scoped=True,
    ),
    Endpoint(
        "api remittance detail",
        "GET",
        lambda c: f"/api/remittances/{c['remittance']}",
        VIEW,
        setup=_setup,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api receivables queue",
        "GET",
        lambda c: "/api/receivables/queue",
        VIEW,
        setup=_setup,
        success=OK,
        marker=lambda c: c["claim"],
        payer_scoped=True,
    ),
    Endpoint(
        "api receivables force-match",
        "POST",
        lambda c: f"/api/receivables/{c['queued']}/force-match",
        OVERRIDE,
        setup=_setup,
        data=lambda c: {"claim": c["claim"], "reason": "matrix"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api receivables unmatch",
        "POST",
        lambda c: f"/api/receivables/{c['posted']}/unmatch",
        OVERRIDE,
        setup=_setup,
        data=lambda c: {"reason": "matrix"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api denials list",
        "GET",
        lambda c: "/api/denials",
        VIEW,
        setup=_setup,
        success=OK,
        marker=lambda c: c["denied_claim"],
        payer_scoped=True,
    ),
)
