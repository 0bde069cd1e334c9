"""A denial from the payer is worked from the queue to a write-off and reopened with a reason
(issue 14, the denial browser test): the claim balance drops by the denied amount at the
write-off, comes back to the cent at the reopen, and the timeline shows every move."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.demo import load_demo
from denials.balances import with_amounts
from denials.models import Claim, Denial
from tests.denials import screens_builders as sb
from tests.e2e.signin import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _balance(d: Denial) -> Decimal:
    return with_amounts(Claim.objects.filter(pk=d.claim_id)).get().balance


def _confirm(page) -> None:
    """Accept the confirmation dialog of a consequential action (core/confirm.js)."""
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("button[value=confirm]").click()


def test_work_write_off_and_reopen_a_denial_on_the_screens(live_server, page):
    tenant = load_demo()
    # given a claim billed 100.00, paid 60.00, with a CO-29 denial of 40.00 still open
    d = sb.denial(tenant, payer="E2EDEN", carc="29", billed="100.00", paid="60.00")
    sign_in(page, live_server.url, "demo-manager")

    # when the manager finds it in the queue, filtered on its payer, and opens it
    page.goto(f"{live_server.url}/claims/denials/?payer=E2EDEN")
    row = page.locator(f"#denial-row-{d.pk}")
    expect(row).to_contain_text("CO-29")
    expect(row.locator(".open-amount")).to_have_text("$40.00")
    row.get_by_role("link", name=f"#{d.pk}").click()
    expect(page.locator("#denial-status")).to_have_text("Open")
    expect(page.locator("#claim-balance")).to_have_text("$40.00")

    # when they start working it (confirming)
    page.click("#action-work")
    _confirm(page)
    expect(page.locator("#denial-status")).to_have_text("In progress")
    expect(page.locator("#denial-assignee")).to_have_text("demo-manager")

    # when they write it off with a reason: the balance drops by the 40.00
    page.fill("#write-off-reason", "timely filing limit passed, no appeal possible")
    page.click("#action-write-off")
    _confirm(page)
    expect(page.locator("#denial-status")).to_have_text("Written off")
    expect(page.locator("#claim-balance")).to_have_text("$0.00")
    expect(page.locator(".messages")).to_contain_text("balance is now $0.00")
    assert _balance(d) == Decimal("0.00")

    # when they reopen it with a reason: the balance is back to the cent
    page.fill("#reopen-reason", "payer accepted proof of timely filing")
    page.click("#action-reopen")
    _confirm(page)
    expect(page.locator("#denial-status")).to_have_text("Open")
    expect(page.locator("#claim-balance")).to_have_text("$40.00")
    assert _balance(d) == Decimal("40.00")
    assert Denial.objects.get(pk=d.pk).status == Denial.Status.OPEN

    # then the timeline shows each move with its reason
    timeline = page.locator("#denial-timeline")
    for action in ("DENIAL_WORKED", "DENIAL_WRITTEN_OFF", "DENIAL_REOPENED"):
        expect(timeline.locator(f'tr[data-action="{action}"]')).to_have_count(1)
    expect(timeline).to_contain_text("timely filing limit passed, no appeal possible")
    expect(timeline).to_contain_text("payer accepted proof of timely filing")
