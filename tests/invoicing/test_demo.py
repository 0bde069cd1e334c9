"""The invoicing part of `manage.py load_demo` (issue 12, build item 13)."""

from datetime import date

import pytest
from django.core.management import call_command

from core.models import AuditEntry, Tenant
from invoicing.models import (
    Account,
    Bill,
    BillableCharge,
    Holiday,
    InvoiceRequest,
    InvoiceRequestType,
    MembershipCharacteristic,
)

Status = InvoiceRequest.Status


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_load_demo_makes_invoicing_showable_and_is_idempotent(db):
    # when the demo is loaded
    call_command("load_demo")
    tenant = Tenant.objects.get(slug="demo")

    # then the US calendar has federal holidays, observed days included
    year = date.today().year
    days = set(
        Holiday.objects.filter(tenant=tenant, calendar__name="US federal").values_list(
            "day", flat=True
        )
    )
    assert date(year, 12, 25) in days
    assert Holiday.objects.filter(tenant=tenant, name__contains="(observed)").exists()
    assert len([d for d in days if d.year == year]) >= 10

    # and there is one request type per allowed combination
    combos = set(
        InvoiceRequestType.objects.filter(tenant=tenant).values_list(
            "invoice_mode", "bill_generation", "approval_required"
        )
    )
    assert combos == {
        ("MANUAL", "REGULAR", True),
        ("MANUAL", "REGULAR", False),
        ("MANUAL", "TRIAL", False),
        ("AUTOMATIC", "REGULAR", False),
    }

    # and accounts are linked to the demo payers, memberships carry INVRACTE Y and N
    assert set(
        Account.objects.filter(tenant=tenant, payer__isnull=False).values_list(
            "payer__code", flat=True
        )
    ) == {"NORTHWIND", "BLUEPEAK"}
    assert set(
        MembershipCharacteristic.objects.filter(tenant=tenant, type="INVRACTE").values_list(
            "value", flat=True
        )
    ) == {"Y", "N"}

    # and requests wait for approval, created by demo-ops (so demo-manager may approve them)
    waiting = InvoiceRequest.objects.filter(tenant=tenant, status=Status.PENDING_APPROVAL)
    assert waiting.exists()
    assert set(waiting.values_list("created_by__username", flat=True)) == {"demo-ops"}

    # and a posted regular bill with lines took its charges, approved by demo-manager
    regular = Bill.objects.get(tenant=tenant, kind=Bill.Kind.REGULAR)
    assert regular.status == Bill.Status.POSTED
    assert regular.line_count == regular.lines.count() > 0
    assert regular.total == sum(line.amount for line in regular.lines.all())
    charge_ids = list(regular.lines.values_list("charge_id", flat=True))
    assert set(BillableCharge.objects.filter(pk__in=charge_ids).values_list("bill", flat=True)) == {
        regular.pk
    }
    assert regular.request.approved_by.username == "demo-manager"
    assert regular.request.created_by.username == "demo-ops"

    # and a trial bill with lines left its charges unbilled
    trial = Bill.objects.get(tenant=tenant, kind=Bill.Kind.TRIAL)
    assert trial.lines.exists()
    trial_ids = list(trial.lines.values_list("charge_id", flat=True))
    assert not BillableCharge.objects.filter(pk__in=trial_ids, bill__isnull=False).exists()

    # and a deferred and an automatic request wait for their processing date
    assert InvoiceRequest.objects.filter(
        tenant=tenant, status=Status.PENDING, processing_mode="DEFERRED"
    ).exists()
    assert InvoiceRequest.objects.filter(
        tenant=tenant, status=Status.PENDING, origin="AUTOMATIC"
    ).exists()

    # when it is loaded again, nothing is added
    counts = (
        InvoiceRequest.objects.count(),
        Bill.objects.count(),
        BillableCharge.objects.count(),
        Holiday.objects.count(),
        MembershipCharacteristic.objects.count(),
        AuditEntry.objects.filter(tenant=tenant).count(),
    )
    call_command("load_demo")
    assert (
        InvoiceRequest.objects.count(),
        Bill.objects.count(),
        BillableCharge.objects.count(),
        Holiday.objects.count(),
        MembershipCharacteristic.objects.count(),
        AuditEntry.objects.filter(tenant=tenant).count(),
    ) == counts
