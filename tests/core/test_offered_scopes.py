"""Screens and the API list only the scopes some installed app offers (issue 10, defect 5).

Every app of the role table is built now (wallets came last, issue 15), so the refusal of a scope
no app offers is checked with the wallets app's offer taken away for the test."""

from __future__ import annotations

import pytest

from core import scopes as S
from core.models import ApiToken, TenantPolicy

WALLETS = [
    S.WALLETS_RUN_TRIGGER,
    S.WALLETS_TOPUP,
    S.WALLETS_VIEW,
]
OFFERED = {
    S.TENANT_MANAGE,
    S.AUDIT_READ,
    # the event feed (issue 19)
    S.EVENTS_READ,
    S.BILLING_RULES_MANAGE,
    S.BILLING_RUN_TRIGGER,
    S.BILLING_OVERRIDE_CREATE,
    S.BILLING_RUN_VIEW,
    S.BILLING_DECISION_REPLAY,
    S.BILLING_EXCEPTION_RESOLVE,
    S.INGESTION_READ,
    S.INGESTION_UPDATE,
    S.INVOICING_REQUEST_CREATE,
    S.INVOICING_REQUEST_APPROVE,
    S.INVOICING_TYPE_MANAGE,
    S.INVOICING_VIEW,
    # claims and receivables (issue 13)
    S.CLAIMS_WRITE,
    S.CLAIMS_VIEW,
    S.BILLING_RECEIVABLE_OVERRIDE,
    # denial work (issue 14)
    S.BILLING_DENIAL_WRITE,
    S.BILLING_AUTOCORRECTION_RUN,
    S.BILLING_AUTOCORRECTION_OVERRIDE,
    S.BILLING_COB_OVERRIDE,
    # wallets and prepaid billing (issue 15)
    *WALLETS,
}


@pytest.fixture
def wallets_not_offered(monkeypatch):
    """As if the wallets app were not installed: its scopes are held by roles but not offered."""
    monkeypatch.delitem(S._OFFERED, "wallets")
    assert not set(WALLETS) & set(S.offered_scopes())


def test_offered_scopes_are_those_of_every_app_of_the_role_table():
    assert set(S.offered_scopes()) == OFFERED
    assert set(S.offered_scopes()) == set(S.ALL_SCOPES)
    assert S.offered_override_scopes() == (
        S.BILLING_OVERRIDE_CREATE,
        S.BILLING_RUN_TRIGGER,
        S.BILLING_AUTOCORRECTION_OVERRIDE,
        S.BILLING_RECEIVABLE_OVERRIDE,
        S.BILLING_COB_OVERRIDE,
        S.BILLING_DENIAL_WRITE,
    )
    # the SPEC role table itself names every scope
    assert set(WALLETS) <= S.ROLE_SCOPES[S.Role.OWNER]


def test_offer_scopes_refuses_a_scope_core_does_not_know():
    with pytest.raises(ValueError, match="made.up"):
        S.offer_scopes("nonsense", ["made.up"])


@pytest.mark.parametrize("url", ["/", "/tokens/", "/tenant/members/"])
def test_owner_screens_do_not_mention_scopes_no_app_offers(world, url, wallets_not_offered):
    # given the wallets app's scopes not offered
    # when an OWNER (who holds every scope of the role table) opens the screen
    response = world.client(S.Role.OWNER).get(url)
    assert response.status_code == 200
    html = response.content.decode().lower()
    # then no scope that is not offered is listed, by code or by label
    for scope in WALLETS:
        assert scope not in html, scope
        assert S.SCOPE_LABELS[scope].lower() not in html, scope


def test_owner_token_screen_offers_the_wallets_scopes(world):
    # when an OWNER opens the API tokens screen / then the wallets scopes can be ticked
    html = world.client(S.Role.OWNER).get("/tokens/").content.decode()
    for scope in WALLETS:
        assert f'value="{scope}"' in html, scope


def test_dashboard_lists_the_offered_scopes_of_the_role(world):
    html = world.client(S.Role.VIEWER).get("/").content.decode()
    assert S.SCOPE_LABELS[S.BILLING_RUN_VIEW] in html
    assert S.SCOPE_LABELS[S.INGESTION_READ] in html
    assert S.SCOPE_LABELS[S.WALLETS_VIEW] in html
    # scopes the VIEWER lacks are shown as not granted
    assert f'{S.SCOPE_LABELS[S.BILLING_RUN_TRIGGER]}<span class="sr-only"> (not granted)' in html


def test_token_form_offers_only_offered_scopes(world):
    html = world.client(S.Role.OWNER).get("/tokens/").content.decode()
    for scope in OFFERED:
        assert f'value="{scope}"' in html
    assert html.count('name="scopes"') == len(OFFERED)


def test_api_token_with_a_scope_not_offered_is_400_naming_it(world, wallets_not_offered):
    # when an OWNER asks for a token carrying a wallets scope (held by the role, not offered)
    response = world.client(S.Role.OWNER).post(
        "/api/tokens",
        {"name": "x", "scopes": [S.BILLING_RUN_VIEW, S.WALLETS_TOPUP]},
        format="json",
    )
    # then it is a 400 naming the scope, and no token exists
    assert response.status_code == 400
    error = response.json()["error"]
    assert S.WALLETS_TOPUP in error["message"]
    assert "not offered" in error["message"]
    assert not ApiToken.objects.exists()


def test_token_screen_refuses_a_scope_not_offered(world, wallets_not_offered):
    response = world.client(S.Role.OWNER).post(
        "/tokens/", {"name": "x", "scopes": [S.WALLETS_TOPUP]}, follow=True
    )
    assert response.status_code == 200
    assert f"{S.WALLETS_TOPUP} not offered" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_policy_refuses_a_scope_not_offered_for_dual_control(world, wallets_not_offered):
    response = world.client(S.Role.OWNER).post(
        "/api/tenant/policy", {"dual_control_scopes": [S.WALLETS_TOPUP]}, format="json"
    )
    assert response.status_code == 400
    assert S.WALLETS_TOPUP in response.json()["error"]["message"]
    assert TenantPolicy.objects.get(tenant=world.tenant).dual_control_scopes == []
    wanted = [S.BILLING_OVERRIDE_CREATE, S.BILLING_COB_OVERRIDE, S.BILLING_DENIAL_WRITE]
    ok = world.client(S.Role.OWNER).post(
        "/api/tenant/policy", {"dual_control_scopes": wanted}, format="json"
    )
    assert ok.status_code == 200
    assert sorted(ok.json()["dual_control_scopes"]) == sorted(wanted)
