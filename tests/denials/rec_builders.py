"""Builders for the remittance and receivables screens' tests: payers, members, claims,
remittances and their claim payments, made directly with the ORM (the services that load and
post remittances come from other parts of issue 13)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from django.utils import timezone

from billing.models import Member, Payer
from denials import matching
from denials.models import Claim, PaymentApplication, Remittance, RemittanceClaim

_seq = itertools.count(1)
DAY = date(2026, 10, 5)


def payer(tenant, code: str = "RSP", name: str = "Receivables Payer") -> Payer:
    found = Payer.objects.filter(tenant=tenant, code=code).first()
    return found or Payer.objects.create(tenant=tenant, code=code, name=name)


def member(tenant, external_id: str) -> Member:
    found = Member.objects.filter(tenant=tenant, external_id=external_id).first()
    return found or Member.objects.create(
        tenant=tenant,
        external_id=external_id,
        first_name="Pat",
        last_name="Doe",
        birth_date=date(1980, 1, 1),
    )


def claim(
    tenant,
    p: Payer,
    m: Member,
    *,
    number: str = "",
    pcn: str = "",
    billed: str = "100.00",
    day: date = DAY,
    status: str = Claim.Status.SUBMITTED,
) -> Claim:
    number = number or f"CLM-R{next(_seq):05d}"
    return Claim.objects.create(
        tenant=tenant,
        number=number,
        patient_control_number=pcn or number,
        payer=p,
        member=m,
        service_date=day,
        service_date_to=day,
        billed_amount=Decimal(billed),
        status=status,
    )


def remittance(tenant, p: Payer, *, trace: str = "", amount: str = "0.00", **kw) -> Remittance:
    return Remittance.objects.create(
        tenant=tenant,
        payer=p,
        trace_number=trace or f"TRC{next(_seq):06d}",
        payment_amount=Decimal(amount),
        payment_method="ACH",
        payment_date=DAY,
        **kw,
    )


def _candidate(c: Claim) -> matching.Candidate:
    return matching.Candidate(
        claim_id=c.pk,
        patient_control_number=c.patient_control_number,
        member_id=c.member.external_id,
        billed_amount=c.billed_amount,
        service_date=c.service_date,
        service_date_to=c.service_date_to,
    )


def remit_claim(
    r: Remittance,
    *,
    pcn: str,
    member_code: str,
    charge: str = "100.00",
    paid: str = "80.00",
    candidates: list[Claim] = (),
    state: str = RemittanceClaim.MatchState.UNMATCHED,
    matched: Claim | None = None,
    user=None,
    reason: str = "",
    at=None,
    **kw,
) -> RemittanceClaim:
    """A claim payment scored (with the real matcher) against `candidates`, in `state`."""
    remit = matching.Remit(pcn, member_code, Decimal(charge), DAY, DAY)
    ranked = matching.rank(remit, [_candidate(c) for c in candidates])
    evidence = {}
    score = None
    if matched is not None:
        scored = matching.score(remit, _candidate(matched))
        evidence, score = scored.evidence(), scored.score
    n = r.claims.count() + 1
    return RemittanceClaim.objects.create(
        tenant=r.tenant,
        remittance=r,
        row_number=n,
        patient_control_number=pcn,
        status_code="1",
        charge_amount=Decimal(charge),
        paid_amount=Decimal(paid),
        payer_claim_control_number=f"PCC{next(_seq):06d}",
        member_code=member_code,
        service_date=DAY,
        service_date_to=DAY,
        match_state=state,
        claim=matched,
        score=score,
        evidence=evidence,
        candidates=[s.evidence() for s in ranked],
        matched_by=user,
        matched_at=at or (timezone.now() if matched is not None else None),
        match_reason=reason,
        overridden_score=score if state == RemittanceClaim.MatchState.MATCHED_FORCED else None,
        **kw,
    )


def pay(c: Claim, amount: str, line: RemittanceClaim | None = None) -> PaymentApplication:
    return PaymentApplication.objects.create(
        tenant=c.tenant,
        claim=c,
        kind=PaymentApplication.Kind.PAYMENT,
        amount=Decimal(amount),
        remittance_claim=line,
    )


def waiting_line(tenant, *, code: str = "RSP", trace: str = "") -> dict:
    """A remittance with one line waiting between two candidate claims of the same member."""
    p = payer(tenant, code)
    m = member(tenant, f"MQ{next(_seq):05d}")
    first = claim(tenant, p, m, billed="100.00")
    second = claim(tenant, p, m, billed="250.00")
    r = remittance(tenant, p, trace=trace, amount="80.00")
    line = remit_claim(
        r, pcn=f"PCN{next(_seq):05d}", member_code=m.external_id, candidates=[first, second]
    )
    return {"payer": p, "member": m, "claims": (first, second), "remittance": r, "line": line}
