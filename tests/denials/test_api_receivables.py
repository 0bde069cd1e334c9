"""Remittances, receivables queue, force-match, unmatch and denials over the API (issue 13
item 11): what a client sees, and the error envelope for what it gets wrong."""

from __future__ import annotations

import pytest

from core import scopes as S
from core.models import TenantPolicy
from denials.models import RemittanceClaim as RC
from tests.denials.remit_builders import claim, load, payer, sample_claims, sample_rows


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def loaded(world):
    """The sample posted, plus one payment waiting (its number is shared, its member unknown)."""
    claims = sample_claims(world.tenant)
    p = payer(world.tenant)
    c1 = claim(world.tenant, "CLM-Q1", payer_obj=p, member_id="Q1", billed="50.00", pcn="SHARED")
    claim(world.tenant, "CLM-Q2", payer_obj=p, member_id="Q2", billed="50.00", pcn="SHARED")
    waiting = sample_rows()[0] | {
        "patient_control_number": "SHARED",
        "member_id": "UNKNOWN",
        "charge_amount": "50.00",
        "paid_amount": "50.00",
        "payer_claim_control_number": "WAIT-1",
    }
    load(world.actor(S.Role.OWNER), [*sample_rows(), waiting])
    return claims, c1, RC.objects.get(payer_claim_control_number="WAIT-1")


def test_remittance_list_filters_by_trace_with_totals(world, loaded):
    c = world.client(S.Role.VIEWER)
    body = c.get("/api/remittances?trace=10100000000").json()
    assert len(body["results"]) == 1
    r = body["results"][0]
    assert (r["payer"], r["payment_amount"], r["claim_count"]) == ("NYSDOH", "45.75", 4)
    assert (r["matched_auto_count"], r["unmatched_count"]) == (3, 1)
    assert c.get("/api/remittances?trace=NOPE").json()["results"] == []


def test_remittance_detail_lists_each_claim_payment_with_match_and_evidence(world, loaded):
    rid = RC.objects.first().remittance_id
    body = world.client(S.Role.VIEWER).get(f"/api/remittances/{rid}").json()
    claims = {c["payer_claim_control_number"]: c for c in body["claims"]}
    paid = claims["1000210000000030"]
    assert (paid["match_state"], paid["claim_number"], paid["score"]) == (
        "MATCHED_AUTO",
        "CLM-000001",
        "1.0000",
    )
    assert paid["evidence"]["claim_number"] == "CLM-000001"
    assert set(paid["evidence"]["agreed"]) == {
        "patient_control_number",
        "member_id",
        "billed_amount",
        "service_date",
    }
    denied = claims["1000220000000020"]
    assert denied["adjustments"] == [
        {"group": "CO", "carc": "29", "amount": "12.00", "line": 1},
        {"group": "CO", "carc": "29", "amount": "22.00", "line": 2},
    ]


def test_queue_shows_ranked_candidates_with_signals(world, loaded):
    body = world.client(S.Role.VIEWER).get("/api/receivables/queue").json()
    [line] = body["results"]
    assert line["match_state"] == "UNMATCHED"
    numbers = [c["claim_number"] for c in line["candidates"]]
    assert sorted(numbers) == ["CLM-Q1", "CLM-Q2"]
    assert "member_id" in line["candidates"][0]["disagreed"]


def test_force_match_over_the_api_then_unmatch(world, loaded):
    claims, c1, rc = loaded
    c = world.client(S.Role.BILLING_MANAGER)
    # when force-matched with a reason
    r = c.post(
        f"/api/receivables/{rc.pk}/force-match",
        {"claim": "CLM-Q1", "reason": "phone call"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert (r.json()["match_state"], r.json()["claim_number"]) == ("MATCHED_FORCED", "CLM-Q1")
    assert r.json()["matched_by"] == "alpha-billing_manager"
    # then it left the queue
    assert c.get("/api/receivables/queue").json()["results"] == []
    # when unmatched, it is back
    r = c.post(f"/api/receivables/{rc.pk}/unmatch", {"reason": "wrong claim"}, format="json")
    assert (r.status_code, r.json()["match_state"]) == (200, "UNMATCHED")
    assert len(c.get("/api/receivables/queue").json()["results"]) == 1


def test_force_match_refusals(world, loaded):
    _, _, rc = loaded
    url = f"/api/receivables/{rc.pk}/force-match"
    # without the scope: 403
    r = world.client(S.Role.OPERATIONS).post(url, {"claim": "CLM-Q1", "reason": "x"}, format="json")
    assert r.status_code == 403
    owner = world.client(S.Role.OWNER)
    # without a reason: 400 naming it
    r = owner.post(url, {"claim": "CLM-Q1"}, format="json")
    assert r.status_code == 400
    assert "reason" in str(r.json())
    r = owner.post(url, {"claim": "CLM-Q1", "reason": "   "}, format="json")
    assert r.status_code == 400
    # an unknown claim: 404 naming the field
    r = owner.post(url, {"claim": "NOPE", "reason": "x"}, format="json")
    assert r.status_code == 404
    assert "claim" in r.json()["error"]["message"]
    # an unknown field: 400
    r = owner.post(url, {"claim": "CLM-Q1", "reason": "x", "extra": 1}, format="json")
    assert r.status_code == 400
    # another tenant's user: 404
    r = world.client("outsider").post(url, {"claim": "CLM-Q1", "reason": "x"}, format="json")
    assert r.status_code == 404
    assert RC.objects.get(pk=rc.pk).match_state == "UNMATCHED"


def test_force_match_under_dual_control_answers_202(world, loaded):
    _, _, rc = loaded
    TenantPolicy.objects.update_or_create(
        tenant=world.tenant, defaults={"dual_control_scopes": [S.BILLING_RECEIVABLE_OVERRIDE]}
    )
    r = world.client(S.Role.OWNER).post(
        f"/api/receivables/{rc.pk}/force-match", {"claim": "CLM-Q1", "reason": "x"}, format="json"
    )
    assert r.status_code == 202
    assert r.json()["executed"] is False
    assert RC.objects.get(pk=rc.pk).match_state == "UNMATCHED"


def test_denials_by_claim_number(world, loaded):
    c = world.client(S.Role.VIEWER)
    body = c.get("/api/denials?claim_number=CLM-000003").json()
    [d] = body["results"]
    assert (d["group_code"], d["carc"], d["rarcs"], d["amount"], d["status"]) == (
        "CO",
        "251",
        ["N206"],
        "22.75",
        "OPEN",
    )
    assert len(c.get("/api/denials").json()["results"]) == 2
    assert c.get("/api/denials?status=bogus").status_code == 400


def test_payer_grants_narrow_the_lists(world, loaded):
    from guardian.shortcuts import assign_perm

    other = payer(world.tenant, "ACME", "Acme")
    user = world.users[S.Role.VIEWER]
    assign_perm("view_payer", user, other)
    c = world.client(S.Role.VIEWER)
    assert c.get("/api/remittances").json()["results"] == []
    assert c.get("/api/receivables/queue").json()["results"] == []
    assert c.get("/api/denials").json()["results"] == []
