"""The member's COB tab and the claim page's secondary-claim button."""

from __future__ import annotations

from core import scopes as S
from core.models import OverrideRequest
from core.services import tenant_policy_update
from denials.models import Claim, CobOverride
from tests.denials.cob_builders import medicare_member_with_employer, posted_claims


def test_cob_tab_shows_order_reasons_and_coverages(world):
    m = medicare_member_with_employer(world.tenant)
    r = world.client(S.Role.VIEWER).get(f"/claims/members/{m.pk}/cob/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Medicare pays second" in html and "NYSDOH" in html and "MCARE" in html
    assert "No override: the ladder decides." in html
    assert "Override priority" not in html  # a viewer has no billing.cob.override
    member_page = world.client(S.Role.OWNER).get(f"/billing/members/{m.pk}/")
    assert f"/claims/members/{m.pk}/cob/" in member_page.content.decode()


def test_override_form_sets_then_removes(world):
    m = medicare_member_with_employer(world.tenant)
    c = world.client(S.Role.OWNER)
    page = c.get(f"/claims/members/{m.pk}/cob/").content.decode()
    assert "data-confirm" in page and "Override priority" in page
    r = c.post(f"/claims/members/{m.pk}/cob/override/", {"ordering": ["MCARE", "NYSDOH"],
               "reason": "MSP letter"})  # fmt: skip
    assert r.status_code == 302
    html = c.get(f"/claims/members/{m.pk}/cob/").content.decode()
    assert "MSP letter" in html and "Remove override" in html and "alpha-owner" in html
    assert CobOverride.objects.get(active=True).ordering == ["MCARE", "NYSDOH"]
    r = c.post(f"/claims/members/{m.pk}/cob/override/remove/", {"reason": ""})
    assert r.status_code == 400 and "needs a reason" in r.content.decode()
    r = c.post(f"/claims/members/{m.pk}/cob/override/remove/", {"reason": "withdrawn"})
    assert r.status_code == 302 and not CobOverride.objects.filter(active=True).exists()
    r = c.post(f"/claims/members/{m.pk}/cob/override/", {"ordering": ["MCARE", "MCARE"],
               "reason": "x"})  # fmt: skip
    assert r.status_code == 400 and "twice" in r.content.decode()


def test_pending_request_notice_under_dual_control(world):
    tenant_policy_update(actor=world.actor(), dual_control_scopes=[S.BILLING_COB_OVERRIDE])
    m = medicare_member_with_employer(world.tenant)
    c = world.client(S.Role.OWNER)
    c.post(f"/claims/members/{m.pk}/cob/override/", {"ordering": ["MCARE", "NYSDOH"],
           "reason": "needs approval"})  # fmt: skip
    assert OverrideRequest.objects.filter(status="PENDING").count() == 1
    html = c.get(f"/claims/members/{m.pk}/cob/").content.decode()
    assert "Waiting for a second person" in html and "needs approval" in html
    assert not CobOverride.objects.exists()


def test_operations_cannot_override_and_unknown_member_is_404(world):
    m = medicare_member_with_employer(world.tenant)
    r = world.client(S.Role.OPERATIONS).post(
        f"/claims/members/{m.pk}/cob/override/", {"ordering": ["MCARE", "NYSDOH"], "reason": "x"}
    )
    assert r.status_code == 403 and not CobOverride.objects.exists()
    assert world.client(S.Role.OWNER).get("/claims/members/999999/cob/").status_code == 404


def test_claim_page_builds_secondary(world):
    claims = posted_claims(world.actor())
    medicare_member_with_employer(world.tenant)
    c = world.client(S.Role.OPERATIONS)
    number = claims["partial"].number
    page = c.get(f"/claims/{number}/").content.decode()
    assert "Build secondary claim" in page
    r = c.post(f"/claims/{number}/secondary/")
    secondary = Claim.objects.get(primary_claim=claims["partial"])
    assert r.status_code == 302 and r["Location"].endswith(f"/claims/{secondary.number}/")
    html = c.get(r["Location"]).content.decode()
    assert "Secondary claim after" in html and "11.50" in html
    r = c.post(f"/claims/{number}/secondary/", follow=True)
    assert "already has a secondary claim" in r.content.decode()
    assert Claim.objects.filter(primary_claim=claims["partial"]).count() == 1
