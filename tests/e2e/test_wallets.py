"""A billing manager tops a wallet up through the form, triggers a prepaid run (the worker runs
synchronously: Q_SYNC=1), and the wallet page shows the new balance, the ledger rows and the
burn-down chart's updated run-out date."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from core import scopes as S
from core.services import user_ensure
from tests.fixtures import add_user, make_tenant
from tests.wallets import builders as b
from wallets.models import PrepaidBillingRun, Wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "e2e-pass-2026"


def _confirm(page, button: str) -> None:
    """Accept core/confirm.js's dialog, checking what it asks."""
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("button[value=confirm]")).to_have_text(button)
    dialog.locator("button[value=confirm]").click()


def test_top_up_then_run_updates_balance_ledger_and_run_out_date(live_server, page):
    if not settings.Q_CLUSTER.get("sync"):
        pytest.skip("needs the synchronous worker: run with Q_SYNC=1")
    today = timezone.localdate()
    tenant = make_tenant("alpha")
    add_user(tenant, "alpha-manager", S.Role.BILLING_MANAGER)
    user_ensure(username="alpha-manager", password=PASSWORD)
    acc = b.account(tenant, "PP-E2E")
    wallet = b.wallet(tenant, acc, balance="20.00", min_balance="5.00")
    # $1.00 a day, post-rated, rated up to 10 days ago
    b.service(
        tenant,
        acc,
        price="30.00",
        period_days=30,
        rating="POST",
        rated_up_to=today - timedelta(days=10),
        periods=[("ACTIVE", today - timedelta(days=90), None)],
    )

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alpha-manager")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")

    # the manager opens Wallets, then the wallet (low: $20.00 is healthy, no estimate yet)
    page.click("nav.mainnav >> text=Wallets")
    expect(page.locator("h1")).to_have_text("Wallets")
    page.click(f"#wallet-{wallet.pk} a")
    expect(page.locator("#w-balance")).to_have_text("$20.00")
    expect(page.locator("#w-runout")).to_contain_text("not estimated yet")

    # top up $80.00 through the form, confirming the amount and the balance it leads to
    page.fill("#topup-amount", "80.00")
    page.fill("#topup-reference", "wire 4711")
    page.click("#topup-form button[type=submit]")
    expect(page.locator("#confirm-dialog .confirm-text")).to_contain_text(
        "Credit $80.00 to the wallet of PP-E2E (balance $20.00 → $100.00)"
    )
    _confirm(page, "Top up")
    expect(page.locator(".messages")).to_contain_text("the balance is now $100.00")
    expect(page.locator("#w-balance")).to_have_text("$100.00")

    # trigger a prepaid run as of today for this account, re-estimating every wallet
    page.click("nav.subnav >> text=Prepaid runs")
    page.fill("#as_of", today.isoformat())
    page.fill("#accounts", "PP-E2E")
    page.check("#trigger-form input[name=estimation][value=ALL]")
    page.click("#trigger-form button[type=submit]")
    expect(page.locator("#confirm-dialog .confirm-text")).to_contain_text(
        f"account PP-E2E as of {today.isoformat()}"
    )
    _confirm(page, "Run")
    expect(page).to_have_url(re.compile(r"/wallets/runs/\d+/$"))
    run = PrepaidBillingRun.objects.get(tenant=tenant)
    page.wait_for_selector('#run-status[data-status="COMPLETED"]', timeout=15_000)
    expect(page.locator("#c-debited")).to_have_text("$10.00")

    # the wallet page: the new balance, the three ledger rows and the chart's run-out date
    page.goto(f"{live_server.url}/wallets/{wallet.pk}/")
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("90.00")
    runout = (today + timedelta(days=90)).isoformat()  # floor($90.00 / $1.00 a day)
    assert wallet.estimated_consumption_date.isoformat() == runout
    expect(page.locator("#w-balance")).to_have_text("$90.00")
    expect(page.locator("#w-runout")).to_contain_text(runout)
    rows = page.locator("#ledger tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("-$10.00")
    expect(rows.nth(0)).to_contain_text(f"#{run.pk}")
    expect(rows.nth(1)).to_contain_text("$80.00")
    expect(rows.nth(1)).to_contain_text("wire 4711")
    expect(rows.nth(2)).to_contain_text("$20.00")
    expect(page.locator("#burndown-runout")).to_have_text(f"runs out {runout}")
    expect(page.locator("#burndown-chart .projection")).to_have_attribute("data-runout", runout)
    assert Wallet.objects.get(pk=wallet.pk).transactions.count() == 3
