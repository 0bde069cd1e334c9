"""Invoicing API (issue 12, item 11): requests, four-eyes, preview, filters, bills and PDF,
reference data, per-payer grants and tenant isolation."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.models import AuditEntry, TenantMembership
from core.services import object_access_grant
from invoicing import dates
from invoicing.models import (
    Account,
    Bill,
    Holiday,
    InvoiceRequest,
    InvoiceRequestType,
    Membership,
    MembershipLog,
    WorkCalendar,
)
from invoicing.services.processing import bill_render_pdf, invoice_request_process
from invoicing.services.requests import invoice_request_create
from tests.envelope import error_envelope
from tests.invoicing.builders import MON, account, charges, request_type

API = "/api/invoicing"
Status = InvoiceRequest.Status


@pytest.fixture
def ops(world):
    return world.client(S.Role.OPERATIONS)


@pytest.fixture
def owner(world):
    return world.client(S.Role.OWNER)


def _make_request(world, *, approval=False, acc=None, role=S.Role.OPERATIONS) -> InvoiceRequest:
    code = "MAPP" if approval else "MNOW"
    t = InvoiceRequestType.objects.filter(tenant=world.tenant, code=code).first()
    t = t or request_type(world.tenant, code, approval=approval)
    return invoice_request_create(
        actor=world.actor(role),
        type=t,
        account=acc or account(world.tenant),
        cutoff_date=MON,
        today=MON,
    )


# --- creation and idempotency -----------------------------------------------------------------


def test_create_answers_201_with_status_dates_mode_and_bill_and_replays_by_key(world, ops):
    # given a manual type needing approval and an eligible account
    request_type(world.tenant, "MAPP", approval=True)
    account(world.tenant, "A-1")
    body = {"type": "MAPP", "account": "A-1", "cutoff_date": "2026-11-30"}

    # when an operator creates a request twice with the same Idempotency-Key
    first = ops.post(f"{API}/requests", body, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    second = ops.post(f"{API}/requests", body, format="json", HTTP_IDEMPOTENCY_KEY="req-1")

    # then the first is 201 with what the request got, the second replays it: one request
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["status"] == "PENDING_APPROVAL"
    assert data["processing_mode"] == "ONLINE"
    today = timezone.localdate()
    expected = dates.manual_processing_date(today, 0, dates.WEEKENDS_OFF)
    assert data["processing_date"] == expected.isoformat()
    assert data["cutoff_date"] == "2026-11-30"
    assert data["bill"] is None
    assert data["created_by"] == world.users[S.Role.OPERATIONS].username
    assert second.status_code == 201 and second.json() == data
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert InvoiceRequest.objects.count() == 1
    # and the same key with another body is a 422
    other = ops.post(
        f"{API}/requests",
        {**body, "cutoff_date": "2026-11-29"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="req-1",
    )
    assert other.status_code == 422
    assert InvoiceRequest.objects.count() == 1


def test_create_processed_at_once_returns_the_bill(
    world, ops, django_capture_on_commit_callbacks, monkeypatch
):
    # on a working day (Thursday 2026-12-03): on a weekend the request is due on Monday
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: date(2026, 12, 3))
    # given a type without approval, an account with two charges up to the cutoff
    request_type(world.tenant, "MREG")
    acc = account(world.tenant, "A-2")
    charges(acc, 2, day=date(2026, 11, 2), amount="12.50")

    # when the request is created (due today: processed on commit, here synchronously)
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(
            f"{API}/requests",
            {"type": "MREG", "account": "A-2", "cutoff_date": "2026-11-30"},
            format="json",
        )
    assert response.status_code == 201, response.content
    # then the detail shows the processed request and its bill summary
    detail = ops.get(f"{API}/requests/{response.json()['id']}").json()
    assert detail["status"] == "PROCESSED"
    assert detail["bill"]["kind"] == "REGULAR"
    assert detail["bill"]["lines"] == 2
    assert detail["bill"]["total"] == "25.00"


def test_create_refuses_unknown_fields_bad_dates_and_ineligible_accounts(world, ops):
    request_type(world.tenant, "MREG")
    account(world.tenant, "A-3", eligible=False)
    bad = ops.post(
        f"{API}/requests",
        {"type": "MREG", "account": "A-3", "cutoff_date": "2026-02-30"},
        format="json",
    )
    assert "cutoff_date" in error_envelope(bad, 400)["details"]
    extra = ops.post(
        f"{API}/requests", {"type": "MREG", "account": "A-3", "cutof": "x"}, format="json"
    )
    assert "cutof" in error_envelope(extra, 400)["details"]
    refused = ops.post(f"{API}/requests", {"type": "MREG", "account": "A-3"}, format="json")
    error = error_envelope(refused, 400)
    assert error["code"] == "not_eligible" and "INVRACTE" in error["message"]
    missing = ops.post(f"{API}/requests", {"type": "MREG", "account": "NOPE"}, format="json")
    assert "NOPE" in error_envelope(missing, 404)["message"]
    assert InvoiceRequest.objects.count() == 0


# --- four-eyes, reject, cancel, retry ----------------------------------------------------------


def test_self_approval_is_refused_and_a_second_person_approves(world):
    # given a request waiting for approval, created by the BILLING_MANAGER (who may approve)
    r = _make_request(world, approval=True, role=S.Role.BILLING_MANAGER)
    creator = world.client(S.Role.BILLING_MANAGER)

    # when its creator approves it: 403 naming the four-eyes rule, nothing changed
    refused = creator.post(f"{API}/requests/{r.pk}/approve", format="json")
    error = error_envelope(refused, 403)
    assert "must differ from the creator" in error["message"]
    assert error["details"]["rule"] == "four_eyes"
    r.refresh_from_db()
    assert r.status == Status.PENDING_APPROVAL and r.approved_by is None

    # when the OWNER approves it, it is approved and pending its processing
    ok = world.client(S.Role.OWNER).post(f"{API}/requests/{r.pk}/approve", format="json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "PENDING"
    assert ok.json()["approved_by"] == world.users[S.Role.OWNER].username
    r.refresh_from_db()
    assert r.status == Status.PENDING and r.approved_by == world.users[S.Role.OWNER]


def test_reject_needs_a_reason(world, owner):
    r = _make_request(world, approval=True)
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = owner.post(f"{API}/requests/{r.pk}/reject", body, format="json")
        error_envelope(response, 400)
    r.refresh_from_db()
    assert r.status == Status.PENDING_APPROVAL
    ok = owner.post(f"{API}/requests/{r.pk}/reject", {"reason": "wrong cutoff"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["status"] == "REJECTED" and ok.json()["decided_reason"] == "wrong cutoff"


def test_cancel_then_cancel_again_is_a_conflict(world, ops):
    r = _make_request(world, approval=True)
    ok = ops.post(f"{API}/requests/{r.pk}/cancel", {"reason": "duplicate"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "CANCELLED"
    again = ops.post(f"{API}/requests/{r.pk}/cancel", format="json")
    error_envelope(again, 409)
    assert AuditEntry.objects.filter(action__icontains="cancel", object_id=str(r.pk)).count() == 1


def test_retry_puts_an_error_back_to_pending(world, ops):
    r = _make_request(world)
    InvoiceRequest.objects.filter(pk=r.pk).update(status=Status.ERROR, error="boom")
    response = ops.post(f"{API}/requests/{r.pk}/retry", format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "PENDING" and response.json()["error"] == ""
    # a pending request cannot be retried
    error_envelope(ops.post(f"{API}/requests/{r.pk}/retry", format="json"), 409)


# --- preview and filters ----------------------------------------------------------------------


def test_preview_computes_dates_and_creates_nothing(world, ops):
    request_type(world.tenant, "MWAIT", wait_days=5)
    account(world.tenant, "A-5")
    response = ops.get(
        f"{API}/requests/preview",
        {"type": "MWAIT", "account": "A-5", "business_date": "2026-03-02"},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "processing_date": "2026-03-09",  # Monday + 5 is a Saturday: the next Monday
        "cutoff_date": "2026-03-02",
        "bill_date": "2026-03-02",
        "accounting_date": "2026-03-09",
        "processing_mode": "ONLINE",
    }
    assert InvoiceRequest.objects.count() == 0
    assert not MembershipLog.objects.exists()
    bad = ops.get(
        f"{API}/requests/preview", {"type": "MWAIT", "account": "A-5", "business_date": "03/02"}
    )
    assert "business_date" in error_envelope(bad, 400)["details"]
    missing = ops.get(f"{API}/requests/preview", {"type": "MWAIT", "account": "A-5"})
    assert "business_date" in error_envelope(missing, 400)["details"]


def test_request_list_filters_and_unknown_status_is_400(world):
    a1, a2 = account(world.tenant, "A-6"), account(world.tenant, "A-7")
    waiting = _make_request(world, approval=True, acc=a1)
    by_owner = _make_request(world, acc=a2, role=S.Role.OWNER)
    client = world.client(S.Role.VIEWER)

    def ids(**params):
        response = client.get(f"{API}/requests", params)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids(status="PENDING_APPROVAL") == [waiting.pk]
    assert ids(status="pending_approval") == [waiting.pk]  # any case of a listed value
    assert ids(account="A-7") == [by_owner.pk]
    assert ids(creator=world.users[S.Role.OWNER].username) == [by_owner.pk]
    assert ids(type="MAPP") == [waiting.pk]
    assert ids(type="NONE") == []
    error = error_envelope(client.get(f"{API}/requests", {"status": "DONE"}), 400)
    assert "status" in error["details"] and "PENDING_APPROVAL" in error["message"]
    error_envelope(client.get(f"{API}/bills", {"kind": "FINAL"}), 400)
    error_envelope(client.get(f"{API}/charges", {"billed": "maybe"}), 400)


# --- bills and PDF ----------------------------------------------------------------------------


def test_bill_detail_lines_kind_filter_and_pdf(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    acc = account(world.tenant, "A-8")
    charges(acc, 3, day=date(2026, 2, 1), amount="10.00")
    r = _make_request(world, acc=acc)
    r = invoice_request_process(actor=Actor.system_for(world.tenant), request_id=r.pk)
    client = world.client(S.Role.VIEWER)

    detail = client.get(f"{API}/bills/{r.bill_id}")
    assert detail.status_code == 200, detail.content
    body = detail.json()
    assert (body["kind"], body["status"], body["total"], body["lines"]) == (
        "REGULAR",
        "POSTED",
        "30.00",
        3,
    )
    assert [line["position"] for line in body["line_items"]] == [1, 2, 3]
    assert body["request"] == r.pk and body["pdf_ready"] is False
    assert [b["id"] for b in client.get(f"{API}/bills", {"kind": "REGULAR"}).json()["results"]] == [
        r.bill_id
    ]
    assert client.get(f"{API}/bills", {"kind": "TRIAL"}).json()["results"] == []

    # before the task rendered it, the PDF is a 409 saying so
    not_yet = error_envelope(client.get(f"{API}/bills/{r.bill_id}/pdf"), 409)
    assert "not rendered yet" in not_yet["message"]
    bill_render_pdf(bill_id=r.bill_id)
    pdf = client.get(f"{API}/bills/{r.bill_id}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert f"bill-{r.bill_id}.pdf" in pdf["Content-Disposition"]
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


# --- request types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"invoice_mode": "AUTOMATIC", "bill_generation": "TRIAL"}, "bill_generation", "allowed"),
        (
            {"invoice_mode": "MANUAL", "bill_generation": "TRIAL", "approval_required": True},
            "approval_required",
            "only for MANUAL+REGULAR",
        ),
        (
            {"invoice_mode": "AUTOMATIC", "bill_generation": "REGULAR", "defer_charge_count": 3},
            "defer_charge_count",
            "only MANUAL+REGULAR",
        ),
    ],
)
def test_refused_type_combination_names_the_rule(world, owner, body, field, words):
    response = owner.post(f"{API}/request-types", {"code": "BAD", **body}, format="json")
    error = error_envelope(response, 400)
    assert error["code"] == "invalid_request_type"
    assert words in error["message"] and error["details"] == {"field": field}
    assert not InvoiceRequestType.objects.exists()


def test_type_create_and_update_keep_to_the_rules(world, owner):
    WorkCalendar.objects.create(tenant=world.tenant, name="US")
    created = owner.post(
        f"{API}/request-types",
        {
            "code": "MREG",
            "invoice_mode": "MANUAL",
            "bill_generation": "REGULAR",
            "approval_required": True,
            "defer_charge_count": 10,
            "work_calendar": "US",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["work_calendar"] == "US"
    pk = created.json()["id"]
    dup = owner.post(
        f"{API}/request-types",
        {"code": "MREG", "invoice_mode": "MANUAL", "bill_generation": "TRIAL"},
        format="json",
    )
    error_envelope(dup, 409)
    # switching to TRIAL while approval stays on breaks a rule: refused, nothing changed
    refused = owner.patch(f"{API}/request-types/{pk}", {"bill_generation": "TRIAL"}, format="json")
    assert error_envelope(refused, 400)["details"] == {"field": "approval_required"}
    assert InvoiceRequestType.objects.get(pk=pk).bill_generation == "REGULAR"
    ok = owner.patch(f"{API}/request-types/{pk}", {"wait_days": 2}, format="json")
    assert ok.status_code == 200 and ok.json()["wait_days"] == 2


# --- calendars, accounts, memberships -----------------------------------------------------------


def test_calendar_create_patch_and_holiday_import_with_observed_days(world, owner):
    created = owner.post(
        f"{API}/calendars",
        {"name": "US", "holidays": [{"day": "2026-12-24", "name": "Christmas Eve"}]},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["weekend_days"] == ["SAT", "SUN"]
    imported = owner.post(
        f"{API}/calendars/{pk}/import-holidays", {"country": "us", "years": [2026]}, format="json"
    )
    assert imported.status_code == 200, imported.content
    days = {h["day"]: h for h in imported.json()["calendar"]["holidays"]}
    assert days["2026-07-03"]["source"] == "IMPORTED"  # July 4th 2026 is a Saturday
    assert "observed" in days["2026-07-03"]["name"].lower()
    assert days["2026-12-24"]["source"] == "MANUAL"
    again = owner.post(
        f"{API}/calendars/{pk}/import-holidays", {"country": "US", "years": [2026]}, format="json"
    )
    assert again.json()["created"] == 0  # idempotent
    bad = owner.post(
        f"{API}/calendars/{pk}/import-holidays", {"country": "ZZ", "years": [2026]}, format="json"
    )
    assert "country" in error_envelope(bad, 400)["message"]
    # replacing typed-in holidays keeps the imported ones
    patched = owner.patch(f"{API}/calendars/{pk}", {"holidays": []}, format="json")
    assert patched.status_code == 200
    assert not Holiday.objects.filter(calendar_id=pk, source="MANUAL").exists()
    assert Holiday.objects.filter(calendar_id=pk, day=date(2026, 7, 3)).exists()
    # a viewer may read but not write
    viewer = world.client(S.Role.VIEWER)
    assert viewer.get(f"{API}/calendars/{pk}").status_code == 200
    assert viewer.patch(f"{API}/calendars/{pk}", {"name": "X"}, format="json").status_code == 403


def test_account_membership_characteristic_and_log(world, owner):
    created = owner.post(
        f"{API}/accounts", {"number": "A-10", "name": "Acme", "bill_cycle_day": 28}, format="json"
    )
    assert created.status_code == 201, created.content
    acc = created.json()["id"]
    error_envelope(
        owner.post(f"{API}/accounts", {"number": "A-11", "bill_cycle_day": 31}, format="json"), 400
    )
    m = owner.post(f"{API}/accounts/{acc}/memberships", {"external_id": "M-1"}, format="json")
    assert m.status_code == 201 and m.json()["kind"] == "INDIVIDUAL"
    mid = m.json()["id"]
    c = owner.post(
        f"{API}/accounts/{acc}/memberships/{mid}/characteristics",
        {"type": "INVRACTE", "value": "Y", "effective_from": "2026-01-01"},
        format="json",
    )
    assert c.status_code == 201 and c.json()["characteristics"][0]["value"] == "Y"
    owner.patch(f"{API}/accounts/{acc}/memberships/{mid}", {"status": "TERMINATED"}, format="json")
    assert Membership.objects.get(pk=mid).status == "TERMINATED"
    log = owner.get(f"{API}/accounts/{acc}/memberships/{mid}/log").json()["results"]
    assert [e["event"] for e in log] == ["UPDATED", "CHARACTERISTIC", "CREATED"]
    detail = owner.get(f"{API}/accounts/{acc}").json()
    assert detail["memberships"][0]["characteristics"][0]["type"] == "INVRACTE"
    # operations may read accounts but not change them
    ops = world.client(S.Role.OPERATIONS)
    assert ops.patch(f"{API}/accounts/{acc}", {"name": "X"}, format="json").status_code == 403
    assert Account.objects.get(pk=acc).name == "Acme"


# --- per-payer grants and tenants ---------------------------------------------------------------


def test_per_payer_grant_narrows_accounts_requests_charges_and_bills(world):
    p1 = Payer.objects.create(tenant=world.tenant, code="P1", name="P1")
    p2 = Payer.objects.create(tenant=world.tenant, code="P2", name="P2")
    a1, a2 = account(world.tenant, "A-P1", payer=p1), account(world.tenant, "A-P2", payer=p2)
    charges(a1, 1), charges(a2, 1)
    r1, r2 = _make_request(world, acc=a1), _make_request(world, acc=a2)
    system = Actor.system_for(world.tenant)
    r1 = invoice_request_process(actor=system, request_id=r1.pk)
    r2 = invoice_request_process(actor=system, request_id=r2.pk)
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=p1)
    client = world.client(S.Role.OPERATIONS)

    def listed(path, key="id"):
        return [row[key] for row in client.get(f"{API}/{path}").json()["results"]]

    assert listed("accounts", "number") == ["A-P1"]
    assert listed("requests") == [r1.pk]
    assert listed("charges", "account") == ["A-P1"]
    assert listed("bills") == [r1.bill_id]
    for path in (f"accounts/{a2.pk}", f"requests/{r2.pk}", f"bills/{r2.bill_id}"):
        error_envelope(client.get(f"{API}/{path}"), 404)
    error_envelope(client.post(f"{API}/requests/{r2.pk}/cancel", format="json"), 404)
    # the OWNER (no grant) sees both
    assert len(world.client(S.Role.OWNER).get(f"{API}/accounts").json()["results"]) == 2


def test_another_tenants_objects_answer_404(world):
    acc = account(world.tenant, "A-20")
    charges(acc, 1)
    r = _make_request(world, approval=True, acc=acc)
    cal = WorkCalendar.objects.create(tenant=world.tenant, name="Alpha cal")
    bill = Bill.objects.create(
        tenant=world.tenant,
        account=acc,
        kind="TRIAL",
        cutoff_date=MON,
        bill_date=MON,
        accounting_date=MON,
    )
    outsider = world.client("outsider")
    for path in (
        f"requests/{r.pk}",
        f"accounts/{acc.pk}",
        f"accounts/{acc.pk}/memberships",
        f"calendars/{cal.pk}",
        f"bills/{bill.pk}",
        f"bills/{bill.pk}/pdf",
        f"request-types/{r.type_id}",
        f"charges/{acc.charges.first().pk}",
    ):
        error_envelope(outsider.get(f"{API}/{path}"), 404)
    error_envelope(outsider.post(f"{API}/requests/{r.pk}/approve", format="json"), 404)
    assert outsider.get(f"{API}/requests").json()["results"] == []
    r.refresh_from_db()
    assert r.status == Status.PENDING_APPROVAL


# --- schema and tokens ------------------------------------------------------------------------


def test_schema_states_strict_bodies_and_the_preview_404(world, owner):
    schema = owner.get("/api/schema/?format=json").json()
    create = schema["components"]["schemas"]["InvoiceRequestCreateRequest"]
    assert create["additionalProperties"] is False  # unknown fields are refused (400)
    preview = schema["paths"]["/api/invoicing/requests/preview"]["get"]["responses"]
    assert "404" in preview
    post = schema["paths"]["/api/invoicing/requests"]["post"]["responses"]
    assert "201" in post and "200" not in post


def test_a_token_with_invoicing_scopes_reads_but_cannot_approve(world, token_client):
    from core.services import api_token_create

    _, raw = api_token_create(
        actor=world.actor(S.Role.OWNER), name="inv", scopes=[S.INVOICING_VIEW]
    )
    r = _make_request(world, approval=True)
    client = token_client(raw)
    assert client.get(f"{API}/requests/{r.pk}").json()["status"] == "PENDING_APPROVAL"
    error = error_envelope(client.post(f"{API}/requests/{r.pk}/approve", format="json"), 403)
    assert S.INVOICING_REQUEST_APPROVE in error["message"]
