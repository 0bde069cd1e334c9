"""Invoicing staff screens (SPEC 5, 9) through Django's test client: the approval queue, the
request form and its live preview, the list and its CSV, account tabs, bills, calendars."""

from __future__ import annotations

import csv
import html
import io
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core import scopes as S
from core.models import AuditEntry
from invoicing.models import (
    Bill,
    Holiday,
    InvoiceRequest,
    InvoiceRequestType,
    MembershipLog,
    WorkCalendar,
)
from invoicing.services.processing import bill_render_pdf
from invoicing.services.requests import invoice_request_create
from tests.invoicing.builders import account, charges, request_type

R = S.Role
HX = {"HTTP_HX_REQUEST": "true"}
Status = InvoiceRequest.Status


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _client(world, role) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _always_open(tenant) -> WorkCalendar:
    """A calendar without weekend days: today is always a working day."""
    return WorkCalendar.objects.create(tenant=tenant, name="Every day", weekend_days=[])


def _waiting(world, *, number="A-100", n_charges=3, amount="12.50", creator=R.OPERATIONS):
    t = InvoiceRequestType.objects.filter(tenant=world.tenant, code="MAPP").first()
    if t is None:
        t = request_type(world.tenant, "MAPP", approval=True)
        t.work_calendar = _always_open(world.tenant)
        t.save()
    acc = account(world.tenant, number)
    charges(acc, n_charges, day=timezone.localdate() - timedelta(days=3), amount=amount)
    r = invoice_request_create(actor=world.actor(creator), type=t, account=acc)
    assert r.status == Status.PENDING_APPROVAL
    return r


def test_queue_shows_waiting_requests_with_charge_count_amount_and_badge(world):
    # given a request waiting for approval on an account with 3 charges of $12.50
    r = _waiting(world)

    # when an approver opens the queue
    response = _client(world, R.BILLING_MANAGER).get("/invoicing/queue/")

    # then the row shows the account, 3 charges, $37.50 and approve/reject; the nav counts 1
    body = _text(response)
    assert response.status_code == 200
    row = body[body.index(f'id="request-{r.pk}"') :].split("</tr>")[0]
    assert "A-100" in row and "MAPP" in row
    assert '<td class="num charge-count">3</td>' in row
    assert '<td class="num charge-amount">$37.50</td>' in row
    assert "Approve" in row and "Reason for rejecting" in row
    assert (
        'id="invoicing-approval-count" title="invoice requests waiting for your approval">1<'
        in body
    )


def test_nav_badge_does_not_count_your_own_requests(world):
    _waiting(world, creator=R.BILLING_MANAGER)
    body = _text(_client(world, R.BILLING_MANAGER).get("/invoicing/queue/"))
    assert "invoicing-approval-count" not in body


def test_approve_in_place_by_a_second_user(world, django_capture_on_commit_callbacks):
    # given a request created by operations
    r = _waiting(world)

    # when a billing manager approves it from the queue (HTMX)
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(world, R.BILLING_MANAGER).post(
            f"/invoicing/requests/{r.pk}/approve/", **HX
        )

    # then the row comes back approved and the request was processed at once (online, due today)
    r.refresh_from_db()
    assert response.status_code == 200
    assert r.approved_by == world.users[R.BILLING_MANAGER]
    assert r.status == Status.PROCESSED
    assert f"Invoice request {r.pk} approved" in _text(response)
    assert r.bill.line_count == 3


def test_self_approval_refused_with_a_clear_message(world):
    # given a request created by the billing manager
    r = _waiting(world, creator=R.BILLING_MANAGER)

    # when the same person approves it, in place and without HTMX
    c = _client(world, R.BILLING_MANAGER)
    in_place = c.post(f"/invoicing/requests/{r.pk}/approve/", **HX)
    plain = c.post(f"/invoicing/requests/{r.pk}/approve/")

    # then both say why, beside the row, and the request still waits
    for response in (in_place, plain):
        assert "the approver must differ from the creator" in _text(response)
    assert plain.status_code == 403
    r.refresh_from_db()
    assert r.status == Status.PENDING_APPROVAL and r.approved_by is None


