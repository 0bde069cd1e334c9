"""Month close through the API: close (201), refusals (400, 403, 409), the closed month refusing
triggers and regenerations (409), reopening (200, or 202 and a second person's approval)."""

from __future__ import annotations

import pytest

from billing.models import BillingRun, MonthClose
from core import scopes as S
from core.models import AuditEntry, OverrideRequest, TenantMembership
from core.months import month_expected
from core.services import object_access_grant, tenant_policy_update
from tests.billing import api_builders as b

R = S.Role
URL = "/api/billing/month-closes"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def manager(world):
    return world.client(R.BILLING_MANAGER)


def error_of(response) -> dict:
    return response.json()["error"]


def _billed(world, members: int = 2):
    """A payer with `members` billable members (412.50 each) and its completed October run."""
    p = b.billed_payer(world.tenant, members=members)
    return p, b.completed_run(world.tenant, [p])


def test_close_returns_201_with_what_was_reviewed(world, manager):
    # given October billed for two members of a payer
    p, run = _billed(world)

    # when a billing manager closes October for it
    r = manager.post(URL, {"payer": p.code, "month": "2026-10", "note": "reviewed"}, format="json")

    # then the close names the run, the figures, who and when
    assert r.status_code == 201, r.content
    body = r.json()
    assert {k: body[k] for k in ("payer", "month", "status", "run", "run_version")} == {
        "payer": p.code,
        "month": "2026-10",
        "status": "CLOSED",
        "run": run.pk,
        "run_version": 1,
    }
    assert (body["members"], body["amount"], body["open_exceptions"]) == (2, "825.00", 0)
    assert (body["closed_by"], body["note"], body["reopened_by"]) == (
        "alpha-billing_manager",
        "reviewed",
        None,
    )
    assert AuditEntry.objects.filter(action="MONTH_CLOSED", object_id=str(body["id"])).exists()


def test_close_bad_input_names_the_field(world, manager):
    p, _ = _billed(world)
    r = manager.post(URL, {"payer": p.code, "month": "October"}, format="json")
    assert r.status_code == 400
    assert error_of(r)["message"] == f"month: {month_expected()}"
    r = manager.post(URL, {"month": "2026-10"}, format="json")
    assert r.status_code == 400
    assert error_of(r)["message"].startswith("payer:")
    assert not MonthClose.objects.exists()


def test_close_without_a_completed_run_is_409(world, manager):
    p = b.billed_payer(world.tenant)
    r = manager.post(URL, {"payer": p.code, "month": "2026-10"}, format="json")
    assert r.status_code == 409
    assert error_of(r)["code"] == "no_authoritative_run"


