"""A billing manager closes a reviewed month from its run page (the dialog says what will happen,
in numbers), sees it Closed, and reopens it with a reason from the Month close list."""

import pytest
from playwright.sync_api import expect

from billing.models import MonthClose
from core import scopes as S
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "close-month-2026"


def test_manager_closes_a_month_with_confirmation_and_reopens_it(live_server, page, world):
    # given October billed for two members of a payer, and a billing manager who can sign in
    p = b.billed_payer(world.tenant, members=2)
    run = sb.done_run(world.tenant, [p], package=False)
    user = world.users[S.Role.BILLING_MANAGER]
    user.set_password(PASSWORD)
    user.save()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")

    # when they open the run and click Close, a dialog says what will happen, in numbers
    page.goto(f"{live_server.url}/billing/runs/{run.pk}/")
    page.fill(f"#close-{p.code} input[name=note]", "reviewed with finance")
    page.click(f"#close-{p.code} button[type=submit]")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".confirm-text")).to_have_text(
        f"Close 2026-10 for {p.code}: 2 members, $825.00 billed; regeneration will be refused"
    )
    assert not MonthClose.objects.exists()  # nothing was sent before confirming
    dialog.locator("button[value=confirm]").click()

    # then the month is closed, and the run page says so
    expect(page.locator(f"#closed-{p.code} .badge")).to_have_text("Closed")
    close = MonthClose.objects.get()
    assert (close.run_id, close.note, close.closed_by) == (run.pk, "reviewed with finance", user)

    # when they reopen it from Billing -> Month close, with a reason, and confirm
    page.click("nav.subnav >> text=Month close")
    row = page.locator(f"#close-{close.pk}")
    row.locator("input[name=reason]").fill("payer sent a correction")
    row.locator("button[type=submit]").click()
    page.locator("#confirm-dialog button[value=confirm]").click()

    # then the list shows it reopened, with the reason
    row = page.locator(f"#close-{close.pk}")
    expect(row.locator("[data-status]")).to_have_text("Reopened")
    expect(row).to_contain_text("payer sent a correction")
    close.refresh_from_db()
    assert close.status == "REOPENED"