def test_reject_without_reason_refused_beside_the_field(world):
    r = _waiting(world)
    c = _client(world, R.BILLING_MANAGER)

    response = c.post(f"/invoicing/requests/{r.pk}/reject/", {"reason": "  "}, **HX)

    body = _text(response)
    assert f'id="error-reason-{r.pk}"' in body and "A reason is required" in body
    r.refresh_from_db()
    assert r.status == Status.PENDING_APPROVAL

    c.post(f"/invoicing/requests/{r.pk}/reject/", {"reason": "duplicate"}, **HX)
    r.refresh_from_db()
    assert (r.status, r.decided_reason) == (Status.REJECTED, "duplicate")


def test_operations_may_not_approve(world):
    r = _waiting(world, creator=R.BILLING_MANAGER)
    response = _client(world, R.OPERATIONS).post(f"/invoicing/requests/{r.pk}/approve/")
    assert response.status_code == 403
    r.refresh_from_db()
    assert r.status == Status.PENDING_APPROVAL


def test_form_keeps_values_and_shows_errors_beside_fields(world):
    # given an account that is not eligible (INVRACTE = N)
    request_type(world.tenant, "MREG")
    account(world.tenant, "A-NO", eligible=False)
    c = _client(world, R.OPERATIONS)

    # when the form is sent with a bad bill date, then with the ineligible account
    bad_date = c.post(
        "/invoicing/requests/new/",
        {"type": "MREG", "account": "A-NO", "cutoff_date": "2026-02-30", "bill_date": ""},
    )
    refused = c.post(
        "/invoicing/requests/new/",
        {"type": "MREG", "account": "A-NO", "cutoff_date": "2026-02-27"},
    )

    # then each refusal is beside its field and the values typed are kept; nothing is created
    body = _text(bad_date)
    assert bad_date.status_code == 400
    assert 'id="error-cutoff_date"' in body and "expected YYYY-MM-DD" in body
    assert 'value="2026-02-30"' in body and 'value="A-NO"' in body
    assert '<option value="MREG" selected>' in body
    body = _text(refused)
    assert refused.status_code == 400
    assert 'id="error-account"' in body and "INVRACTE" in body
    assert 'value="2026-02-27"' in body
    assert not InvoiceRequest.objects.exists()


def test_form_creates_the_request_and_shows_it(world):
    request_type(world.tenant, "MREG", approval=True)
    account(world.tenant, "A-1")
    c = _client(world, R.OPERATIONS)
    response = c.post("/invoicing/requests/new/", {"type": "MREG", "account": "A-1"})
    r = InvoiceRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/invoicing/requests/{r.pk}/"
    page = _text(c.get(response["Location"]))
    assert "Pending approval" in page
    assert "Invoice request created" in page  # the timeline's first entry


def test_live_preview_shows_processing_date_and_mode(world):
    # given a type with 2 wait days deferring above 1 charge, and an account with 2 charges
    t = request_type(world.tenant, "MDEF", wait_days=2, defer=1)
    t.work_calendar = _always_open(world.tenant)
    t.save()
    acc = account(world.tenant, "A-7")
    charges(acc, 2, day=timezone.localdate() - timedelta(days=1))

    # when the form asks for its preview
    response = _client(world, R.OPERATIONS).get(
        "/invoicing/requests/preview/", {"type": "MDEF", "account": "A-7"}, **HX
    )

    # then the processing date is today + 2 (every day works) and the mode deferred
    body = _text(response)
    expected = (timezone.localdate() + timedelta(days=2)).isoformat()
    assert f'id="preview-processing-date"><strong>{expected}</strong>' in body
    assert 'id="preview-processing-mode"><strong>Deferred</strong>' in body
    assert not InvoiceRequest.objects.exists()


def test_live_preview_names_an_unknown_account(world):
    request_type(world.tenant, "MREG")
    response = _client(world, R.OPERATIONS).get(
        "/invoicing/requests/preview/", {"type": "MREG", "account": "NOPE"}
    )
    assert 'data-field="account"' in _text(response)
    assert "Account NOPE does not exist" in _text(response)


