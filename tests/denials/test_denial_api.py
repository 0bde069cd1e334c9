"""Denial work API (issue 14 item 8): what a client sees for the list, detail, moves, flip,
reopen, assign and the status reference; 202 under dual control; errors in the envelope."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import scopes as S
from core.models import AuditEntry, OverrideRequest, TenantPolicy
from denials.models import Denial, PaymentApplication
from denials.transitions_ref import denial_moves
from tests.denials.flow_builders import posted


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def sample(world):
    return posted(world)


def test_list_filters_and_shows_the_open_amount(world, sample):
    c = world.client(S.Role.VIEWER)
    body = c.get("/api/denials").json()
    assert {d["claim_number"] for d in body["results"]} == {"CLM-000002", "CLM-000003"}
    [d] = c.get("/api/denials?carc=251").json()["results"]
    assert (d["claim_number"], d["amount"], d["open_amount"], d["status"], d["payer"]) == (
        "CLM-000003",
        "22.75",
        "22.75",
        "OPEN",
        "NYSDOH",
    )
    assert c.get("/api/denials?status=RESOLVED").json()["results"] == []
    assert len(c.get("/api/denials?group=CO&payer=NYSDOH&age=0-30").json()["results"]) == 2
    assert c.get("/api/denials?age=31-60").json()["results"] == []
    assert c.get("/api/denials?payer=OTHER").json()["results"] == []
    assert c.get("/api/denials?status=bogus").status_code == 400
    assert c.get("/api/denials?age=bogus").status_code == 400
    assert c.get("/api/denials?assignee=none").json()["results"] != []
    assert c.get("/api/denials?assignee=me").json()["results"] == []


def test_detail_has_balance_moves_and_applications(world, sample):
    denial = sample["partial"]
    body = world.client(S.Role.VIEWER).get(f"/api/denials/{denial.pk}").json()
    assert (body["claim_number"], body["claim_balance"], body["open_amount"]) == (
        "CLM-000003",
        "22.75",
        "22.75",
    )
    assert {m["to"] for m in body["moves"]} == {"IN_PROGRESS", "RESOLVED", "WRITTEN_OFF", "VOIDED"}
    assert {a["kind"] for a in body["applications"]} == {"PAYMENT"}
    assert sum(Decimal(a["amount"]) for a in body["applications"]) == Decimal("11.50")
    assert world.client(S.Role.VIEWER).get("/api/denials/999999").status_code == 404


def test_transition_write_off_then_reopen_over_the_api(world, sample):
    denial = sample["denied"]
    c = world.client(S.Role.OPERATIONS)
    r = c.post(f"/api/denials/{denial.pk}/transition", {"to": "WRITTEN_OFF"}, format="json")
    assert r.status_code == 400  # a write-off needs a reason
    assert r.json()["error"]["code"] == "reason_required"
    r = c.post(
        f"/api/denials/{denial.pk}/transition",
        {"to": "WRITTEN_OFF", "reason": "lost"},
        format="json",
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["claim_balance"], body["open_amount"]) == (
        "WRITTEN_OFF",
        "0.00",
        "0.00",
    )
    assert [m["to"] for m in body["moves"]] == ["OPEN", "RESOLVED"]
    r = c.post(f"/api/denials/{denial.pk}/reopen", {"reason": "proof found"}, format="json")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["claim_balance"]) == ("OPEN", "34.00")
    kinds = [a["kind"] for a in r.json()["applications"]]
    assert kinds == ["WRITEOFF", "REVERSAL"]


def test_a_refused_move_is_a_409_listing_the_allowed_targets(world, sample):
    denial = sample["denied"]
    c = world.client(S.Role.OWNER)
    r = c.post(f"/api/denials/{denial.pk}/transition", {"to": "OPEN"}, format="json")
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "transition_not_allowed"
    assert err["details"]["allowed"] == ["IN_PROGRESS", "RESOLVED", "WRITTEN_OFF"]
    r = c.post(
        f"/api/denials/{denial.pk}/flip",
        {"to": "VOIDED", "reason_code": "out_of_band", "reason": "x"},
        format="json",
    )
    assert r.status_code == 409
    assert "system" in r.json()["error"]["message"]
    r = c.post(f"/api/denials/{denial.pk}/reopen", {"reason": "x"}, format="json")
    assert r.status_code == 409


def test_flip_over_the_api_moves_no_money(world, sample):
    denial = sample["denied"]
    r = world.client(S.Role.OWNER).post(
        f"/api/denials/{denial.pk}/flip",
        {"to": "WRITTEN_OFF", "reason_code": "stale_reversed_payment", "reason": "see ticket 42"},
        format="json",
    )
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["claim_balance"]) == ("WRITTEN_OFF", "34.00")
    assert not PaymentApplication.objects.filter(kind="WRITEOFF").exists()
    assert AuditEntry.objects.get(action="MANUAL_FLIP").reason.startswith("Stale denial")
    bad = world.client(S.Role.OWNER).post(
        f"/api/denials/{denial.pk}/flip", {"to": "OPEN", "reason": "x"}, format="json"
    )
    assert bad.status_code == 400  # reason_code is required


def test_flip_and_reopen_answer_202_under_dual_control(world, sample):
    TenantPolicy.objects.update_or_create(
        tenant=world.tenant, defaults={"dual_control_scopes": [S.BILLING_DENIAL_WRITE]}
    )
    denial = sample["denied"]
    r = world.client(S.Role.OWNER).post(
        f"/api/denials/{denial.pk}/flip",
        {"to": "RESOLVED", "reason_code": "out_of_band", "reason": "phone"},
        format="json",
    )
    assert r.status_code == 202
    body = r.json()
    assert (body["executed"], body["status"]) == (False, "PENDING")
    assert OverrideRequest.objects.get(pk=body["override_request"]).action == "denials.denial_flip"
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"


def test_assign_by_username_and_unassign(world, sample):
    denial = sample["denied"]
    c = world.client(S.Role.OPERATIONS)
    r = c.post(f"/api/denials/{denial.pk}/assign", {"user": "alpha-viewer"}, format="json")
    assert (r.status_code, r.json()["assignee"]) == (200, "alpha-viewer")
    r = c.post(f"/api/denials/{denial.pk}/assign", {"user": "beta-owner"}, format="json")
    assert r.status_code == 400
    r = c.post(f"/api/denials/{denial.pk}/assign", {"user": None}, format="json")
    assert (r.status_code, r.json()["assignee"]) == (200, None)


def test_transitions_endpoint_is_the_state_machine(world):
    body = world.client(S.Role.VIEWER).get("/api/denials/transitions").json()
    assert body == {"states": denial_moves()}
    by_state = {s["state"]: s for s in body["states"]}
    assert [m["transition"] for m in by_state["WRITTEN_OFF"]["moves"]] == [
        "reopen",
        "resolve_by_reversal",
    ]
    assert by_state["WRITTEN_OFF"]["moves"][0]["override"] is True
    assert by_state["RESOLVED"]["moves"] == []


def test_the_status_reference_page_lists_every_state_and_move(world):
    r = world.client(S.Role.VIEWER).get("/claims/denials/status-reference/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "9.2 Status reference" in html
    for row in denial_moves():
        assert f'id="state-{row["state"]}"' in html
        for m in row["moves"]:
            assert f'data-transition="{m["transition"]}"' in html
    assert "Migration cleanup" in html
