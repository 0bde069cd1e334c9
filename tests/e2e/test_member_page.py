"""A billing viewer looks a member up and reads their eligibility timeline: per payer, every
assertion received, with the one that won each decided month marked."""

import re

import pytest
from playwright.sync_api import expect

from billing.models import BillingRun, Decision
from core.demo import DEMO_PASSWORD, load_demo

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_viewer_searches_a_member_and_sees_the_winning_assertion_per_month(live_server, page):
    load_demo()
    decision = (
        Decision.objects.filter(
            run__mode=BillingRun.Mode.PRODUCTION,
            run__status__in=BillingRun.DONE,
            inputs__winner__isnull=False,
        )
        .select_related("member", "payer")
        .order_by("id")
        .first()
    )
    member, winner = decision.member, decision.inputs["winner"]
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "demo-viewer")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")

    # Billing -> Members, search by the member id
    page.click("nav.mainnav >> text=Billing")
    page.click("nav.subnav >> text=Members")
    expect(page.locator("h1")).to_have_text("Members")
    page.fill("#member-q", member.external_id)
    page.click("#member-search button[type=submit]")
    result = page.locator("#member-results a", has_text=member.external_id)
    expect(result).to_have_count(1)
    result.click()

    # the member's page: a timeline per payer, the winner of the decided month marked
    expect(page).to_have_url(re.compile(rf"/billing/members/{member.pk}/$"))
    expect(page.locator("h1")).to_contain_text(member.external_id)
    section = page.locator(f"#payer-{decision.payer.code}")
    expect(section.locator("table.timeline")).to_be_visible()
    row = section.locator(f"#assertion-{winner}")
    expect(row).to_have_class(re.compile(r"\bwinner\b"))
    expect(row.locator("td.won")).to_contain_text(f"★ {decision.month:%Y-%m}")
    # the decision's row links its run and says it is authoritative
    decision_row = section.locator(f"#member-decision-{decision.pk}")
    expect(decision_row).to_contain_text("Authoritative")
    expect(decision_row.locator(f'a[href="/billing/runs/{decision.run_id}/"]')).to_have_count(1)
