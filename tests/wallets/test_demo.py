"""The wallets part of the demo (issue 15, build item 10): healthy, low, capped and empty wallets,
pre- and post-rated services with suspended days, usage of each directive, a completed run with
estimates and a recurring successor scheduled; loading it again changes nothing."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from core.audit import verify_chain
from core.demo import _ensure_tenant, demo_loaders, load_core_demo
from wallets.demo import load_wallets_demo
from wallets.models import (
    Discount,
    PrepaidBillingRun,
    PricePlan,
    Product,
    RatedItem,
    SubscriptionService,
    TaxClass,
    UsageRecord,
    Wallet,
    WalletDefinition,
    WalletProductConsumption,
    WalletTransaction,
)

FIRST_FOUR = [  # issue 15's accounts; DEMO-2005/2006 (issue 18's pricing) are checked below
    "DEMO-2001-MOBILE",
    "DEMO-2001-DATA",
    "DEMO-2002-MOBILE",
    "DEMO-2002-SMS",
    "DEMO-2003-DATA",
    "DEMO-2004-DATA",
    "DEMO-2004-TV",
]


@pytest.fixture
def demo(db):
    tenant = _ensure_tenant("demo", "Demo")
    load_core_demo(tenant)
    said = load_wallets_demo(tenant)
    return tenant, said


def _command(*args) -> dict:
    out = io.StringIO()
    call_command(*args, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0])


def _wallet(tenant, number: str) -> Wallet:
    return Wallet.objects.get(tenant=tenant, account__number=number)


def _service(tenant, ext: str) -> SubscriptionService:
    return SubscriptionService.objects.get(tenant=tenant, external_id=ext)


def test_wallets_loader_runs_after_the_invoicing_accounts_and_denials():
    names = [loader.name for loader in demo_loaders()]
    assert "wallets-prepaid" in names
    assert names.index("wallets-prepaid") > names.index("invoicing-setup")
    assert names.index("wallets-prepaid") > names.index("denials-corrections-cob")


def test_demo_wallets_end_healthy_low_capped_and_empty(demo):
    tenant, said = demo
    # worked by hand (SPEC 7): 500 + 100 top-up - 30 MOBILE ahead - 10 DATA (20 ACTIVE days)
    # - 4.50 usage + 2.00 credit; 30 - 1.00 SMS + 5.00 credit (MOBILE 45.00 INVALID);
    # 25 - 5.00 (14.00 capped at the stop threshold 20); 20 - 20.00 DATA
    expected = {
        "DEMO-2001": Decimal("557.50"),
        "DEMO-2002": Decimal("34.00"),
        "DEMO-2003": Decimal("20.00"),
        "DEMO-2004": Decimal("0.00"),
    }
    for number, balance in expected.items():
        w = _wallet(tenant, number)
        assert w.balance == balance, number
        ledger = sum(t.amount for t in WalletTransaction.objects.filter(wallet=w))
        assert ledger == balance, number
    # the low wallet is below its minimum, the capped one at its stop threshold
    low, capped = _wallet(tenant, "DEMO-2002"), _wallet(tenant, "DEMO-2003")
    assert low.balance < low.min_balance_threshold
    assert capped.balance == capped.stop_service_threshold
    assert "prepaid run" in said and "COMPLETED" in said


def test_demo_ledgers_have_opening_top_up_and_debit_rows(demo):
    tenant, _ = demo
    healthy = _wallet(tenant, "DEMO-2001")
    rows = list(
        WalletTransaction.objects.filter(wallet=healthy)
        .order_by("id")
        .values_list("kind", "cause", "amount")
    )
    assert rows[0] == ("CREDIT", "OPENING_BALANCE", Decimal("500.00"))
    assert rows[1] == ("CREDIT", "TOP_UP", Decimal("100.00"))
    debits = sorted(a for k, _, a in rows if k == "DEBIT")
    assert debits == [Decimal("-30.00"), Decimal("-10.00"), Decimal("-4.50")]
    assert ("CREDIT", "USAGE", Decimal("2.00")) in rows
    topup = WalletTransaction.objects.get(wallet=healthy, cause="TOP_UP")
    assert topup.created_by.username == "demo-manager"
    # the capped wallet's item keeps its full amount and what was debited
    item = RatedItem.objects.get(service=_service(tenant, "DEMO-2003-DATA"))
    assert (item.amount, item.debited, item.state) == (Decimal("14.00"), Decimal("5.00"), "BILLED")


def test_demo_services_are_rated_or_invalid_as_the_rules_say(demo):
    tenant, _ = demo
    today = date.today()
    state = {
        s.external_id: (s.prepayment_state, s.rated_up_to)
        for s in SubscriptionService.objects.filter(tenant=tenant, external_id__in=FIRST_FOUR)
    }
    assert state == {
        "DEMO-2001-MOBILE": ("VALID", today + timedelta(days=15)),  # pre-rated a period ahead
        "DEMO-2001-DATA": ("VALID", today),  # post-rated up to the run
        "DEMO-2002-MOBILE": ("INVALID", None),  # below the minimum balance: not rated
        "DEMO-2002-SMS": ("VALID", today),
        "DEMO-2003-DATA": ("VALID", today),
        "DEMO-2004-DATA": ("VALID", today),
        "DEMO-2004-TV": ("VALID", today + timedelta(days=20)),  # suspended: rated, no charge
    }
    assert not RatedItem.objects.filter(service=_service(tenant, "DEMO-2004-TV")).exists()
    # the DATA item of the healthy wallet counts 20 ACTIVE days of its 30 (10 suspended)
    data = RatedItem.objects.get(service=_service(tenant, "DEMO-2001-DATA"), kind="SERVICE")
    assert (data.start, data.end, data.active_days) == (
        today - timedelta(days=30),
        today,
        20,
    )
    # usage: billed and credited rated once; cancelled and not yet due left alone
    usage = {
        (u.directive, u.amount): u.state
        for u in UsageRecord.objects.filter(service__external_id="DEMO-2001-DATA")
    }
    assert usage == {
        ("TO_BE_BILLED", Decimal("4.50")): "RATED",
        ("TO_BE_CREDITED", Decimal("2.00")): "RATED",
        ("CANCELLED", Decimal("9.99")): "POSTED",
        ("TO_BE_BILLED", Decimal("3.00")): "POSTED",
    }


def test_demo_run_completed_with_estimates_and_its_successor_is_scheduled(demo):
    tenant, _ = demo
    today = date.today()
    run = PrepaidBillingRun.objects.get(tenant=tenant, previous__isnull=True)
    assert run.status == "COMPLETED"
    assert run.estimation == "ALL"
    assert run.triggered_by.username == "demo-manager"
    assert run.as_of == today
    # estimates: burn 1.50 a day would last 371 days, capped at 365; the empty wallet: 0 days
    healthy, low = _wallet(tenant, "DEMO-2001"), _wallet(tenant, "DEMO-2002")
    capped, empty = _wallet(tenant, "DEMO-2003"), _wallet(tenant, "DEMO-2004")
    assert (healthy.estimated_consumption_days, healthy.estimated_consumption_date) == (
        365,
        today + timedelta(days=365),
    )
    assert low.estimated_consumption_days == 340  # only SMS burns (0.10): MOBILE is INVALID
    assert capped.estimated_consumption_days == 20
    assert (empty.estimated_consumption_days, empty.estimated_consumption_date) == (0, today)
    shares = dict(
        WalletProductConsumption.objects.filter(wallet=healthy).values_list(
            "product__code", "available_amount"
        )
    )
    assert shares == {"MOBILE": Decimal("371.67"), "DATA": Decimal("185.83")}
    # and the recurring run's successor waits as a DRAFT a week later, with its schedule
    successor = PrepaidBillingRun.objects.get(previous=run)
    assert successor.status == "DRAFT"
    assert successor.as_of == today + timedelta(days=7)
    assert successor.recurring_interval_days == 7
    schedule = Schedule.objects.get(func="wallets.tasks.prepaid_run_start", args=str(successor.pk))
    assert schedule.next_run.date() == successor.as_of


def test_loading_the_wallets_demo_again_changes_nothing(demo):
    tenant, _ = demo
    before = (
        WalletTransaction.objects.count(),
        PrepaidBillingRun.objects.count(),
        Schedule.objects.count(),
        UsageRecord.objects.count(),
        RatedItem.objects.count(),
    )
    assert load_wallets_demo(tenant) == "already loaded"
    after = (
        WalletTransaction.objects.count(),
        PrepaidBillingRun.objects.count(),
        Schedule.objects.count(),
        UsageRecord.objects.count(),
        RatedItem.objects.count(),
    )
    assert after == before
    assert verify_chain(tenant).ok


def test_demo_low_wallet_topped_up_gets_its_invalid_service_rated_next_run(demo):
    # the README's walk-through with the four commands, on the demo's low wallet
    tenant, _ = demo
    week = (date.today() + timedelta(days=7)).isoformat()
    shown = _command("wallet_show", "--tenant", "demo", "--account", "DEMO-2002")
    assert shown["balance"] == "34.00"
    assert {
        "external_id": "DEMO-2002-MOBILE",
        "prepayment_state": "INVALID",
        "rated_up_to": None,
    } in (shown["services"])
    topped = _command(
        "topup_wallet",
        *("--tenant", "demo", "--account", "DEMO-2002", "--amount", "70.00"),
        *("--reference", "RCPT-9", "--user", "demo-manager"),
    )
    assert topped["balance"] == "104.00"
    run = _command(
        "trigger_prepaid_run",
        *("--tenant", "demo", "--as-of", week, "--account", "DEMO-2002"),
        *("--estimation", "all", "--sync"),
    )
    # 104.00 - 45.00 = 59.00 stays above the minimum 50.00: MOBILE is rated a period ahead;
    # SMS is rated for the week since (0.70)
    assert run["status"] == "COMPLETED"
    assert (run["rated"], run["debited"], run["invalid"]) == (2, "45.70", 0)
    mobile = _service(tenant, "DEMO-2002-MOBILE")
    assert mobile.prepayment_state == "VALID"
    assert mobile.rated_up_to == date.today() + timedelta(days=37)
    assert _wallet(tenant, "DEMO-2002").balance == Decimal("58.30")


# --- issue 18: pricing -------------------------------------------------------------------------


def test_demo_pricing_rows_are_written_through_the_audited_services(demo):
    tenant, said = demo
    today = date.today()

    def ago(n: int) -> date:
        return today - timedelta(days=n)

    assert "pricing:" in said
    vat = TaxClass.objects.get(tenant=tenant, code="VAT-STD")
    assert list(vat.rates.values_list("effective_from", "rate")) == [
        (ago(365), Decimal("20.0000")),
        (ago(15), Decimal("21.0000")),
    ]
    care = PricePlan.objects.get(tenant=tenant, code="PLAN-CARE")
    assert list(care.rates.values_list("effective_from", "price_per_period", "period_days")) == [
        (ago(365), Decimal("30.00"), 30),
        (ago(10), Decimal("36.00"), 30),
    ]
    pack = Product.objects.get(tenant=tenant, code="CARE-PACK")
    assert pack.bundle_pricing == "BOTH"
    assert sorted(pack.components.values_list("component__code", flat=True)) == [
        "CARE-LAB",
        "CARE-TELE",
    ]
    # CARE-LAB has a plan inside the pack; CARE-TELE only its standalone plan
    in_pack = PricePlan.objects.get(tenant=tenant, product__code="CARE-LAB")
    assert in_pack.bundle == pack
    assert PricePlan.objects.get(tenant=tenant, product__code="CARE-TELE").bundle is None
    welcome = Discount.objects.get(tenant=tenant, code="WELCOME")
    assert (welcome.product.code, welcome.kind, welcome.value, welcome.effective_to) == (
        "CARE",
        "PERCENT",
        Decimal("10.0000"),
        ago(20),
    )
    goodwill = Discount.objects.get(tenant=tenant, code="GOODWILL-2005")
    assert (goodwill.service.external_id, goodwill.kind, goodwill.product) == (
        "DEMO-2005-CARE",
        "FIXED",
        None,
    )
    rehab = _service(tenant, "DEMO-2006-REHAB")
    assert rehab.binding_end == today + timedelta(days=60)
    assert rehab.product.penalty_kind == "REMAINING_FEES"
    definition = WalletDefinition.objects.get(tenant=tenant, active=True)
    assert definition.code == "WD-DEMO"
    assert sorted(definition.debit_causes) == ["MANUAL", "PREPAID_BILLING", "USAGE"]
    assert verify_chain(tenant).ok
    run = PrepaidBillingRun.objects.get(tenant=tenant, previous__isnull=True)
    assert run.debits_prepaid_billing
    assert run.status == "COMPLETED" and run.errors_count == 0


def test_demo_priced_accounts_are_rated_with_their_pricing(demo):
    """Worked by hand from the seed's rules."""
    tenant, _ = demo
    today = date.today()

    def ago(n: int) -> date:
        return today - timedelta(days=n)

    care = [
        (i.start, i.end, i.net, i.discount, i.vat_rate, i.vat, i.amount, i.state)
        for i in RatedItem.objects.filter(service=_service(tenant, "DEMO-2005-CARE")).order_by(
            "start"
        )
    ]
    D = Decimal
    assert care == [  # split where WELCOME ends, VAT rises and the plan's rate rises
        (ago(30), ago(20), D("10.00"), D("2.00"), D("20.0000"), D("1.60"), D("9.60"), "BILLED"),
        (ago(20), ago(15), D("5.00"), D("0.50"), D("20.0000"), D("0.90"), D("5.40"), "BILLED"),
        (ago(15), ago(10), D("5.00"), D("0.50"), D("21.0000"), D("0.95"), D("5.45"), "BILLED"),
        (ago(10), today, D("12.00"), D("1.00"), D("21.0000"), D("2.31"), D("13.31"), "BILLED"),
    ]
    pack = RatedItem.objects.filter(service=_service(tenant, "DEMO-2005-PACK"))
    lines = sorted((i.component.code if i.component else "", i.start, i.amount) for i in pack)
    assert lines == [
        ("", ago(30), D("6.00")),
        ("", ago(15), D("6.05")),
        ("CARE-LAB", ago(30), D("3.60")),  # 6.00 a month inside the pack
        ("CARE-LAB", ago(15), D("3.63")),
        ("CARE-TELE", ago(30), D("5.40")),
        ("CARE-TELE", ago(15), D("5.45")),
    ]
    penalty = RatedItem.objects.get(
        service=_service(tenant, "DEMO-2006-REHAB"), kind="PENALTY_EARLY_CANCELLATION"
    )
    # 65 days left of 20.00 a month: 43.33 + 21 % VAT
    assert (penalty.start, penalty.end, penalty.net, penalty.vat, penalty.amount) == (
        ago(5),
        today + timedelta(days=60),
        D("43.33"),
        D("9.10"),
        D("52.43"),
    )
    assert _wallet(tenant, "DEMO-2005").balance == D("236.11")  # 300 - 33.76 - 30.13
    assert _wallet(tenant, "DEMO-2006").balance == D("127.50")  # 200 - 12.00 - 8.07 - 52.43
    # the run snapshots the active definition: every cause debits
    run = PrepaidBillingRun.objects.get(tenant=tenant, previous__isnull=True)
    assert run.wallet_definition.code == "WD-DEMO" and run.debits_prepaid_billing
