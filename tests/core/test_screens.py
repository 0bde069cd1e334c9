"""Core staff screens: sign-in, dashboard, navigation, tenant switcher, audit, tokens, approvals,
members."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core import scopes as S
from core.actors import Actor
from core.models import ApiToken, AuditEntry, OverrideRequest, TenantMembership
from core.overrides import override_perform
from core.services import membership_add, tenant_policy_update, user_ensure
from tests.core.overrides_fixture import ACTION
from tests.fixtures import add_user, make_tenant


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _html(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- sign-in ------------------------------------------------------------------------------------


def test_login_page_renders(db):
    # when the sign-in page is opened / then it shows the form
    response = Client().get("/login/")
    assert response.status_code == 200
    assert 'name="username"' in _html(response)
    assert 'name="password"' in _html(response)


def test_login_signs_in_and_lands_on_dashboard(world):
    # given a member with a password
    user = user_ensure(username="pat", password="correct horse battery staple")
    membership_add(actor=Actor.system_for(world.tenant), user=user, role=S.Role.VIEWER)
    client = Client()
    # when they sign in
    response = client.post(
        "/login/", {"username": "pat", "password": "correct horse battery staple"}
    )
    # then they are sent to the dashboard, which shows their tenant
    assert response.status_code == 302
    assert response["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Alpha Health" in _html(dashboard)


def test_login_wrong_password_stays_signed_out(world):
    # given a user with a password / when the wrong one is given
    user_ensure(username="pat", password="correct horse battery staple")
    client = Client()
    response = client.post("/login/", {"username": "pat", "password": "wrong"})
    # then the form comes back with an error and the dashboard still needs sign-in
    assert response.status_code == 200
    assert "didn't match" in _html(response)
    assert client.get("/").status_code == 302


def test_dashboard_requires_sign_in(db):
    # when an anonymous visitor opens the dashboard / then they are sent to sign in
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- dashboard and navigation -------------------------------------------------------------------


def test_dashboard_shows_tenant_name_and_role(world):
    # when the BILLING_MANAGER opens the dashboard / then it names the tenant and the role
    response = _client(world.users[S.Role.BILLING_MANAGER]).get("/")
    html = _html(response)
    assert response.status_code == 200
    assert "<h1>Alpha Health</h1>" in html
    assert "Billing manager" in html
    assert "alpha-billing_manager" in html


NAV = [
    # role, shows Audit (audit.read), shows Members (tenant.manage): from SPEC 2's table
    ("OWNER", True, True),
    ("ADMIN", True, True),
    ("BILLING_MANAGER", True, False),
    ("OPERATIONS", False, False),
    ("VIEWER", False, False),
]


@pytest.mark.parametrize("role,audit,members", NAV, ids=[n[0] for n in NAV])
def test_navigation_links_follow_scopes(world, role, audit, members):
    # when the role's user opens the dashboard
    html = _html(_client(world.users[role]).get("/"))
    nav = html[html.index('<nav class="mainnav"') : html.index("</nav>")]
    # then Audit and Members appear exactly for the roles holding audit.read / tenant.manage
    assert ('href="/audit/"' in nav) is audit
    assert (">Audit</a>" in nav) is audit
    assert ('href="/tenant/members/"' in nav) is members
    assert (">Members</a>" in nav) is members
    # and every member sees the links everyone may use
    assert ">API tokens</a>" in nav
    assert ">Approvals</a>" in nav


def test_user_without_tenant_gets_no_tenant_page(db):
    # given a user who belongs to no tenant
    user = user_ensure(username="lonely")
    # when they open the dashboard / then a 403 page says they have no tenant
    response = _client(user).get("/")
    assert response.status_code == 403
    assert "No tenant" in _html(response)
    assert "lonely" in _html(response)


def test_screen_needing_scope_shows_forbidden_page(world):
    # when a VIEWER opens the audit screen / then 403 names the missing scope
    response = _client(world.users[S.Role.VIEWER]).get("/audit/")
    assert response.status_code == 403
    assert "Not allowed" in _html(response)
    assert S.AUDIT_READ in _html(response)


# --- tenant switcher ----------------------------------------------------------------------------


@pytest.fixture
def two_tenant_owner(world):
    """alpha's OWNER, also a VIEWER of beta."""
    user = world.users[S.Role.OWNER]
    membership_add(actor=Actor.system_for(world.other_tenant), user=user, role=S.Role.VIEWER)
    return user


