"""core.bulk.update_rows: writes by pk, and skips rows whose `still_null` fields are set."""

from datetime import date
from decimal import Decimal

from django.db import transaction

from core.bulk import update_rows
from invoicing.models import Bill, BillableCharge
from tests.invoicing.builders import account, charges


def test_update_rows_writes_only_rows_still_null(world):
    acc = account(world.tenant)
    a, b = charges(acc, 2)
    bill = Bill.objects.create(
        tenant=world.tenant,
        account=acc,
        kind="REGULAR",
        status="POSTED",
        cutoff_date=date(2026, 3, 1),
        bill_date=date(2026, 3, 1),
        accounting_date=date(2026, 3, 1),
        total=Decimal("0"),
    )
    other = Bill.objects.get(pk=bill.pk)
    other.pk = None
    other.save()
    BillableCharge.objects.filter(pk=b.pk).update(bill=other)  # b was taken already

    with transaction.atomic():
        written = update_rows(
            BillableCharge,
            [BillableCharge(pk=a.pk, bill_id=bill.pk), BillableCharge(pk=b.pk, bill_id=bill.pk)],
            ["bill"],
            still_null=["bill"],
        )

    assert written == 1
    assert BillableCharge.objects.get(pk=a.pk).bill_id == bill.pk
    assert BillableCharge.objects.get(pk=b.pk).bill_id == other.pk
