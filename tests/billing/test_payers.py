"""Payers on screen and through the API (issue 10, capability 2): create and edit code, name,
active and timely filing days; bad input names the field and keeps what was typed; audited."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from billing.models import Payer
from core import scopes as S
from core.models import AuditEntry, TenantMembership
from core.services import object_access_grant
from tests.billing import api_builders as b

R = S.Role


def _client(world, role: str = R.BILLING_MANAGER) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _text(response) -> str:
    return html.unescape(response.content.decode())


# --- screen -------------------------------------------------------------------------------


def test_payer_created_on_screen_is_listed_and_audited(world):
    c = _client(world)
    response = c.post(
        "/billing/payers/",
        {"code": "harbor", "name": "Harbor Mutual", "active": "1", "timely_filing_days": "180"},
    )
    assert response.status_code == 302
    payer = Payer.objects.get(tenant=world.tenant, code="HARBOR")
    assert (payer.name, payer.active, payer.timely_filing_days) == ("Harbor Mutual", True, 180)
    entry = AuditEntry.objects.get(tenant=world.tenant, action="PAYER_CREATED")
    assert entry.payload["code"] == "HARBOR"
    page = _text(c.get("/billing/payers/"))
    assert 'id="payer-HARBOR"' in page and "180 days" in page


def test_payer_form_errors_name_the_field_and_keep_the_typed_values(world):
    c = _client(world)
    response = c.post(
        "/billing/payers/", {"code": "bad code!", "name": "Typed name", "timely_filing_days": "x"}
    )
    assert response.status_code == 400
    page = _text(response)
    assert 'id="p-code-error"' in page and "Code: expected 1 to 30 letters" in page
    assert "Timely filing days: expected whole days from 1 to 3650" in page
    assert 'value="bad code!"' in page and 'value="Typed name"' in page and 'value="x"' in page
    assert not Payer.objects.filter(tenant=world.tenant, name="Typed name").exists()


def test_payer_code_taken_is_refused_beside_the_code(world):
    existing = b.payer(world.tenant)
    response = _client(world).post(
        "/billing/payers/", {"code": existing.code, "name": "Again", "timely_filing_days": "365"}
    )
    assert response.status_code == 400
    assert f"a payer with code {existing.code} already exists" in _text(response)


def test_payer_edit_changes_name_active_and_days_and_audits_the_difference(world):
    payer = b.payer(world.tenant)
    c = _client(world)
    page = _text(c.get(f"/billing/payers/{payer.pk}/"))
    assert f'value="{payer.name}"' in page
    response = c.post(
        f"/billing/payers/{payer.pk}/", {"name": "Renamed", "timely_filing_days": "90"}
    )
    assert response.status_code == 302
    payer.refresh_from_db()
    assert (payer.name, payer.active, payer.timely_filing_days) == ("Renamed", False, 90)
    entry = AuditEntry.objects.get(tenant=world.tenant, action="PAYER_CHANGED")
    assert entry.payload["active"] == {"from": True, "to": False}
    assert entry.payload["timely_filing_days"] == {"from": 365, "to": 90}


@pytest.mark.parametrize("role", [R.OPERATIONS, R.VIEWER])
def test_payer_screens_refuse_writes_to_roles_without_rules_manage(world, role):
    payer = b.payer(world.tenant)
    c = _client(world, role)
    page = _text(c.get("/billing/payers/"))
    assert f'id="payer-{payer.code}"' in page
    assert 'id="payer-form"' not in page
    assert c.post("/billing/payers/", {"code": "NOPE", "name": "x"}).status_code == 403
    assert c.get(f"/billing/payers/{payer.pk}/").status_code == 403
    assert not Payer.objects.filter(code="NOPE").exists()


# --- API ----------------------------------------------------------------------------------


def test_api_payers_create_list_and_patch(world):
    api = world.client(R.BILLING_MANAGER)
    created = api.post(
        "/api/billing/payers",
        {"code": "lakeside", "name": "Lakeside", "timely_filing_days": 120},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body | {"id": 0} == {
        "id": 0,
        "code": "LAKESIDE",
        "name": "Lakeside",
        "active": True,
        "timely_filing_days": 120,
    }
    codes = [p["code"] for p in world.client(R.VIEWER).get("/api/billing/payers").json()["results"]]
    assert "LAKESIDE" in codes
    patched = api.patch(f"/api/billing/payers/{body['id']}", {"active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert Payer.objects.get(pk=body["id"]).active is False


def test_api_payer_bad_input_is_400_naming_the_field(world):
    api = world.client(R.BILLING_MANAGER)
    response = api.post("/api/billing/payers", {"code": "a b", "name": "X"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "code" in error["message"] and "code" in error["details"]
    payer = b.payer(world.tenant)
    response = api.patch(f"/api/billing/payers/{payer.pk}", {"code": "NEW"}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()["error"]["details"]
    response = api.patch(
        f"/api/billing/payers/{payer.pk}", {"timely_filing_days": 0}, format="json"
    )
    assert response.status_code == 400
    assert "timely_filing_days" in response.json()["error"]["details"]


def test_api_payers_are_narrowed_by_payer_grants(world):
    granted, hidden = b.payer(world.tenant), b.payer(world.tenant)
    membership = TenantMembership.objects.get(
        tenant=world.tenant, user=world.users[R.BILLING_MANAGER]
    )
    object_access_grant(actor=world.actor(R.OWNER), membership_id=membership.pk, obj=granted)
    api = world.client(R.BILLING_MANAGER)
    codes = [p["code"] for p in api.get("/api/billing/payers").json()["results"]]
    assert codes == [granted.code]
    assert api.get(f"/api/billing/payers/{hidden.pk}").status_code == 404
    assert (
        api.patch(f"/api/billing/payers/{hidden.pk}", {"name": "x"}, format="json").status_code
        == 404
    )
