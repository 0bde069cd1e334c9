"""A viewer opens the comparison of a regenerated run from the run's page: the totals delta and
the class-transition matrix against the run it supersedes, then the members of one transition."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.engine.months import add_months
from billing.models import BillingRun, Decision
from billing.services import runs as run_services
from core.demo import DEMO_PASSWORD, load_demo
from core.models import Tenant
from core.templatetags.present import money, number
from tests.billing import compare_builders as cb
from tests.billing import screen_builders as sb

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _signed(value, fmt) -> str:
    return ("+" if Decimal(str(value)) > 0 else "") + fmt(value)


def test_viewer_compares_a_regeneration_with_the_run_it_supersedes(live_server, page):
    # given the demo's production run of last month, an amended file cancelling one billed
    # member's coverage, and the run regenerated on it
    load_demo()
    tenant = Tenant.objects.get(slug="demo")
    month = add_months(timezone.localdate().replace(day=1), -1)
    first = BillingRun.objects.get(tenant=tenant, month=month, mode="PRODUCTION")
    billed = (
        Decision.objects.filter(run=first, month=month, decision_class="BILLED_ACTIVE")
        .select_related("payer", "member")
        .order_by("id")
        .first()
    )
    sb.amended(billed.payer, billed.member, status="CANCELLED")
    second = run_services.billing_run_regenerate(
        actor=sb.b.system(tenant), run_id=first.pk, reason="corrected eligibility", enqueue=False
    )
    second = run_services.billing_run_execute(run_id=second.pk)
    want = cb.expected(second, first)
    assert want["by_transition"].get("BILLED_ACTIVE->NOT_BILLED_TERMINATED") == 1

    # when a viewer opens the regenerated run and follows "Compare"
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "demo-viewer")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    page.goto(f"{live_server.url}/billing/runs/{second.pk}/")
    page.click("#compare-link")

    # then the comparison with the run it supersedes shows the totals and their differences
    expect(page.locator("h1")).to_contain_text(f"Compare run {second.pk}")
    expect(page.locator("#compare-with")).to_have_value(str(first.pk))
    totals = want["totals"]
    members = page.locator("#total-members td")
    expect(members.nth(0)).to_have_text(number(totals["members"]["a"]))
    expect(members.nth(1)).to_have_text(number(totals["members"]["b"]))
    expect(page.locator("#total-billable td.delta")).to_have_text(
        _signed(totals["billable_members"]["delta"], number)
    )
    expect(page.locator("#total-charge td.delta")).to_have_text(
        _signed(totals["total_charge"]["delta"], money)
    )
    # and the class-transition matrix counts the cancelled member once
    cell = page.locator(
        '#compare-matrix td[data-from="BILLED_ACTIVE"][data-to="NOT_BILLED_TERMINATED"]'
    )
    expect(cell).to_have_text("1")
    unchanged = want["matrix"][("BILLED_ACTIVE", "BILLED_ACTIVE")]
    expect(
        page.locator('#compare-matrix td[data-from="BILLED_ACTIVE"][data-to="BILLED_ACTIVE"]')
    ).to_have_text(number(unchanged))

    # when they open that transition's members
    cell.locator("a").click()

    # then the changed members list shows the cancelled member, with both decisions linked
    rows = page.locator("#compare-changes tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(billed.member.external_id)
    new = Decision.objects.get(run=second, member=billed.member, month=month)
    expect(rows.first.locator(f'a[href="/billing/decisions/{new.pk}/"]')).to_have_count(1)
    expect(page.locator("#compare-csv")).to_have_attribute(
        "href",
        f"/billing/runs/{second.pk}/compare.csv?with={first.pk}"
        "&from=BILLED_ACTIVE&to=NOT_BILLED_TERMINATED",
    )
