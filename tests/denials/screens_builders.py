"""Builders for the denial screens' tests: a claim paid in part by a matched 835 line and the
denial the rest opened, made directly with the ORM (posting is tested elsewhere)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from denials.models import Denial, PaymentApplication, RemittanceClaim
from tests.denials import rec_builders as rb

_seq = itertools.count(1)


def denial(
    tenant,
    *,
    payer: str = "DNP",
    carc: str = "29",
    group: str = "CO",
    billed: str = "100.00",
    paid: str = "60.00",
    days_old: int = 0,
    status: str = Denial.Status.OPEN,
    assignee=None,
    rarcs: tuple[str, ...] = (),
) -> Denial:
    """A denial of billed - paid on a fresh claim of `payer`, opened `days_old` days ago."""
    n = next(_seq)
    p = rb.payer(tenant, payer, name=f"Payer {payer}")
    m = rb.member(tenant, f"DM{n:05d}")
    c = rb.claim(tenant, p, m, billed=billed, number=f"CLM-{900000 + n:06d}")
    r = rb.remittance(tenant, p, trace=f"DTRC{n:06d}", amount=paid)
    denied = Decimal(billed) - Decimal(paid)
    line = rb.remit_claim(
        r,
        pcn=c.patient_control_number,
        member_code=m.external_id,
        charge=billed,
        paid=paid,
        state=RemittanceClaim.MatchState.MATCHED_AUTO,
        matched=c,
        adjustments=[{"group": group, "carc": carc, "amount": str(denied), "line": 1}],
        lines=[{"line": 1, "code": "99213", "charge": billed, "paid": paid}],
    )
    rb.pay(c, paid, line)
    opened = timezone.now() - timedelta(days=days_old)
    return Denial.objects.create(
        tenant=tenant,
        claim=c,
        remittance_claim=line,
        group_code=group,
        carc=carc,
        rarcs=list(rarcs),
        amount=denied,
        status=status,
        assignee=assignee,
        created_at=opened,
    )


def written_off(tenant, actor, **kw) -> Denial:
    """A denial written off through the service (its WRITEOFF application exists)."""
    from denials.services.denial_work import denial_write_off

    d = denial(tenant, **kw)
    return denial_write_off(actor=actor, denial_id=d.pk, reason="uncollectable")


def app_kinds(d: Denial) -> list[str]:
    return list(
        PaymentApplication.objects.filter(claim=d.claim_id)
        .order_by("id")
        .values_list("kind", flat=True)
    )
