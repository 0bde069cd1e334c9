"""Estimates over 100,000 services on PostgreSQL (bench: never in the default suite).

Run: DATABASE_URL=postgres://... .venv/bin/pytest tests/wallets/test_estimates_bench.py -m bench -s
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest

from core.bench import peak_rss_mb
from invoicing.models import Account
from wallets.models import (
    Product,
    ServiceStatePeriod,
    Subscription,
    SubscriptionService,
    Wallet,
    WalletProductConsumption,
)
from wallets.services.estimates import wallets_estimate

pytestmark = [pytest.mark.bench, pytest.mark.postgres]

WALLETS = 33_334  # three services each: 100,002 services
AS_OF = date(2026, 3, 1)


def build(tenant) -> None:
    t = tenant
    Account.objects.bulk_create(
        (
            Account(tenant=t, number=f"PB{i:06d}", name="Bench", bill_cycle_day=1)
            for i in range(WALLETS)
        ),
        batch_size=5000,
    )
    accounts = list(
        Account.objects.filter(tenant=t, number__startswith="PB").values_list("id", flat=True)
    )
    Wallet.objects.bulk_create(
        (Wallet(tenant=t, account_id=a, balance=Decimal(f"{a % 500}.00")) for a in accounts),
        batch_size=5000,
    )
    products = [Product.objects.create(tenant=t, code=c) for c in ("DATA", "VOICE", "SMS")]
    Subscription.objects.bulk_create(
        (Subscription(tenant=t, account_id=a, external_id=f"PBS{a}") for a in accounts),
        batch_size=5000,
    )
    subs = list(Subscription.objects.filter(tenant=t).values_list("id", flat=True))
    SubscriptionService.objects.bulk_create(
        (
            SubscriptionService(
                tenant=t,
                subscription_id=s,
                external_id=f"PBV{s}-{k}",
                product=products[k],
                price_per_period=Decimal("30.00") + k,
                period_days=30 - k,
                rating="POST",
            )
            for s in subs
            for k in range(3)
        ),
        batch_size=5000,
    )
    services = list(SubscriptionService.objects.filter(tenant=t).values_list("id", flat=True))
    ServiceStatePeriod.objects.bulk_create(
        (
            ServiceStatePeriod(tenant=t, service_id=s, state="ACTIVE", start=date(2026, 1, 1))
            for s in services
        ),
        batch_size=5000,
    )


@pytest.mark.django_db
def test_estimates_over_100k_services(world):
    build(world.tenant)
    started = time.monotonic()
    first = wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    first_s = time.monotonic() - started
    started = time.monotonic()
    wallets_estimate(tenant_id=world.tenant.id, as_of=AS_OF, mode="ALL")
    again_s = time.monotonic() - started
    print(
        f"estimates: {first} wallets, first {first_s:.1f} s, again {again_s:.1f} s, "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )
    assert first == WALLETS
    assert WalletProductConsumption.objects.filter(tenant=world.tenant).count() == 3 * WALLETS
    assert first_s <= 15 and again_s <= 15
