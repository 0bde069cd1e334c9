"""Consumption estimates: the pure rule (worked examples) and `wallets_estimate` in each mode."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.wallets import builders as b
from wallets.models import (
    PrepaidSettings,
    ServiceStatePeriod,
    SubscriptionService,
    Wallet,
    WalletProductConsumption,
    WalletTransaction,
)
from wallets.rating import BurnFacts, estimate
from wallets.services.estimates import wallets_estimate

D = Decimal
AS_OF = date(2026, 3, 1)


def burn(product: str, price: str, period_days: int, *, valid=True, active=True) -> BurnFacts:
    return BurnFacts(product, D(price), period_days, valid, active)


# --- the rule ------------------------------------------------------------------------------------


def test_estimate_days_and_date_from_daily_burn():
    # burn: DATA 30.00/30 = 1.00 + VOICE 10.00/7 = 1.428571.. = 2.428571.. a day
    # days = floor(100.00 / 2.428571..) = floor(41.18) = 41 -> Mar 1 + 41 = Apr 11
    est = estimate(
        balance=D("100.00"),
        services=[burn("DATA", "30.00", 30), burn("VOICE", "10.00", 7)],
        as_of=AS_OF,
    )
    assert est.daily_burn == D("2.4286")
    assert est.days == 41
    assert est.date == date(2026, 4, 11)


def test_estimate_per_product_shares():
    # DATA share = 100.00 x 1.00 / 2.428571 = 41.1765 -> 41.18, days floor(41.18 / 1.00) = 41
    # VOICE share = 100.00 x 1.428571 / 2.428571 = 58.8235 -> 58.82, floor(58.82 / 1.428571) = 41
    est = estimate(
        balance=D("100.00"),
        services=[burn("VOICE", "10.00", 7), burn("DATA", "30.00", 30)],
        as_of=AS_OF,
    )
    got = [(p.product, p.daily_burn, p.available_amount, p.days, p.date) for p in est.products]
    assert got == [
        ("DATA", D("1.0000"), D("41.18"), 41, date(2026, 4, 11)),
        ("VOICE", D("1.4286"), D("58.82"), 41, date(2026, 4, 11)),
    ]


def test_estimate_uses_the_exact_burn_not_the_rounded_one():
    # 2.00 / 3 days = 0.6666..; 2.00 lasts exactly 3 days (a burn rounded to 0.6667 gives 2)
    est = estimate(balance=D("2.00"), services=[burn("DATA", "2.00", 3)], as_of=AS_OF)
    assert est.daily_burn == D("0.6667")
    assert est.days == 3


def test_estimate_is_capped_at_max_days():
    # 1000.00 at 1.00 a day = 1000 days -> 365 by default, 30 when the tenant says so
    services = [burn("DATA", "30.00", 30)]
    assert estimate(balance=D("1000.00"), services=services, as_of=AS_OF).days == 365
    capped = estimate(balance=D("1000.00"), services=services, as_of=AS_OF, max_days=30)
    assert capped.days == 30 and capped.date == AS_OF + timedelta(days=30)
    assert capped.products[0].days == 30


def test_estimate_zero_burn_has_no_days_and_no_date():
    for services in ([], [burn("DATA", "0.00", 30)]):
        est = estimate(balance=D("50.00"), services=services, as_of=AS_OF)
        assert (est.days, est.date, est.products) == (None, None, ())
        assert est.daily_burn == D("0.0000")


def test_estimate_excludes_invalid_and_suspended_services():
    # only DATA burns: 10.00 at 1.00 a day = 10 days
    est = estimate(
        balance=D("10.00"),
        services=[
            burn("DATA", "30.00", 30),
            burn("VOICE", "150.00", 30, valid=False),
            burn("SMS", "150.00", 30, active=False),
        ],
        as_of=AS_OF,
    )
    assert est.days == 10 and est.daily_burn == D("1.0000")
    assert [p.product for p in est.products] == ["DATA"]


def test_estimate_empty_wallet_runs_out_today():
    est = estimate(balance=D("0.00"), services=[burn("DATA", "30.00", 30)], as_of=AS_OF)
    assert (est.days, est.date) == (0, AS_OF)


# --- wallets_estimate ----------------------------------------------------------------------------


def scene(tenant, balance: str, *products: tuple[str, str]):
    """A wallet with one ACTIVE VALID service per (product, price per 30 days)."""
    acc = b.account(tenant)
    w = b.wallet(tenant, acc, balance=balance)
    for code, price in products:
        b.service(tenant, acc, price=price, period_days=30, product_code=code)
    return w


def ledger_credit(w: Wallet, amount: str) -> None:
    """A ledger row as the ledger service writes it: balance moved, wallet marked changed."""
    w.refresh_from_db()
    new = w.balance + D(amount)
    WalletTransaction.objects.create(
        tenant=w.tenant,
        wallet=w,
        kind="CREDIT",
        amount=D(amount),
        balance_after=new,
        cause="TOP_UP",
        reference="test",
    )
    Wallet.objects.filter(pk=w.pk).update(balance=new, changed_at=timezone.now())


def consumptions(w: Wallet) -> list[tuple]:
    return list(
        WalletProductConsumption.objects.filter(wallet=w)
        .order_by("product__code")
        .values_list(
            "product__code",
            "daily_burn",
            "available_amount",
            "estimated_consumption_days",
            "estimated_consumption_date",
            "estimated_as_of",
        )
    )


@pytest.mark.django_db
def test_skip_writes_nothing(world):
    w = scene(world.tenant, "60.00", ("DATA", "30.00"))
    assert wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="SKIP") == 0
    w.refresh_from_db()
    assert (w.estimated_at, w.estimated_consumption_days, w.daily_burn) == (None, None, None)
    assert consumptions(w) == []


@pytest.mark.django_db
def test_all_estimates_every_wallet_of_the_tenant(world):
    # wallet 1: 60.00 at DATA 1.00 + VOICE 2.00 a day = 3.00 -> 20 days, Mar 21
    #   DATA share 60 x 1/3 = 20.00 (20 days), VOICE 60 x 2/3 = 40.00 (20 days)
    # wallet 2: 10.00, no service -> no burn, no days
    w1 = scene(world.tenant, "60.00", ("DATA", "30.00"), ("VOICE", "60.00"))
    w2 = scene(world.tenant, "10.00")
    other = scene(world.other_tenant, "10.00", ("DATA", "30.00"))
    done = wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    assert done == 2
    w1.refresh_from_db()
    assert (w1.daily_burn, w1.estimated_consumption_days, w1.estimated_consumption_date) == (
        D("3.0000"),
        20,
        date(2026, 3, 21),
    )
    assert w1.estimated_as_of == AS_OF and not w1.needs_estimate
    assert consumptions(w1) == [
        ("DATA", D("1.0000"), D("20.00"), 20, date(2026, 3, 21), AS_OF),
        ("VOICE", D("2.0000"), D("40.00"), 20, date(2026, 3, 21), AS_OF),
    ]
    w2.refresh_from_db()
    assert (w2.daily_burn, w2.estimated_consumption_days, w2.estimated_consumption_date) == (
        None,
        None,
        None,
    )
    assert w2.estimated_at is not None and consumptions(w2) == []
    other.refresh_from_db()
    assert other.estimated_at is None  # another tenant's wallet is untouched


@pytest.mark.django_db
def test_all_limited_to_accounts(world):
    w1 = scene(world.tenant, "60.00", ("DATA", "30.00"))
    w2 = scene(world.tenant, "60.00", ("DATA", "30.00"))
    done = wallets_estimate(
        tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL", account_ids=[w2.account_id]
    )
    assert done == 1
    w1.refresh_from_db()
    w2.refresh_from_db()
    assert w1.estimated_at is None and w2.estimated_consumption_days == 60


@pytest.mark.django_db
def test_changed_only_changed_wallets_and_a_ledger_row_makes_it_changed(world):
    w1 = scene(world.tenant, "30.00", ("DATA", "30.00"))  # 30 days
    w2 = scene(world.tenant, "15.00", ("DATA", "30.00"))  # 15 days
    assert wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="CHANGED") == 2
    w1.refresh_from_db()
    first_at = w1.estimated_at
    # nothing changed since: nothing re-estimated
    assert wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="CHANGED") == 0
    # a top-up on wallet 1 (30.00 + 15.00 = 45.00 -> 45 days); wallet 2 untouched
    ledger_credit(w1, "15.00")
    later = AS_OF + timedelta(days=1)
    assert wallets_estimate(tenant_id=world.tenant.id, as_of=later, mode="CHANGED") == 1
    w1.refresh_from_db()
    w2.refresh_from_db()
    assert w1.estimated_consumption_days == 45 and w1.estimated_as_of == later
    assert w1.estimated_at > first_at
    assert w2.estimated_consumption_days == 15 and w2.estimated_as_of == AS_OF


@pytest.mark.django_db
def test_changed_estimates_a_wallet_never_estimated(world):
    w1 = scene(world.tenant, "30.00", ("DATA", "30.00"))
    wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    w2 = scene(world.tenant, "3.00", ("DATA", "30.00"))
    assert wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="CHANGED") == 1
    w2.refresh_from_db()
    assert w2.estimated_consumption_days == 3
    w1.refresh_from_db()
    assert w1.estimated_consumption_days == 30


@pytest.mark.django_db
def test_invalid_and_suspended_services_do_not_burn_and_their_product_goes(world):
    # DATA 1.00 + VOICE 2.00 a day on 60.00: 20 days; VOICE goes INVALID, SMS is suspended
    # -> DATA alone: 60 days; the VOICE consumption row is deleted
    w = scene(world.tenant, "60.00", ("DATA", "30.00"), ("VOICE", "60.00"))
    wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    assert [c[0] for c in consumptions(w)] == ["DATA", "VOICE"]
    SubscriptionService.objects.filter(product__code="VOICE").update(prepayment_state="INVALID")
    b.service(
        world.tenant,
        w.account,
        price="90.00",
        product_code="SMS",
        periods=[
            ("ACTIVE", date(2026, 1, 1), date(2026, 2, 1)),
            ("SUSPENDED", date(2026, 2, 1), None),
        ],
    )
    wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    w.refresh_from_db()
    assert w.estimated_consumption_days == 60
    assert consumptions(w) == [("DATA", D("1.0000"), D("60.00"), 60, date(2026, 4, 30), AS_OF)]


@pytest.mark.django_db
def test_service_active_on_as_of_only(world):
    # ACTIVE from Mar 2 (after as_of): no burn on Mar 1; burns on Mar 2
    acc = b.account(world.tenant)
    w = b.wallet(world.tenant, acc, balance="30.00")
    b.service(world.tenant, acc, periods=[("ACTIVE", date(2026, 3, 2), None)])
    wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    w.refresh_from_db()
    assert w.estimated_consumption_days is None
    wallets_estimate(tenant_id=world.tenant.id, as_of=date(2026, 3, 2), mode="ALL")
    w.refresh_from_db()
    assert w.estimated_consumption_days == 30


@pytest.mark.django_db
def test_max_days_from_the_tenant_settings(world):
    w = scene(world.tenant, "1000.00", ("DATA", "30.00"))  # 1000 days
    wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    w.refresh_from_db()
    assert w.estimated_consumption_days == 365
    PrepaidSettings.objects.create(tenant=world.tenant, max_estimation_days=90)
    wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    w.refresh_from_db()
    assert w.estimated_consumption_days == 90
    assert w.estimated_consumption_date == AS_OF + timedelta(days=90)


@pytest.mark.django_db
def test_unknown_mode_is_refused(world):
    from core.exceptions import DomainError

    with pytest.raises(DomainError, match="estimation"):
        wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="SOME")


@pytest.mark.django_db
def test_estimate_is_set_based(world, django_assert_max_num_queries):
    # 40 wallets with 3 services each: the same handful of queries as one wallet
    for n in range(40):
        scene(world.tenant, f"{n + 1}.00", ("DATA", "30.00"), ("VOICE", "30.00"), ("SMS", "30.00"))
    with django_assert_max_num_queries(12):
        assert wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL") == 40
    assert WalletProductConsumption.objects.filter(tenant=world.tenant).count() == 120
    # re-estimating updates the rows in place
    with django_assert_max_num_queries(12):
        wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    assert WalletProductConsumption.objects.filter(tenant=world.tenant).count() == 120
    assert ServiceStatePeriod.objects.filter(tenant=world.tenant).count() == 120


@pytest.mark.django_db
def test_mode_is_read_case_insensitively(world):
    w = scene(world.tenant, "30.00", ("DATA", "30.00"))
    assert wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="all") == 1
    w.refresh_from_db()
    assert w.estimated_consumption_days == 30
