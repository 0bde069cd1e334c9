"""A locked-out colleague gets the lockout page; an owner sees the lock on Members, unlocks it
after confirming, and the colleague signs in."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from playwright.sync_api import expect

from core import scopes as S
from core.services import user_ensure
from tests.fixtures import add_user, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "e2e-pass-2026"


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_owner_unlocks_a_locked_out_colleague(live_server, browser, page):
    tenant = make_tenant("alpha")
    add_user(tenant, "alpha-owner", S.Role.OWNER)
    add_user(tenant, "alpha-viewer", S.Role.VIEWER)
    for name in ("alpha-owner", "alpha-viewer"):
        user_ensure(username=name, password=PASSWORD)
    # the viewer's failed sign-ins came from another address (browsers here share one)
    AccessAttempt.objects.create(
        username="alpha-viewer",
        ip_address="192.0.2.10",
        user_agent="",
        failures_since_start=settings.AXES_FAILURE_LIMIT,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/login/",
    )

    # the viewer, even with the right password, gets the lockout page
    colleague = browser.new_context().new_page()
    _sign_in(colleague, live_server.url, "alpha-viewer")
    expect(colleague.locator("#locked-out h1")).to_have_text("Sign-in temporarily locked")
    expect(colleague.locator("#locked-out")).to_contain_text("ask an admin")

    # the owner sees the lock on Members and unlocks after confirming
    _sign_in(page, live_server.url, "alpha-owner")
    page.click("nav.mainnav >> text=Members")
    row = page.locator("tr", has_text="alpha-viewer")
    expect(row.locator(".badge")).to_contain_text("Locked out until")
    row.locator("button", has_text="Unlock").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog.locator(".confirm-text")).to_contain_text("Unlock alpha-viewer")
    dialog.locator("button[value=confirm]").click()
    expect(page.locator("main")).to_contain_text("alpha-viewer may sign in again.")
    expect(page.locator("tr", has_text="alpha-viewer").locator(".badge")).to_have_count(0)

    # the viewer signs in
    _sign_in(colleague, live_server.url, "alpha-viewer")
    expect(colleague.locator("h1")).to_have_text("Alpha Health")
