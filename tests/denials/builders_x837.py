"""Claims built straight with the ORM for the 837P export tests (the build service is elsewhere)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from billing.models import Member, Payer
from core.models import Tenant
from denials.models import Charge, Claim, ClaimLine

_seq = itertools.count(1)


def payer(tenant: Tenant, code: str = "ACME", **kwargs) -> Payer:
    found = Payer.objects.filter(tenant=tenant, code=code).first()
    defaults = {"name": f"{code.title()} Health", "x12_payer_id": f"{code}01"}
    return found or Payer.objects.create(tenant=tenant, code=code, **(defaults | kwargs))


def member(tenant: Tenant, external_id: str = "M001") -> Member:
    found = Member.objects.filter(tenant=tenant, external_id=external_id).first()
    return found or Member.objects.create(
        tenant=tenant,
        external_id=external_id,
        first_name="Jane",
        last_name="Doe",
        birth_date=date(1980, 1, 2),
    )


def claim(
    tenant: Tenant,
    *,
    number: str | None = None,
    payer_code: str = "ACME",
    member_id: str = "M001",
    lines: list[tuple[str, str, date]] | None = None,
    status: str = Claim.Status.BUILT,
    pcn: str = "",
) -> Claim:
    """A claim with lines (code, amount, service date); billed = the sum of the lines."""
    n = next(_seq)
    number = number or f"CLM-X{n:05d}"
    lines = lines or [("99213", "100.00", date(2026, 2, 2))]
    p, m = payer(tenant, payer_code), member(tenant, member_id)
    dates = [d for _, _, d in lines]
    c = Claim.objects.create(
        tenant=tenant,
        number=number,
        patient_control_number=pcn or number,
        payer=p,
        member=m,
        service_date=min(dates),
        service_date_to=max(dates),
        billed_amount=sum((Decimal(a) for _, a, _ in lines), Decimal("0")),
        status=status,
    )
    for i, (code, amt, d) in enumerate(lines, start=1):
        ch = Charge.objects.create(
            tenant=tenant,
            charge_id=f"CH-{number}-{i}",
            member_code=m.external_id,
            payer_code=p.code,
            member=m,
            payer=p,
            service_date=d,
            code=code,
            amount=Decimal(amt),
            status=Charge.Status.VALID,
        )
        ClaimLine.objects.create(
            tenant=tenant,
            claim=c,
            charge=ch,
            line_number=i,
            service_date=d,
            code=code,
            units=Decimal("1"),
            amount=Decimal(amt),
        )
    return c
