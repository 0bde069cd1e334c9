"""Builders for the auto-correction tests: a claim built from charges, sent in a real 837P
export, and denied by a matched 835 claim payment with one CARC."""

from __future__ import annotations

import itertools
from decimal import Decimal

from core.actors import Actor
from denials.models import Charge, Claim, Denial, RemittanceClaim
from denials.services.claims import claims_build
from denials.services.x12_export import claims_export_837
from tests.denials import charge_builders as cb
from tests.denials import rec_builders as rb

_seq = itertools.count(1)
PAYER = "CORRPAY"


def denied(
    tenant,
    *,
    carc: str = "197",
    code: str = "99213",
    modifier: str = "",
    authorization: str = "",
    member_id: str = "",
    export: bool = True,
    payer_code: str = PAYER,
) -> Denial:
    """A denial (CO-<carc>) on a one-line claim built from a charge and exported."""
    n = next(_seq)
    member_id = member_id or f"CM-{n}"
    cb.payer(tenant, payer_code)
    cb.member(tenant, member_id)
    ch = cb.charge(tenant, f"CC-{n}-{carc}", member_id=member_id, payer_code=payer_code, code=code)
    assert ch.status == Charge.Status.VALID, ch.errors
    Charge.objects.filter(pk=ch.pk).update(modifier=modifier, authorization=authorization)
    system = Actor.system_for(tenant)
    claim = claims_build(actor=system, tenant=tenant, charge_ids=[ch.charge_id])[0]
    if export:
        claims_export_837(actor=system, tenant=tenant, claim_numbers=[claim.number])
    claim = Claim.objects.get(pk=claim.pk)
    r = rb.remittance(tenant, claim.payer)
    rc = rb.remit_claim(
        r,
        pcn=claim.patient_control_number,
        member_code=member_id,
        charge=str(claim.billed_amount),
        paid="0.00",
        state=RemittanceClaim.MatchState.MATCHED_AUTO,
        matched=claim,
    )
    return Denial.objects.create(
        tenant=tenant,
        claim=claim,
        remittance_claim=rc,
        group_code="CO",
        carc=carc,
        amount=Decimal(claim.billed_amount),
    )


def resend_charge(tenant, denial: Denial, **fields) -> Charge:
    """A later CHARGES row for the same service (a new charge id) carrying the fix."""
    line = denial.claim.lines.get(line_number=1)
    ch = cb.charge(
        tenant,
        f"CC-RESENT-{next(_seq)}",
        member_id=denial.claim.member.external_id,
        payer_code=denial.claim.payer.code,
        code=line.code,
        service_date=line.service_date,
    )
    Charge.objects.filter(pk=ch.pk).update(**fields)
    return ch
