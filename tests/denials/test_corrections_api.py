"""Correction API, run_correction command and the denial detail's correction panel."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.test import RequestFactory

from core import scopes as S
from core.actors import Actor
from core.models import OverrideRequest, TenantMembership, TenantPolicy
from core.services import object_access_grant
from denials.models import Charge, Claim, CorrectionAttempt
from denials.services.x12_export import claims_export_837
from tests.denials.corr_builders import denied

pytestmark = pytest.mark.django_db


def test_api_run_then_reuse_then_list(world):
    d = denied(world.tenant, carc="197")
    client = world.client(S.Role.OPERATIONS)
    url = f"/api/denials/{d.pk}/corrections"
    first = client.post(url, {}, format="json")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["outcome"] == "SKIPPED" and body["reused"] is False
    assert body["message"] == "no authorization on file yet"
    assert body["handler"] == "missing_authorization" and body["corrected_claim"] is None
    again = client.post(url, {"handler": "missing_authorization"}, format="json")
    assert again.status_code == 200 and again.json()["reused"] is True
    assert again.json()["id"] == body["id"]
    assert again.json()["detail"].startswith("returned the stored attempt")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-API")
    done = client.post(url, {}, format="json")
    assert done.status_code == 201 and done.json()["outcome"] == "SUCCESS"
    number = done.json()["corrected_claim"]
    assert Claim.objects.get(number=number).frequency_code == "7"
    assert done.json()["changed"] == ["authorization"]
    listed = client.get(url)
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [r["outcome"] for r in rows] == ["SUCCESS", "SKIPPED"]


def test_api_refusals(world):
    d = denied(world.tenant, carc="45")
    client = world.client(S.Role.OWNER)
    url = f"/api/denials/{d.pk}/corrections"
    got = client.post(url, {}, format="json")
    assert got.status_code == 400 and "supported CARCs" in got.json()["error"]["message"]
    assert client.post(url, {"handler": "x", "extra": 1}, format="json").status_code == 400
    assert client.post("/api/denials/999999/corrections", {}, format="json").status_code == 404
    viewer = world.client(S.Role.VIEWER)
    assert viewer.post(url, {}, format="json").status_code == 403
    assert viewer.get(url).status_code == 200


def test_api_force_retry_201_and_202_under_dual_control(world):
    d = denied(world.tenant, carc="197")
    client = world.client(S.Role.OWNER)
    url = f"/api/denials/{d.pk}/corrections/force-retry"
    assert client.post(url, {"reason_code": "stale_skip"}, format="json").status_code == 400
    assert client.post(url, {"reason_code": "bad", "reason": "x"}, format="json").status_code == 400
    ok = client.post(url, {"reason_code": "stale_skip", "reason": "portal"}, format="json")
    assert ok.status_code == 201 and ok.json()["forced"] is True
    assert ok.json()["reason"] == "Engine SKIPPED for a stale reason: portal"
    policy, _ = TenantPolicy.objects.get_or_create(tenant=world.tenant)
    policy.dual_control_scopes = [S.BILLING_AUTOCORRECTION_OVERRIDE]
    policy.save()
    waiting = client.post(url, {"reason_code": "stale_rule", "reason": "rule"}, format="json")
    assert waiting.status_code == 202 and waiting.json()["executed"] is False
    req = OverrideRequest.objects.get(pk=waiting.json()["override_request"])
    assert req.action == "denials.correction_force_retry" and req.payload["denial"] == d.pk
    assert world.client(S.Role.OPERATIONS).post(url, {}, format="json").status_code == 403


def test_api_handlers(world):
    got = world.client(S.Role.VIEWER).get("/api/corrections/handlers")
    assert got.status_code == 200
    by_name = {h["name"]: h for h in got.json()}
    assert by_name["missing_authorization"]["carcs"] == ["197", "15"]
    assert by_name["timely_filing"]["reads"][0] == "first_service_date"
    assert set(by_name) == {
        "missing_authorization", "member_id_mismatch", "missing_modifier", "timely_filing"
    }  # fmt: skip


def test_api_payer_grant_hides_other_payers_denials(world):
    d = denied(world.tenant, carc="197")
    other = denied(world.tenant, carc="197", payer_code="OTHERPAY")
    user = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=user)
    object_access_grant(
        actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=other.claim.payer
    )
    client = world.client(S.Role.OPERATIONS)
    assert client.get(f"/api/denials/{d.pk}/corrections").status_code == 404
    assert client.get(f"/api/denials/{other.pk}/corrections").status_code == 200


def test_command_runs_reuses_and_forces(world):
    d = denied(world.tenant, carc="197")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-CMD")
    user = world.users[S.Role.OWNER].username

    def run(*extra) -> dict:
        out = StringIO()
        call_command(
            "run_correction", "--tenant", "alpha", "--denial", str(d.pk), "--user", user,
            *extra, stdout=out,
        )  # fmt: skip
        return json.loads(out.getvalue())

    first = run()
    assert first["outcome"] == "SUCCESS" and first["reused"] is False
    assert first["corrected_claim"] and first["override_request"] is None
    assert run()["reused"] is True and run()["attempt"] == first["attempt"]
    with pytest.raises(CommandError, match="reason"):
        run("--force")
    force = ("--force", "--reason", "rebill denied again", "--reason-code", "rebill_denied")
    with pytest.raises(CommandError, match="has not gone out yet"):
        run(*force)  # the first replacement still waits for the export
    claims_export_837(actor=Actor.system_for(world.tenant), tenant=world.tenant, all_built=True)
    forced = run(*force)
    assert forced["attempt"] != first["attempt"] and forced["outcome"] == "SUCCESS"
    assert CorrectionAttempt.objects.get(pk=forced["attempt"]).forced is True
    assert Claim.objects.filter(original=d.claim).count() == 2
    with pytest.raises(CommandError, match="no active user"):
        call_command("run_correction", "--tenant", "alpha", "--denial", str(d.pk), "--user", "zz")


def _panel(world, role, denial) -> str:
    request = RequestFactory().get("/")
    request.user = world.users[role]
    request.actor = world.actor(role)
    return render_to_string("denials/_corrections.html", {"denial": denial, "request": request})


def test_panel_shows_attempts_and_the_forms_by_scope(world):
    d = denied(world.tenant, carc="197")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-P")
    world.client(S.Role.OPERATIONS).post(f"/api/denials/{d.pk}/corrections", {}, format="json")
    d.refresh_from_db()
    owner = _panel(world, S.Role.OWNER, d)
    number = Claim.objects.get(original=d.claim).number
    assert f'href="/claims/{number}/"' in owner and "authorization AUTH-P is now on file" in owner
    assert 'id="correction-run-form"' in owner and 'id="correction-force-form"' in owner
    assert "data-confirm=" in owner and "Engine SKIPPED for a stale reason" in owner
    operations = _panel(world, S.Role.OPERATIONS, d)
    assert 'id="correction-run-form"' in operations
    assert 'id="correction-force-form"' not in operations
    viewer = _panel(world, S.Role.VIEWER, d)
    assert "correction-run-form" not in viewer and "SUCCESS" in viewer.upper()


def test_screen_run_and_force_redirect_to_the_detail_with_a_message(world):
    d = denied(world.tenant, carc="197")
    client = world.client(S.Role.OWNER)
    got = client.post(f"/claims/denials/{d.pk}/corrections/run/", {})
    assert got.status_code == 302 and got["Location"] == f"/claims/denials/{d.pk}/"
    assert CorrectionAttempt.objects.filter(denial=d, outcome="SKIPPED").count() == 1
    bad = client.post(f"/claims/denials/{d.pk}/corrections/force-retry/", {"reason_code": "x"})
    assert bad.status_code == 302 and CorrectionAttempt.objects.filter(denial=d).count() == 1
    forced = client.post(
        f"/claims/denials/{d.pk}/corrections/force-retry/",
        {"reason_code": "stale_skip", "reason": "checked the portal"},
        follow=False,
    )
    assert forced.status_code == 302
    assert CorrectionAttempt.objects.filter(denial=d, forced=True).count() == 1
    viewer = world.client(S.Role.VIEWER)
    assert viewer.post(f"/claims/denials/{d.pk}/corrections/run/", {}).status_code == 403


def test_claim_pages_link_original_and_replacement_both_ways(world):
    d = denied(world.tenant, carc="197")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-L")
    world.client(S.Role.OWNER).post(f"/api/denials/{d.pk}/corrections", {}, format="json")
    new = Claim.objects.get(original=d.claim)
    client = world.client(S.Role.VIEWER)
    original_page = client.get(f"/claims/{d.claim.number}/").content.decode()
    assert f'href="/claims/{new.number}/" class="claim-replacement"' in original_page
    assert "keeps its balance until the payer adjudicates the replacement" in original_page
    new_page = client.get(f"/claims/{new.number}/").content.decode()
    assert f'href="/claims/{d.claim.number}/" id="claim-original"' in new_page
    assert f"payer claim {d.remittance_claim.payer_claim_control_number}" in new_page
    assert "built by auto-correction missing_authorization" in new_page
