"""Processing: regular bills take each charge once, trial bills touch nothing, deferred requests
wait for the batch, online ones run at once; PDF with the overflow CSV attached."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core import scopes as S
from core.actors import Actor
from invoicing.models import Bill, BillableCharge, InvoiceRequest
from invoicing.services.processing import (
    bill_lines_csv,
    bill_render_pdf,
    invoice_request_process,
    invoice_requests_process_due,
)
from invoicing.services.requests import invoice_request_approve, invoice_request_create
from tests.core.event_helpers import app_callbacks
from tests.invoicing.builders import MON, account, charges, request_type

Status = InvoiceRequest.Status


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_regular_bills_each_charge_once_and_trial_leaves_charges_unbilled(world):
    ops = world.actor(S.Role.OPERATIONS)
    system = Actor.system_for(world.tenant)
    regular = request_type(world.tenant, "MREG")
    trial = request_type(world.tenant, "MTRI", generation="TRIAL")
    acc = account(world.tenant)
    charges(acc, 3, amount="12.50")
    late = charges(acc, 1, day=MON + timedelta(days=3))[0]  # after the cutoff

    # a trial first: a DRAFT trial bill with the 3 lines, charges untouched
    t = invoice_request_create(actor=ops, type=trial, account=acc, cutoff_date=MON, today=MON)
    t = invoice_request_process(actor=system, request_id=t.pk)
    assert t.status == Status.PROCESSED
    assert (t.bill.kind, t.bill.status, t.bill.line_count) == ("TRIAL", "DRAFT", 3)
    assert t.bill.total == Decimal("37.50")
    assert BillableCharge.objects.filter(bill__isnull=False).count() == 0

    # then two regular requests: the first takes the 3 charges, the second finds none
    r1 = invoice_request_create(actor=ops, type=regular, account=acc, cutoff_date=MON, today=MON)
    r2 = invoice_request_create(actor=ops, type=regular, account=acc, cutoff_date=MON, today=MON)
    r1 = invoice_request_process(actor=system, request_id=r1.pk)
    r2 = invoice_request_process(actor=system, request_id=r2.pk)
    assert (r1.bill.kind, r1.bill.status, r1.bill.line_count) == ("REGULAR", "POSTED", 3)
    assert r1.bill.total == Decimal("37.50")
    assert r2.bill.line_count == 0 and r2.bill.total == Decimal("0")
    assert set(acc.charges.exclude(pk=late.pk).values_list("bill_id", flat=True)) == {r1.bill_id}
    late.refresh_from_db()
    assert late.bill_id is None
    lines = list(r1.bill.lines.values_list("position", "amount"))
    assert lines == [(1, Decimal("12.50")), (2, Decimal("12.50")), (3, Decimal("12.50"))]


def test_deferred_request_is_processed_only_from_its_processing_date(world):
    # given a deferring type (over 1 charge) with 2 wait days: processing date Wed Mar 4
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, defer=1, wait_days=2)
    acc = account(world.tenant)
    charges(acc, 2)
    r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    assert (r.processing_mode, r.processing_date) == ("DEFERRED", date(2026, 3, 4))

    # the online task never processes it, even when due
    from invoicing.tasks import invoice_request_process as task

    assert task(world.tenant.pk, r.pk, "2026-03-09") == "skipped"
    # the batch the day before leaves it pending
    before = invoice_requests_process_due(tenant=world.tenant, business_date=date(2026, 3, 3))
    r.refresh_from_db()
    assert before == {"processed": [], "errors": []} and r.status == Status.PENDING

    # on the processing date it is processed
    on = invoice_requests_process_due(tenant=world.tenant, business_date=date(2026, 3, 4))
    r.refresh_from_db()
    assert r.status == Status.PROCESSED
    assert on == {
        "processed": [
            {"request": r.pk, "bill": r.bill_id, "kind": "REGULAR", "lines": 2, "total": "20.00"}
        ],
        "errors": [],
    }


def test_online_request_is_processed_at_once_when_due(world, django_capture_on_commit_callbacks):
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant)
    acc = account(world.tenant)
    charges(acc, 2)
    with django_capture_on_commit_callbacks(execute=True):
        r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    r.refresh_from_db()
    assert r.status == Status.PROCESSED and r.bill.line_count == 2


def test_online_request_not_yet_due_waits(world, django_capture_on_commit_callbacks):
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, wait_days=3)
    acc = account(world.tenant)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    r.refresh_from_db()
    assert r.status == Status.PENDING and callbacks == []


def test_approved_request_is_processed_at_once(world, django_capture_on_commit_callbacks):
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, "MAPP", approval=True)
    acc = account(world.tenant)
    charges(acc, 1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    assert app_callbacks(callbacks) == []  # waiting for approval: nothing queued (but the relay)
    with django_capture_on_commit_callbacks(execute=True):
        invoice_request_approve(actor=world.actor(S.Role.OWNER), request_id=r.pk, today=MON)
    r.refresh_from_db()
    assert r.status == Status.PROCESSED and r.bill.line_count == 1


def test_bill_pdf_summary_with_overflow_csv(world):
    ops = world.actor(S.Role.OPERATIONS)
    acc = account(world.tenant)
    charges(acc, 35)
    charges(acc, 1, amount="5.00")[0].__class__.objects.filter(amount=Decimal("5.00")).update(
        description="=HYPERLINK(1)"
    )
    r = invoice_request_create(
        actor=ops, type=request_type(world.tenant), account=acc, cutoff_date=MON, today=MON
    )
    r = invoice_request_process(actor=Actor.system_for(world.tenant), request_id=r.pk)
    bill = bill_render_pdf(bill_id=r.bill_id)
    bill.refresh_from_db()
    data = bill.pdf.read()
    assert data.startswith(b"%PDF") and b"EmbeddedFile" in data
    csv_text = bill_lines_csv(bill).decode()
    assert csv_text.count("\n") == 37  # header + 36 lines
    assert "'=HYPERLINK(1)" in csv_text  # formula-safe
    assert Bill.objects.get(pk=bill.pk).pdf.name == bill.pdf.name
