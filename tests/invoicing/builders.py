"""Builders for invoicing tests: accounts with eligible memberships, types, charges."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoicing.models import (
    Account,
    BillableCharge,
    InvoiceRequestType,
    Membership,
    MembershipCharacteristic,
)

MON = date(2026, 3, 2)  # a Monday


def account(tenant, number="A-100", *, eligible=True, bill_cycle_day=15, payer=None) -> Account:
    acc = Account.objects.create(
        tenant=tenant,
        number=number,
        name=f"Account {number}",
        bill_cycle_day=bill_cycle_day,
        payer=payer,
    )
    m = Membership.objects.create(tenant=tenant, account=acc, external_id=f"MB-{number}")
    MembershipCharacteristic.objects.create(
        tenant=tenant,
        membership=m,
        type="INVRACTE",
        value="Y" if eligible else "N",
        effective_from=date(2026, 1, 1),
    )
    return acc


def request_type(
    tenant,
    code="MREG",
    *,
    mode="MANUAL",
    generation="REGULAR",
    approval=False,
    defer=None,
    wait_days=0,
    threshold_days=0,
) -> InvoiceRequestType:
    return InvoiceRequestType.objects.create(
        tenant=tenant,
        code=code,
        invoice_mode=mode,
        bill_generation=generation,
        approval_required=approval,
        defer_charge_count=defer,
        wait_days=wait_days,
        threshold_days=threshold_days,
    )


def charges(acc, count, *, day=date(2026, 2, 10), amount="10.00") -> list[BillableCharge]:
    return [
        BillableCharge.objects.create(
            tenant=acc.tenant,
            account=acc,
            charge_date=day,
            amount=Decimal(amount),
            description=f"charge {i}",
            source=BillableCharge.Source.MANUAL,
        )
        for i in range(count)
    ]
