"""COB API: coverages, a member's order, overrides (201/202, DELETE reason), secondary claims."""

from __future__ import annotations

from core import scopes as S
from core.models import AuditEntry, OverrideRequest
from core.services import tenant_policy_update
from denials.models import CobOverride, Coverage
from tests.denials.cob_builders import medicare_member_with_employer, payer, posted_claims
from tests.denials.remit_builders import member

BODY = {
    "member_id": "API1",
    "payer_code": "ACME",
    "kind": "COMMERCIAL",
    "employer_size": 40,
    "active_employment": True,
    "effective": "2026-01-01",
    "termination": None,
}


def test_coverage_create_list_and_refusals(world):
    m = member(world.tenant, "API1")
    payer(world.tenant, "ACME")
    c = world.client(S.Role.OPERATIONS)
    r = c.post("/api/coverages", BODY, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["payer_code"] == "ACME" and r.json()["member"] == m.pk
    assert r.json()["employer_size"] == 40 and r.json()["termination"] is None
    r = c.get("/api/coverages", {"member_id": "API1"})
    assert r.status_code == 200 and [x["kind"] for x in r.json()["results"]] == ["COMMERCIAL"]
    assert c.get("/api/coverages", {"member_id": "OTHER"}).json()["results"] == []
    r = c.post("/api/coverages", BODY | {"member_id": "SECRET-77"}, format="json")
    assert r.status_code == 400 and "member_id" in r.json()["error"]["details"]
    assert "SECRET-77" not in r.content.decode()
    r = c.post("/api/coverages", BODY | {"kind": "VISION"}, format="json")
    assert r.status_code == 400 and "kind" in r.json()["error"]["details"]
    r = c.post("/api/coverages", BODY | {"extra": 1}, format="json")
    assert r.status_code == 400 and "extra" in r.json()["error"]["details"]
    r = c.post("/api/coverages", BODY | {"effective": "2026-13-01"}, format="json")
    assert r.status_code == 400 and "effective" in r.json()["error"]["details"]
    r = world.client(S.Role.VIEWER).post("/api/coverages", BODY, format="json")
    assert r.status_code == 403
    assert Coverage.objects.count() == 1


def test_member_cob_and_override_round_trip(world):
    m = medicare_member_with_employer(world.tenant)
    c = world.client(S.Role.BILLING_MANAGER)
    r = c.get(f"/api/members/{m.pk}/cob", {"as_of": "2010-01-01"})
    assert r.status_code == 200
    assert r.json()["order"] == ["NYSDOH", "MCARE"] and r.json()["override"] is None
    assert any("Medicare pays second" in x for x in r.json()["reasons"])
    body = {"ordering": ["MCARE", "NYSDOH"], "reason": "MSP questionnaire"}
    r = c.post(f"/api/members/{m.pk}/cob-override", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["order"] == ["MCARE", "NYSDOH"]
    assert r.json()["override"]["reason"] == "MSP questionnaire"
    r = c.delete(f"/api/members/{m.pk}/cob-override")
    assert r.status_code == 400  # a reason is required
    r = c.delete(f"/api/members/{m.pk}/cob-override?reason=wrong+member")
    assert r.status_code == 200 and r.json()["override"] is None
    assert r.json()["order"] == ["NYSDOH", "MCARE"]
    c.post(f"/api/members/{m.pk}/cob-override", body, format="json")
    r = c.delete(f"/api/members/{m.pk}/cob-override", {"reason": "in a body"}, format="json")
    assert r.status_code == 200 and r.json()["override"] is None
    r = c.delete(f"/api/members/{m.pk}/cob-override?reason=again")
    assert r.status_code == 409
    assert AuditEntry.objects.filter(action="COB_OVERRIDE_REMOVED").count() == 2


def test_override_refusals(world):
    m = medicare_member_with_employer(world.tenant)
    c = world.client(S.Role.OWNER)
    url = f"/api/members/{m.pk}/cob-override"
    r = c.post(url, {"ordering": ["MCARE", "MCARE"], "reason": "x"}, format="json")
    assert r.status_code == 400 and "ordering" in r.json()["error"]["details"]
    r = c.post(url, {"ordering": ["MCARE", "NYSDOH"]}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["details"]
    r = world.client(S.Role.OPERATIONS).post(
        url, {"ordering": ["MCARE", "NYSDOH"], "reason": "x"}, format="json"
    )
    assert r.status_code == 403
    assert c.get("/api/members/999999/cob").status_code == 404
    other = member(world.other_tenant, "FOREIGN")
    assert c.get(f"/api/members/{other.pk}/cob").status_code == 404
    assert not CobOverride.objects.exists()


def test_override_under_dual_control_answers_202(world):
    tenant_policy_update(actor=world.actor(), dual_control_scopes=[S.BILLING_COB_OVERRIDE])
    m = medicare_member_with_employer(world.tenant)
    r = world.client(S.Role.OWNER).post(
        f"/api/members/{m.pk}/cob-override",
        {"ordering": ["MCARE", "NYSDOH"], "reason": "x"},
        format="json",
    )
    assert r.status_code == 202 and r.json()["executed"] is False
    req = OverrideRequest.objects.get(pk=r.json()["override_request"])
    assert req.action == "denials.cob_override_set"
    r = world.client(S.Role.OWNER).post(
        f"/api/override-requests/{req.pk}/approve", {}, format="json"
    )
    assert r.status_code == 403  # self-approval refused
    assert not CobOverride.objects.exists()


def test_secondary_claim_endpoint(world):
    claims = posted_claims(world.actor())
    medicare_member_with_employer(world.tenant)
    c = world.client(S.Role.OPERATIONS)
    r = c.post(f"/api/claims/{claims['partial'].number}/secondary", format="json")
    assert r.status_code == 201, r.content
    got = r.json()
    assert got["payer"] == "MCARE" and got["payer_sequence"] == "S"
    assert got["primary_claim"] == claims["partial"].number
    assert got["prior_payer_paid"] == "11.50" and got["billed_amount"] == "34.25"
    assert got["prior_adjustments"] == [{"group": "CO", "carc": "251", "amount": "22.75"}]
    assert got["lines"] == 1
    r = c.post(f"/api/claims/{claims['partial'].number}/secondary", format="json")
    assert r.status_code == 409
    r = c.post(f"/api/claims/{claims['paid'].number}/secondary", format="json")
    assert r.status_code == 409  # that member has no COB order with NYSDOH first
    assert c.post("/api/claims/CLM-999999/secondary").status_code == 404
    r = world.client(S.Role.VIEWER).post(f"/api/claims/{claims['denied'].number}/secondary")
    assert r.status_code == 403
