"""Invoicing in a browser: an operator creates a request (seeing its processing date and mode
first), a second person approves it in the queue, it is processed and the bill's PDF downloads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core import queue
from core import scopes as S
from core.demo import DEMO_PASSWORD
from invoicing.models import Bill, BillableCharge, InvoiceRequest, WorkCalendar
from tests.e2e.signin import sign_in
from tests.fixtures import add_user, make_tenant
from tests.invoicing.builders import account, request_type

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _run_now(func: str, *args, group=None) -> None:
    """The worker, in-process: the queued task runs at once (processing, then the PDF)."""
    module, name = func.rsplit(".", 1)
    getattr(import_module(module), name)(*args)


@pytest.fixture
def scene(monkeypatch):
    monkeypatch.setattr(queue, "enqueue", _run_now)
    tenant = make_tenant("inv")
    for name, role in (("inv-ops", S.Role.OPERATIONS), ("inv-manager", S.Role.BILLING_MANAGER)):
        user = add_user(tenant, name, role)
        user.set_password(DEMO_PASSWORD)
        user.save()
    t = request_type(tenant, "MAPP", approval=True)
    t.name = "Manual, approved"
    t.work_calendar = WorkCalendar.objects.create(tenant=tenant, name="Every day", weekend_days=[])
    t.save()
    acc = account(tenant, "A-4711")
    for i, amount in enumerate(("120.00", "80.50")):
        BillableCharge.objects.create(
            tenant=tenant,
            account=acc,
            charge_date=timezone.localdate() - timedelta(days=2),
            amount=Decimal(amount),
            description=f"premium {i}",
        )
    return acc


def test_request_approved_processed_and_pdf_downloaded(live_server, browser, scene):
    base = live_server.url
    ops = browser.new_context().new_page()
    sign_in(ops, base, "inv-ops")

    # the operator fills the form and sees the computed dates before saving
    ops.goto(f"{base}/invoicing/requests/new/")
    ops.select_option("#type", "MAPP")
    ops.fill("#account", "A-4711")
    ops.locator("#account").dispatch_event("change")
    expect(ops.locator("#preview-processing-date")).to_contain_text(
        timezone.localdate().isoformat()
    )
    expect(ops.locator("#preview-processing-mode")).to_contain_text("Online")
    # typing also schedules a preview 400 ms later: let it finish before saving (the test
    # database is SQLite in shared-cache mode, where two requests at once lock each other out)
    ops.wait_for_load_state("networkidle")
    ops.click("#request-form button[type=submit]")
    expect(ops.locator("#request-status")).to_have_text("Pending approval")
    request = InvoiceRequest.objects.get()

    # a second person sees it in the queue (badge, charges, amount) and approves it in place
    manager = browser.new_context(accept_downloads=True).new_page()
    sign_in(manager, base, "inv-manager")
    expect(manager.locator("#invoicing-approval-count")).to_have_text("1")
    manager.goto(f"{base}/invoicing/queue/")
    row = manager.locator(f"#request-{request.pk}")
    expect(row.locator(".charge-count")).to_have_text("2")
    expect(row.locator(".charge-amount")).to_have_text("$200.50")
    row.locator("form.approve button").click()
    dialog = manager.locator("#confirm-dialog")
    expect(dialog.locator(".confirm-text")).to_contain_text("2 charges ($200.50)")
    dialog.locator("button[value=confirm]").click()
    expect(manager.locator(f"#request-{request.pk}")).to_contain_text("Processed")

    # processed: the bill holds both charges and its PDF downloads
    request.refresh_from_db()
    assert request.status == InvoiceRequest.Status.PROCESSED
    bill = Bill.objects.get(pk=request.bill_id)
    assert (bill.line_count, bill.total) == (2, Decimal("200.50"))
    manager.goto(f"{base}/invoicing/requests/{request.pk}/")
    manager.click("#bill-link")
    expect(manager.locator("#bill-total")).to_contain_text("$200.50")
    with manager.expect_download() as download:
        manager.click("#download-pdf")
    path = download.value.path()
    with open(path, "rb") as fh:
        assert fh.read(4) == b"%PDF"
    assert download.value.suggested_filename == f"bill-{bill.pk}.pdf"
