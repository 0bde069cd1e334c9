"""A billing manager tops a wallet up through the form, triggers a prepaid run (the worker runs
synchronously: Q_SYNC=1), and the wallet page shows the new balance, the ledger rows and the
burn-down chart's updated run-out date. A viewer opens a run whose items were priced (issue 18)
and reads each item's breakdown and the notice that prepaid billing was not a debit cause."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from core import scopes as S
from core.services import user_ensure
from tests.fixtures import add_user, make_tenant
from tests.wallets import builders as b
from tests.wallets import pricing_builders as pb
from wallets.models import PrepaidBillingRun, RatedItem, Wallet

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


def test_run_page_shows_each_items_breakdown_and_the_not_debited_notice(live_server, page):
    tenant = make_tenant("alpha")
    add_user(tenant, "alpha-viewer", S.Role.VIEWER)
    user_ensure(username="alpha-viewer", password=PASSWORD)
    acc = b.account(tenant, "PP-E2E-PRICE")
    svc = b.service(tenant, acc, product_code="CARE")
    run = PrepaidBillingRun.objects.create(
        tenant=tenant,
        as_of=date(2026, 12, 1),
        status=PrepaidBillingRun.Status.COMPLETED,
        wallet_definition=pb.wallet_definition(tenant, ("USAGE",), code="WD-USAGE"),
        debit_causes=["USAGE"],
    )
    common = {"tenant": tenant, "run": run, "account": acc, "service": svc, "sign": "POSITIVE"}
    split = RatedItem.objects.create(
        **common,
        kind="SERVICE",
        start=date(2026, 11, 15),
        end=date(2026, 12, 1),
        active_days=16,
        price_per_period=Decimal("33.00"),
        period_days=30,
        net=Decimal("17.60"),
        discount=Decimal("1.76"),
        vat_rate=Decimal("21"),
        vat=Decimal("3.33"),
        gross=Decimal("19.17"),
        amount=Decimal("19.17"),
        discounts=[
            {
                "code": "LOYAL10",
                "name": "Loyalty discount",
                "kind": "PERCENT",
                "value": "10",
                "amount": "1.76",
            }
        ],
        reasons=["starts 2026-11-15: price plan rate changes"],
        identity="e2e-1",
    )
    penalty = RatedItem.objects.create(
        **common,
        kind="PENALTY_EARLY_CANCELLATION",
        start=date(2026, 11, 20),
        end=date(2027, 2, 1),
        net=Decimal("50.00"),
        vat_rate=Decimal("20"),
        vat=Decimal("10.00"),
        gross=Decimal("60.00"),
        amount=Decimal("60.00"),
        reasons=["cancelled 2026-11-20, before the binding period ends 2027-02-01"],
        identity="e2e-2",
    )

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alpha-viewer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    page.goto(f"{live_server.url}/wallets/runs/{run.pk}/")

    expect(page.locator("#run-not-debited")).to_contain_text(
        "Prepaid billing is not a debit cause of wallet definition WD-USAGE: "
        "items were rated and left not billed."
    )
    expect(page.locator("#run-not-debited")).to_contain_text("2 items not billed, $79.17 in all")
    row = page.locator(f"#item-{split.pk}")
    expect(row.locator(".item-net")).to_have_text("$17.60")
    expect(row.locator(".item-discount")).to_contain_text("Loyalty discount")
    expect(row).to_contain_text("-$1.76")
    expect(row).to_contain_text("VAT 21 %")
    expect(row.locator(".item-vat")).to_have_text("$3.33")
    expect(row.locator(".item-gross")).to_have_text("$19.17")
    expect(row.locator(".item-reasons")).to_have_text(
        "Starts 2026-11-15 because the price plan rate changes"
    )
    expect(row.locator(".item-state")).to_have_text("Not billed")
    other = page.locator(f"#item-{penalty.pk}")
    expect(other.locator(".item-kind")).to_contain_text("Early-cancellation penalty")
    expect(other.locator(".item-gross")).to_have_text("$60.00")
    # money is right-aligned in its column
    align = row.locator(".item-gross").evaluate("el => getComputedStyle(el).textAlign")
    assert align == "right"
