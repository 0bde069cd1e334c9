"""`manage.py bench prepaid --services N [--per-account K]`: one prepaid run end to end.

A fresh tenant gets N / K accounts, each with a wallet of 1,000.00 (its opening credit in the
ledger), one subscription and K services (two in three post-rated, one in three pre-rated, three
products, one ACTIVE period each), and one posted usage record for every tenth service; written
with COPY, not timed, no audit entries (bench data). The clock covers trigger, start, every chunk
(one transaction per account under its wallet lock: rated items, ledger rows, services, usage,
counters and one audit entry) and finalisation. With `--pricing` (issue 18) every product has a
tax class whose VAT rate changes on 2026-02-01, DATA has a price plan whose rate changes on
2026-02-15 and VOICE a 10 % automatic discount ending 2026-03-01, so post-rated periods are split
three ways and every item carries a discount/VAT breakdown. The floor is one set-based read of
the facts a run must read (services with their periods and the wallets), measured in the same
process.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction

from core.bench import Bench, Timer, peak_rss_mb, register_bench
from core.bulk import insert_rows
from core.services import tenant_create

AS_OF = date(2026, 3, 16)
START = date(2026, 1, 1)
OPENING = Decimal("1000.00")


def _pricing(tenant, products: list[int]) -> None:
    """VAT for every product (20 %, then 21 % from 2026-02-01), a DATA price plan (9.99 a
    30-day period, then 12.99 from 2026-02-15), a 10 % VOICE discount until 2026-03-01."""
    from wallets.models import Discount, PricePlan, PricePlanRate, Product, TaxClass, TaxRate

    tax = TaxClass.objects.create(tenant=tenant, code="VAT")
    for day, rate in ((date(2020, 1, 1), "20"), (date(2026, 2, 1), "21")):
        TaxRate.objects.create(tenant=tenant, tax_class=tax, effective_from=day, rate=Decimal(rate))
    Product.objects.filter(pk__in=products).update(tax_class=tax)
    plan = PricePlan.objects.create(tenant=tenant, code="DATA-PLAN", product_id=products[0])
    for day, price in ((date(2020, 1, 1), "9.99"), (date(2026, 2, 15), "12.99")):
        PricePlanRate.objects.create(
            tenant=tenant,
            plan=plan,
            effective_from=day,
            price_per_period=Decimal(price),
            period_days=30,
        )
    Discount.objects.create(
        tenant=tenant,
        code="VOICE-10",
        name="Voice 10 %",
        product_id=products[1],
        kind="PERCENT",
        value=Decimal("10"),
        effective_from=date(2020, 1, 1),
        effective_to=date(2026, 3, 1),
    )


def _setup(tenant, services: int, per_account: int, pricing: bool = False) -> None:
    from invoicing.models import Account
    from wallets.models import (
        Product,
        ServiceStatePeriod,
        Subscription,
        SubscriptionService,
        UsageRecord,
        Wallet,
        WalletTransaction,
    )

    now = datetime.now(UTC)
    accounts = max(1, services // per_account)
    products = [
        Product.objects.create(tenant=tenant, code=code).pk for code in ("DATA", "VOICE", "SMS")
    ]
    with transaction.atomic():
        insert_rows(
            Account,
            ("tenant", "number", "name", "bill_cycle_day", "classification"),
            ((tenant.pk, f"P{n:08d}", "", 1, "RETAIL") for n in range(accounts)),
        )
    ids = list(Account.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True))
    with transaction.atomic():
        insert_rows(
            Wallet,
            (
                "tenant",
                "account",
                "currency",
                "balance",
                "min_balance_threshold",
                "stop_service_threshold",
                "restrict_below_stop",
                "changed_at",
                "created_at",
            ),
            ((tenant.pk, a, "USD", OPENING, Decimal("50.00"), 0, False, now, now) for a in ids),
        )
        wallet_ids = Wallet.objects.filter(tenant=tenant).values_list("id", flat=True)
        insert_rows(
            WalletTransaction,
            (
                "tenant",
                "wallet",
                "kind",
                "amount",
                "balance_after",
                "cause",
                "reference",
                "created_at",
            ),
            (
                (tenant.pk, w, "CREDIT", OPENING, OPENING, "OPENING_BALANCE", "bench", now)
                for w in wallet_ids
            ),
        )
        insert_rows(
            Subscription,
            ("tenant", "account", "external_id", "created_at"),
            ((tenant.pk, a, f"S{a}", now) for a in ids),
        )
        subs = list(
            Subscription.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True)
        )
        insert_rows(
            SubscriptionService,
            (
                "tenant",
                "subscription",
                "external_id",
                "product",
                "price_per_period",
                "period_days",
                "rating",
                "prepayment_state",
                "updated_at",
            ),
            (
                (
                    tenant.pk,
                    subs[n // per_account],
                    f"V{n:09d}",
                    products[n % 3],
                    Decimal(3 + n % 27) + Decimal("0.99"),
                    30,
                    "PRE" if n % 3 == 2 else "POST",
                    "VALID",
                    now,
                )
                for n in range(accounts * per_account)
            ),
        )
        svc_ids = list(
            SubscriptionService.objects.filter(tenant=tenant)
            .order_by("id")
            .values_list("id", flat=True)
        )
        insert_rows(
            ServiceStatePeriod,
            ("tenant", "service", "state", "start", "end"),
            ((tenant.pk, s, "ACTIVE", START, None) for s in svc_ids),
        )
        insert_rows(
            UsageRecord,
            (
                "tenant",
                "service",
                "external_id",
                "amount",
                "directive",
                "state",
                "billing_effective_date",
                "created_at",
            ),
            (
                (tenant.pk, s, f"U{s}", Decimal("1.25"), "TO_BE_BILLED", "POSTED", AS_OF, now)
                for s in svc_ids[::10]
            ),
        )
    if pricing:
        _pricing(tenant, products)
    if connection.vendor == "postgresql":  # as autovacuum would, before anyone reads it
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _floor(tenant) -> float:
    """Seconds of one set-based read of the services, their periods and the wallets."""
    from wallets.models import ServiceStatePeriod, SubscriptionService, Wallet

    with Timer() as clock:
        rows = list(
            SubscriptionService.objects.filter(tenant=tenant).values_list(
                "id",
                "subscription__account_id",
                "product_id",
                "price_per_period",
                "period_days",
                "rating",
                "rated_up_to",
            )
        )
        periods = list(
            ServiceStatePeriod.objects.filter(tenant=tenant).values_list(
                "service_id", "state", "start", "end"
            )
        )
        wallets = list(Wallet.objects.filter(tenant=tenant).values_list("id", "balance"))
    del rows, periods, wallets
    return clock.seconds


def _args(parser) -> None:
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--per-account", type=int, default=10)
    parser.add_argument(
        "--accounts-per-transaction",
        type=int,
        default=None,
        help="PREPAID_ACCOUNTS_PER_TRANSACTION for this run (default: the setting, 1)",
    )
    parser.add_argument(
        "--pricing",
        action="store_true",
        help="price plans with a rate change, a discount and VAT changes (issue 18)",
    )


def _run(
    *, services: int, per_account: int, accounts_per_transaction=None, pricing=False, **_
) -> dict:
    from django.conf import settings
    from django.db.models import Sum
    from django.test.utils import override_settings

    from core.actors import Actor
    from wallets.models import RatedItem, Wallet, WalletTransaction
    from wallets.services.runs import prepaid_run_execute, prepaid_run_trigger

    tenant = tenant_create(slug=f"bench-prepaid-{int(time.time())}", name="bench")
    with Timer() as setup:
        _setup(tenant, services, per_account, pricing)
    floor = _floor(tenant)
    per_tx = accounts_per_transaction or getattr(settings, "PREPAID_ACCOUNTS_PER_TRANSACTION", 1)
    with override_settings(PREPAID_ACCOUNTS_PER_TRANSACTION=per_tx), Timer() as clock:
        run = prepaid_run_trigger(actor=Actor.system_for(tenant), as_of=AS_OF, enqueue=False)
        run = prepaid_run_execute(run_id=run.pk)
    balance = Wallet.objects.filter(tenant=tenant).aggregate(s=Sum("balance"))["s"]
    ledger = WalletTransaction.objects.filter(tenant=tenant).aggregate(s=Sum("amount"))["s"]
    return {
        "bench": "prepaid",
        "database": connection.vendor,
        "services": services,
        "pricing": bool(pricing),
        "accounts": run.accounts_total,
        "accounts_per_transaction": per_tx,
        "setup_seconds": setup.seconds,
        "floor_seconds": floor,
        "run_seconds": clock.seconds,
        "floor_ratio": round(clock.seconds / floor, 1) if floor else None,
        "status": run.status,
        "rated_items": RatedItem.objects.filter(run=run).count(),
        "debited": f"{run.debited_total:.2f}",
        "invalid": run.invalid_count,
        "errors": run.errors_count,
        # quantized: SQLite sums decimals as floats
        "balance_equals_ledger": Decimal(balance).quantize(Decimal("0.01"))
        == Decimal(ledger).quantize(Decimal("0.01")),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tenant": tenant.slug,
    }


def register() -> None:
    """Offer the prepaid-run benchmark."""
    register_bench(
        Bench(
            "prepaid",
            "one prepaid run end to end over N services (K per account)",
            _args,
            _run,
        )
    )