def test_tenant_switch_changes_current_tenant(world, two_tenant_owner):
    client = _client(two_tenant_owner)
    # given the dashboard shows alpha, with a switcher listing both tenants
    html = _html(client.get("/"))
    assert "<h1>Alpha Health</h1>" in html
    assert 'name="tenant"' in html
    assert 'value="beta"' in html
    # when they switch to beta
    response = client.post("/tenant/switch/", {"tenant": "beta"})
    assert response.status_code == 302
    # then the dashboard shows beta and their role there, and beta's scopes apply
    after = client.get("/")
    assert "<h1>Beta Health</h1>" in _html(after)
    assert "Viewer" in _html(after)
    assert "Switched to Beta Health." in _messages(after)
    assert client.get("/audit/").status_code == 403
    # and switching back restores alpha
    client.post("/tenant/switch/", {"tenant": "alpha"})
    assert "<h1>Alpha Health</h1>" in _html(client.get("/"))
    assert client.get("/audit/").status_code == 200


def test_tenant_switch_to_foreign_tenant_refused(world, two_tenant_owner):
    # given a tenant the user does not belong to
    gamma = make_tenant("gamma")
    add_user(gamma, "gamma-owner", S.Role.OWNER)
    client = _client(two_tenant_owner)
    # when they try to switch to it
    response = client.post("/tenant/switch/", {"tenant": "gamma"}, follow=True)
    # then an error is shown and they stay in alpha
    html = _html(response)
    assert "You are not a member of that tenant." in html
    assert "<h1>Alpha Health</h1>" in html
    assert "Gamma Health" not in html


def test_tenant_switch_needs_post(world, two_tenant_owner):
    # when the switch is requested with GET / then it is refused and nothing changes
    client = _client(two_tenant_owner)
    assert client.get("/tenant/switch/", {"tenant": "beta"}).status_code == 405
    assert "<h1>Alpha Health</h1>" in _html(client.get("/"))


# --- audit screen -------------------------------------------------------------------------------


def test_audit_screen_filters_by_action(world):
    client = _client(world.users[S.Role.OWNER])
    # when the audit screen is filtered on MEMBERSHIP_ADDED
    response = client.get("/audit/", {"action": "MEMBERSHIP_ADDED"})
    html = _html(response)
    table = html[html.index("<tbody>") : html.index("</tbody>")]
    # then only those rows are listed (one per member), with the chain check offered
    assert response.status_code == 200
    assert table.count('<span class="code" title="MEMBERSHIP_ADDED">') == len(S.Role)
    assert 'title="TENANT_CREATED"' not in table
    assert "Verify chain" in html
    # and without the filter the tenant's creation shows too
    unfiltered = _html(client.get("/audit/"))
    assert '<span class="code" title="TENANT_CREATED">Tenant created</span>' in unfiltered


def test_audit_verify_fragment_reports_chain_ok(world):
    # when the chain is verified from the audit screen / then it reports OK with the count
    response = _client(world.users[S.Role.OWNER]).get("/audit/verify/")
    html = _html(response)
    assert response.status_code == 200
    assert "Chain OK" in html
    count = AuditEntry.objects.filter(tenant=world.tenant).count()
    assert f"{count} entries verified" in html


def test_audit_verify_fragment_reports_broken_chain_under_another_key(world, settings):
    # given the chain key differs from the one the entries were signed with
    settings.AUDIT_CHAIN_KEY = "a-different-key"
    # when the chain is verified / then it is reported broken at the first entry
    html = _html(_client(world.users[S.Role.OWNER]).get("/audit/verify/"))
    assert "Chain OK" not in html
    assert "Chain broken" in html
    assert "#1" in html


# --- tokens screen ------------------------------------------------------------------------------


def test_tokens_screen_shows_new_key_exactly_once(world):
    client = _client(world.users[S.Role.OPERATIONS])
    # when a token is created on the screen
    response = client.post(
        "/tokens/", {"name": "nightly loader", "scopes": [S.INGESTION_UPDATE, S.BILLING_RUN_VIEW]}
    )
    html = _html(response)
    # then the page shows the raw key once, and it works
    assert response.status_code == 200
    keys = re.findall(r'<code class="secret" id="new-token">([^<]+)</code>', html)
    assert len(keys) == 1
    raw = keys[0]
    assert html.count(raw) == 1
    token = ApiToken.objects.get()
    assert token.name == "nightly loader"
    assert sorted(token.scopes) == sorted([S.INGESTION_UPDATE, S.BILLING_RUN_VIEW])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/me").status_code == 200
    # and the next visit lists the token but not the key
    again = _html(client.get("/tokens/"))
    assert raw not in again
    assert 'id="new-token"' not in again
    assert "nightly loader" in again
    assert token.prefix in again


