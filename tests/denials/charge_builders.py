"""Builders for charges and claims tests (issue 13, part charges)."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date
from decimal import Decimal

from billing.models import Member, Payer
from core.actors import Actor
from core.models import Tenant
from denials.ingest_charges import COLUMNS
from denials.models import Charge
from denials.services.charges import charges_validate
from ingestion import services as ingestion
from ingestion.models import Batch

DAY = date(2026, 11, 2)
_seq = itertools.count(1)


def payer(tenant: Tenant, code: str = "NORTHWIND") -> Payer:
    found = Payer.objects.filter(tenant=tenant, code=code).first()
    return found or Payer.objects.create(tenant=tenant, code=code, name=f"{code.title()} Health")


def member(tenant: Tenant, external_id: str = "M-1") -> Member:
    found = Member.objects.filter(tenant=tenant, external_id=external_id).first()
    return found or Member.objects.create(
        tenant=tenant,
        external_id=external_id,
        first_name="Ada",
        last_name="Example",
        birth_date=date(1980, 1, 1),
    )


def payers_and_members(tenant: Tenant, *payer_codes: str) -> None:
    """The payers (default NORTHWIND) and members M-1, M-2 that a valid charge names."""
    for code in payer_codes or ("NORTHWIND",):
        payer(tenant, code)
    member(tenant, "M-1")
    member(tenant, "M-2")


def charge(
    tenant: Tenant,
    charge_id: str | None = None,
    *,
    member_id: str = "M-1",
    payer_code: str = "NORTHWIND",
    service_date: date = DAY,
    amount: str = "100.00",
    code: str = "99213",
    claim_number: str = "",
    validate: bool = True,
) -> Charge:
    """A charge stored as loaded (PENDING), validated unless told otherwise."""
    charge_id = charge_id or f"CH-{next(_seq)}"
    c = Charge.objects.create(
        tenant=tenant,
        charge_id=charge_id,
        claim_number=claim_number,
        member_code=member_id,
        payer_code=payer_code,
        service_date=service_date,
        code=code,
        amount=Decimal(amount),
    )
    if validate:
        charges_validate(
            actor=Actor.system_for(tenant), tenant=tenant, charge_ids=[charge_id], today=DAY
        )
        c = Charge.objects.get(pk=c.pk)
    return c


def charges_csv(*rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


def ingest(actor: Actor, content: bytes, **kwargs) -> Batch:
    batch = ingestion.batch_ingest_file(
        actor=actor,
        kind="CHARGES",
        filename="charges.csv",
        content=content,
        enqueue=False,
        **kwargs,
    )
    assert batch.status == Batch.Status.PROCESSING, batch.failure
    return ingestion.batch_run_inline(batch_id=batch.pk)
