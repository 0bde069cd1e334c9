"""An owner invites a colleague on the Members screen; the colleague opens the one-time link,
creates an account and lands on the tenant's dashboard with the invited role."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core import scopes as S
from core.models import AuditEntry, TenantMembership
from core.services import user_ensure
from tests.fixtures import add_user, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "e2e-pass-2026"
NEW_PASSWORD = "Brand-new-pass-2026"


def test_owner_invites_and_the_colleague_joins(live_server, browser, page):
    tenant = make_tenant("alpha")
    add_user(tenant, "alpha-owner", S.Role.OWNER)
    user_ensure(username="alpha-owner", password=PASSWORD)

    # the owner opens Members and invites someone as Operations (no email set up: link shown)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alpha-owner")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.click("nav.mainnav >> text=Members")
    page.fill("#invite-email", "colleague@example.org")
    page.select_option("#invite-role", "OPERATIONS")
    page.click("#invite-form button[type=submit]")
    expect(page.locator("#new-invitation")).to_contain_text("colleague@example.org (Operations)")
    link = page.inner_text("#invitation-link").strip()
    assert link.startswith(f"{live_server.url}/invitations/")
    expect(page.locator("#invitations")).to_contain_text("Pending")
    # reloading the page neither shows the link again nor invites twice
    page.reload()
    expect(page.locator("#invitation-link")).to_have_count(0)
    expect(page.locator("#invitations tbody tr")).to_have_count(1)

    # the colleague, in another browser session, opens the link and creates an account
    other = browser.new_context()
    colleague = other.new_page()
    colleague.goto(link)
    expect(colleague.locator("h1")).to_have_text("Join Alpha Health")
    colleague.fill("#id_username", "colleague")
    colleague.fill("#id_password1", NEW_PASSWORD)
    colleague.fill("#id_password2", NEW_PASSWORD)
    colleague.click("#accept-form button[type=submit]")
    expect(colleague.locator("p.lead")).to_have_text("Signed in as colleague, Operations.")
    expect(colleague.locator(".messages")).to_contain_text("Welcome to Alpha Health")

    # the link is spent
    colleague.goto(link)
    expect(colleague.locator("#invitation-problem")).to_have_text(
        "This invitation link was already used."
    )
    other.close()

    # and the owner sees the invitation accepted, the new member listed
    page.reload()
    expect(page.locator("#invitations")).to_contain_text("Accepted colleague")
    expect(page.locator("#invitations tbody tr")).to_have_count(1)
    membership = TenantMembership.objects.get(user__username="colleague")
    assert membership.role == "OPERATIONS"
    assert AuditEntry.objects.filter(tenant=tenant, action="INVITATION_ACCEPTED").count() == 1