def test_tokens_screen_refuses_scope_beyond_role(world):
    # when a VIEWER asks, on the screen, for a scope they lack
    client = _client(world.users[S.Role.VIEWER])
    response = client.post("/tokens/", {"name": "x", "scopes": [S.BILLING_RUN_TRIGGER]})
    # then an error is shown, no key, no token
    html = _html(response)
    assert 'id="new-token"' not in html
    assert "cannot carry scopes you do not hold" in html
    assert not ApiToken.objects.exists()


# --- approvals screen ---------------------------------------------------------------------------


@pytest.fixture
def pending_override(world):
    """An override filed by the OWNER under dual control, waiting for a second person."""
    owner = world.actor(S.Role.OWNER)
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_OVERRIDE_CREATE])
    outcome = override_perform(
        actor=owner, action=ACTION, payload={"member": "M-7"}, reason="late enrolment"
    )
    assert not outcome.executed
    return outcome.request


def test_approvals_screen_second_person_approves(world, pending_override):
    client = _client(world.users[S.Role.ADMIN])
    # given the queue shows the request to the ADMIN with an approve button
    html = _html(client.get("/approvals/overrides/"))
    assert "flag member-month M-7" in html
    assert 'value="approve"' in html
    # when the ADMIN approves it
    response = client.post(
        "/approvals/overrides/",
        {"request": pending_override.pk, "decision": "approve", "note": "checked"},
        follow=True,
    )
    # then it is approved by them and carried out
    assert f"Override request {pending_override.pk} approved and carried out." in _html(response)
    pending_override.refresh_from_db()
    assert pending_override.status == OverrideRequest.Status.APPROVED
    assert pending_override.decided_by == world.users[S.Role.ADMIN]
    assert pending_override.result == {"flagged": "M-7", "approved_by": "alpha-admin"}
    done = AuditEntry.objects.get(tenant=world.tenant, action="TEST_OVERRIDE_DONE")
    assert done.payload["approved_by"] == "alpha-admin"
    assert done.payload["requested_by"] == "alpha-owner"


def test_approvals_screen_requester_cannot_approve_own(world, pending_override):
    client = _client(world.users[S.Role.OWNER])
    # given the requester sees their request without a decision form
    html = _html(client.get("/approvals/overrides/"))
    assert "yours: another person decides" in html
    # when they post an approval anyway
    response = client.post(
        "/approvals/overrides/",
        {"request": pending_override.pk, "decision": "approve"},
        follow=True,
    )
    # then it is refused and the request still waits
    assert "second person must" in _html(response)
    pending_override.refresh_from_db()
    assert pending_override.status == OverrideRequest.Status.PENDING
    assert not AuditEntry.objects.filter(action="TEST_OVERRIDE_DONE").exists()


# --- members screen -----------------------------------------------------------------------------


def test_members_screen_changes_role(world):
    client = _client(world.users[S.Role.OWNER])
    viewer = TenantMembership.objects.get(user=world.users[S.Role.VIEWER], tenant=world.tenant)
    # given the members screen lists the viewer
    assert "alpha-viewer" in _html(client.get("/tenant/members/"))
    # when the owner makes them OPERATIONS
    response = client.post(
        "/tenant/members/", {"membership": viewer.pk, "role": "OPERATIONS"}, follow=True
    )
    # then the screen confirms, the role is stored and the new scopes are in force
    assert "alpha-viewer is now Operations." in _html(response)
    viewer.refresh_from_db()
    assert viewer.role == S.Role.OPERATIONS
    assert Actor(tenant=world.tenant, user=viewer.user).has(S.INGESTION_UPDATE)


def test_members_screen_refuses_demoting_last_owner(world):
    client = _client(world.users[S.Role.OWNER])
    owner = TenantMembership.objects.get(user=world.users[S.Role.OWNER], tenant=world.tenant)
    # when the only owner is made VIEWER / then an error is shown and they stay owner
    response = client.post(
        "/tenant/members/", {"membership": owner.pk, "role": "VIEWER"}, follow=True
    )
    assert "last owner" in _html(response)
    owner.refresh_from_db()
    assert owner.role == S.Role.OWNER