def test_request_timeline_from_audit_entries(world, django_capture_on_commit_callbacks):
    r = _waiting(world)
    with django_capture_on_commit_callbacks(execute=True):
        _client(world, R.BILLING_MANAGER).post(f"/invoicing/requests/{r.pk}/approve/")
    body = _text(_client(world, R.VIEWER).get(f"/invoicing/requests/{r.pk}/"))
    timeline = body[body.index('id="timeline"') :]
    order = [
        "Invoice request created",
        "Invoice request approved",
        "Invoice request released",
        "Invoice request processed",
    ]
    positions = [timeline.index(text) for text in order]
    assert positions == sorted(positions)


def test_account_log_tab(world):
    # given a request created on an account (a log line on its eligible membership)
    r = _waiting(world)
    assert MembershipLog.objects.filter(request=r).count() == 1

    # when the Log tab is opened
    response = _client(world, R.VIEWER).get(f"/invoicing/accounts/{r.account_id}/?tab=log")

    # then it lists the line with the membership and a link to the request; the read is audited
    body = _text(response)
    log = body[body.index('id="membership-log"') :]
    assert "MB-A-100" in log and f"Invoice request {r.pk} (MAPP) created" in log
    assert f'href="/invoicing/requests/{r.pk}/"' in log
    assert AuditEntry.objects.filter(
        action="phi.view", object_type="invoicing.Account", object_id=str(r.account_id)
    ).exists()


def test_account_memberships_tab_shows_characteristics(world):
    acc = account(world.tenant, "A-5")
    body = _text(_client(world, R.VIEWER).get(f"/invoicing/accounts/{acc.pk}/"))
    assert "MB-A-5" in body and "INVRACTE = <strong>Y</strong>" in body


