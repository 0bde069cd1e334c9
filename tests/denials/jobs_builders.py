"""Claims and applications built straight with the ORM for the jobs and reporting tests.

The claim build and posting services come from other parts of issue 13; these tests only need
claims in a given state with given applications.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from billing.models import Member, Payer
from denials.models import Claim, PaymentApplication

_seq = itertools.count(1)


def payer(tenant, code: str = "ACME", *, days: int = 90, name: str = "") -> Payer:
    found = Payer.objects.filter(tenant=tenant, code=code).first()
    return found or Payer.objects.create(
        tenant=tenant, code=code, name=name or f"{code} Health Plan", timely_filing_days=days
    )


def member(tenant, external_id: str = "") -> Member:
    external_id = external_id or f"M{next(_seq):05d}"
    found = Member.objects.filter(tenant=tenant, external_id=external_id).first()
    return found or Member.objects.create(
        tenant=tenant,
        external_id=external_id,
        first_name="Pat",
        last_name="Example",
        birth_date=date(1980, 1, 1),
    )


def claim(
    tenant,
    *,
    payer_obj: Payer,
    service_date: date,
    billed: str = "100.00",
    submitted_on: date | None = None,
    status: str | None = None,
) -> Claim:
    """A claim (BUILT, or SUBMITTED on `submitted_on`, then settled to `status`)."""
    n = next(_seq)
    c = Claim.objects.create(
        tenant=tenant,
        number=f"CLM-T{n:06d}",
        patient_control_number=f"PCN{n}",
        payer=payer_obj,
        member=member(tenant),
        service_date=service_date,
        service_date_to=service_date,
        billed_amount=Decimal(billed),
    )
    if submitted_on is not None:
        c.submit(
            at=datetime(submitted_on.year, submitted_on.month, submitted_on.day, 12, tzinfo=UTC),
            interchange=f"{n:09d}",
        )
        c.save()
    if status is not None and status != c.status:
        c.settle(status=status)
        c.save()
    return c


def apply(c: Claim, kind: str, amount: str, *, reverses=None) -> PaymentApplication:
    return PaymentApplication.objects.create(
        tenant=c.tenant, claim=c, kind=kind, amount=Decimal(amount), reverses=reverses
    )