def test_close_with_open_exceptions_needs_the_count(world, manager):
    # given October's run with one open exception
    run, exc = b.run_with_exception(world.tenant)
    code = exc.payer.code
    body = {"payer": code, "month": "2026-10", "note": "month end"}

    # when closed without confirming, then 400 naming the count
    r = manager.post(URL, body, format="json")
    assert r.status_code == 400
    assert error_of(r)["code"] == "confirm_open_exceptions"
    assert error_of(r)["details"] == {"open_exceptions": 1, "run": run.pk}

    # when the count is confirmed, then it closes and records it
    r = manager.post(URL, {**body, "confirm_open_exceptions": 1}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["open_exceptions"] == 1


def test_closed_month_refuses_trigger_and_regenerate_with_409(world, manager):
    # given October closed for a payer
    p, run = _billed(world)
    r = manager.post(URL, {"payer": p.code, "month": "2026-10"}, format="json")
    assert r.status_code == 201

    # when its run is regenerated, then 409 naming the payer, the month and that it is closed
    r = manager.post(f"/api/billing/runs/{run.pk}/regenerate", {"reason": "late"}, format="json")
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "month_closed"
    assert err["message"].startswith(f"2026-10 is closed for payer {p.code} (close #")
    assert err["details"]["payer"] == p.code and err["details"]["month"] == "2026-10"

    # when a production run is triggered, likewise; a simulation is still allowed
    body = {"month": "2026-10", "payers": [p.code], "mode": "PRODUCTION"}
    r = manager.post("/api/billing/runs", body, format="json")
    assert r.status_code == 409
    assert error_of(r)["code"] == "month_closed"
    r = manager.post("/api/billing/runs", {**body, "mode": "SIMULATION"}, format="json")
    assert r.status_code == 201
    assert BillingRun.objects.filter(mode="PRODUCTION", run_payers__payer=p).count() == 1


def test_list_filters_by_payer_month_and_status_and_follows_payer_grants(world, manager):
    # given October closed for two payers, one of them reopened
    (p1, _), (p2, _) = _billed(world), _billed(world)
    ids = [
        manager.post(URL, {"payer": p.code, "month": "2026-10"}, format="json").json()["id"]
        for p in (p1, p2)
    ]
    r = manager.post(f"{URL}/{ids[1]}/reopen", {"reason": "correction"}, format="json")
    assert r.status_code == 200

    # then the list filters
    def listed(client, query=""):
        r = client.get(f"{URL}{query}")
        assert r.status_code == 200, r.content
        return [c["id"] for c in r.json()["results"]]

    assert sorted(listed(manager)) == sorted(ids)
    assert listed(manager, f"?payer={p1.code}") == [ids[0]]
    assert listed(manager, "?month=2026-10&status=REOPENED") == [ids[1]]
    assert listed(manager, "?month=2026-09") == []
    r = manager.get(f"{URL}?month=Oct")
    assert r.status_code == 400 and error_of(r)["message"].startswith("month:")

    # and a member narrowed to the first payer sees only its close
    ops = world.users[R.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(R.OWNER), membership_id=membership.pk, obj=p1)
    assert listed(world.client(R.OPERATIONS)) == [ids[0]]


def test_reopen_needs_a_reason_and_returns_200(world, manager):
    p, run = _billed(world)
    close = manager.post(URL, {"payer": p.code, "month": "2026-10"}, format="json").json()

    r = manager.post(f"{URL}/{close['id']}/reopen", {"reason": ""}, format="json")
    assert r.status_code == 400
    assert error_of(r)["message"].startswith("reason:")
    r = world.client(R.OPERATIONS).post(
        f"{URL}/{close['id']}/reopen", {"reason": "x"}, format="json"
    )
    assert r.status_code == 403

    r = manager.post(f"{URL}/{close['id']}/reopen", {"reason": "payer correction"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["executed"] is True
    assert (body["month_close"]["status"], body["month_close"]["reopen_reason"]) == (
        "REOPENED",
        "payer correction",
    )
    # and the month may be regenerated again
    r = manager.post(f"/api/billing/runs/{run.pk}/regenerate", {"reason": "fix"}, format="json")
    assert r.status_code == 201

    # and reopening again is a state conflict
    r = manager.post(f"{URL}/{close['id']}/reopen", {"reason": "again"}, format="json")
    assert r.status_code == 409


def test_reopen_under_dual_control_is_202_then_a_second_person_approves(world, manager):
    # given billing.run.trigger under dual control and October closed
    tenant_policy_update(actor=world.actor(R.OWNER), dual_control_scopes=[S.BILLING_RUN_TRIGGER])
    p, _ = _billed(world)
    close = manager.post(URL, {"payer": p.code, "month": "2026-10"}, format="json").json()

    # when the billing manager asks to reopen, then it waits (202)
    r = manager.post(f"{URL}/{close['id']}/reopen", {"reason": "late file"}, format="json")
    assert r.status_code == 202, r.content
    request_id = r.json()["override_request"]
    assert MonthClose.objects.get(pk=close["id"]).status == "CLOSED"

    # when the same person approves, then 403; when an admin approves, the month reopens
    approve = f"/api/override-requests/{request_id}/approve"
    assert manager.post(approve, {"note": "mine"}, format="json").status_code == 403
    r = world.client(R.ADMIN).post(approve, {"note": "ok"}, format="json")
    assert r.status_code == 200, r.content
    reopened = MonthClose.objects.get(pk=close["id"])
    assert (reopened.status, reopened.reopen_approved_by) == ("REOPENED", world.users[R.ADMIN])
    assert OverrideRequest.objects.get(pk=request_id).status == "APPROVED"


def test_another_tenants_close_is_404(world, manager):
    p, _ = _billed(world)
    close = manager.post(URL, {"payer": p.code, "month": "2026-10"}, format="json").json()
    outsider = world.client("outsider")
    r = outsider.post(f"{URL}/{close['id']}/reopen", {"reason": "x"}, format="json")
    assert r.status_code == 404
    assert outsider.get(URL).json()["results"] == []
    r = outsider.post(URL, {"payer": p.code, "month": "2026-10"}, format="json")
    assert r.status_code == 404