def test_bill_page_and_pdf(world, django_capture_on_commit_callbacks):
    # given a processed request whose bill has no PDF yet
    t = request_type(world.tenant, "MREG")
    t.work_calendar = _always_open(world.tenant)
    t.save()
    acc = account(world.tenant, "A-9")
    charges(acc, 2, day=timezone.localdate() - timedelta(days=1), amount="40.00")
    with django_capture_on_commit_callbacks(execute=True):
        r = invoice_request_create(actor=world.actor(R.OPERATIONS), type=t, account=acc)
    r.refresh_from_db()
    bill = r.bill
    Bill.objects.filter(pk=bill.pk).update(pdf="")  # as if the render task had not run yet
    c = _client(world, R.VIEWER)

    # then the page says the PDF is being prepared and the download answers 409
    page = _text(c.get(f"/invoicing/bills/{bill.pk}/"))
    assert "PDF being prepared" in page and 'id="bill-total"><strong>$80.00' in page
    assert c.get(f"/invoicing/bills/{bill.pk}/pdf/").status_code == 409

    # when the PDF is rendered, the status fragment links it and the download is a PDF
    bill_render_pdf(bill_id=bill.pk)
    assert 'id="download-pdf"' in _text(c.get(f"/invoicing/bills/{bill.pk}/pdf-status/"))
    response = c.get(f"/invoicing/bills/{bill.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_calendar_editor_adds_and_removes_a_holiday(world):
    cal = WorkCalendar.objects.create(tenant=world.tenant, name="Ops")
    c = _client(world, R.OWNER)

    added = c.post(
        f"/invoicing/calendars/{cal.pk}/", {"action": "add", "day": "2026-12-24", "name": "Eve"}
    )
    twice = c.post(f"/invoicing/calendars/{cal.pk}/", {"action": "add", "day": "2026-12-24"})
    bad = c.post(f"/invoicing/calendars/{cal.pk}/", {"action": "add", "day": "24/12/2026"})

    assert added.status_code == 302
    assert list(cal.holidays.values_list("day", "name")) == [(date(2026, 12, 24), "Eve")]
    assert twice.status_code == 409 and 'id="error-day"' in _text(twice)
    assert "already a holiday" in _text(twice)
    assert bad.status_code == 400 and "expected YYYY-MM-DD" in _text(bad)
    assert 'value="24/12/2026"' in _text(bad)

    c.post(f"/invoicing/calendars/{cal.pk}/", {"action": "remove", "day": "2026-12-24"})
    assert not cal.holidays.exists()
    assert AuditEntry.objects.filter(action="WorkCalendar.holiday_remove").count() == 1


def test_calendar_import_includes_observed_days(world):
    cal = WorkCalendar.objects.create(tenant=world.tenant, name="US")
    c = _client(world, R.OWNER)
    response = c.post(
        f"/invoicing/calendars/{cal.pk}/", {"action": "import", "country": "US", "years": "2026"}
    )
    assert response.status_code == 302
    # Independence Day 2026 is a Saturday: Friday the 3rd is observed
    assert cal.holidays.filter(day=date(2026, 7, 3), source=Holiday.Source.IMPORTED).exists()
    bad = c.post(
        f"/invoicing/calendars/{cal.pk}/", {"action": "import", "country": "XX", "years": "2026"}
    )
    assert bad.status_code == 400 and 'id="error-country"' in _text(bad)


def test_calendar_editing_needs_type_manage(world):
    cal = WorkCalendar.objects.create(tenant=world.tenant, name="Ops")
    c = _client(world, R.BILLING_MANAGER)  # no invoicing.type.manage
    assert c.get(f"/invoicing/calendars/{cal.pk}/").status_code == 200
    response = c.post(f"/invoicing/calendars/{cal.pk}/", {"action": "add", "day": "2026-12-24"})
    assert response.status_code == 403 and not cal.holidays.exists()


def test_request_list_filters_and_csv_export(world):
    # given a waiting request on A-100 and a rejected one on A-200
    keep = _waiting(world)
    other = _waiting(world, number="A-200")
    _client(world, R.BILLING_MANAGER).post(
        f"/invoicing/requests/{other.pk}/reject/", {"reason": "=HYPERLINK(1)"}
    )
    c = _client(world, R.VIEWER)

    # when the list and its export are filtered on pending approval
    page = _text(c.get("/invoicing/requests/", {"status": "PENDING_APPROVAL"}))
    response = c.get("/invoicing/requests.csv", {"status": "PENDING_APPROVAL"})
    everything = c.get("/invoicing/requests.csv")

    # then only the waiting one shows and is exported; the export is core's formula-safe CSV
    assert f'id="request-{keep.pk}"' in page and f'id="request-{other.pk}"' not in page
    assert "invoice-requests-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["request"], r["status"], r["account"]) for r in rows] == [
        (str(keep.pk), "PENDING_APPROVAL", "A-100")
    ]
    all_rows = list(csv.DictReader(io.StringIO(b"".join(everything.streaming_content).decode())))
    rejected = next(r for r in all_rows if r["request"] == str(other.pk))
    assert rejected["reason"] == "'=HYPERLINK(1)"


def test_overview_charts_show_values(world, django_capture_on_commit_callbacks):
    r = _waiting(world)
    with django_capture_on_commit_callbacks(execute=True):
        _client(world, R.BILLING_MANAGER).post(f"/invoicing/requests/{r.pk}/approve/")
    _waiting(world, number="A-300")
    body = _text(_client(world, R.VIEWER).get("/invoicing/"))
    assert 'aria-label="Invoice requests by status"' in body
    assert 'data-key="PROCESSED"' in body and 'data-key="PENDING_APPROVAL"' in body
    month = timezone.localdate().strftime("%b %y")
    group = body[body.index(f'data-month="{month}"') :].split("</g>\n  </g>")[0]
    assert 'data-series="REGULAR"' in group and 'class="column-value">1<' in group
    assert 'class="tick-label">0<' in body


def test_dashboard_has_an_invoicing_panel(world):
    _waiting(world)
    body = _text(_client(world, R.BILLING_MANAGER).get("/"))
    assert "Invoicing" in body and "waiting for approval" in body


def test_other_tenants_request_is_not_found(world):
    r = _waiting(world)
    c = Client()
    c.force_login(world.outsider)
    assert c.get(f"/invoicing/requests/{r.pk}/").status_code == 404
    assert c.post(f"/invoicing/requests/{r.pk}/approve/").status_code == 404
