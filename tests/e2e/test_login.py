"""A person signs in as the demo OWNER and lands on the dashboard."""

import pytest

from core.demo import DEMO_PASSWORD, load_demo

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_login_owner_sees_dashboard(live_server, page):
    load_demo()

    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url

    page.fill("#id_username", "demo-owner")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Demo Health Billing"
    assert "Owner" in page.inner_text("p.lead")
    nav = page.inner_text("nav.mainnav")
    assert "Audit" in nav and "Members" in nav
    # the owner belongs to two tenants: the switcher is offered
    assert page.locator("#tenant-select option").count() == 2


def test_login_wrong_password_is_refused(live_server, page):
    load_demo()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "demo-owner")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "didn't match" in page.inner_text("main")
    assert "/login/" in page.url
