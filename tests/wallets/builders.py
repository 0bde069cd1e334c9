"""Plain builders for wallet tests: rows written straight to the database (no services).

Use them to set up a scene; exercise the behaviour under test through the services.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from core.models import Tenant
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

_seq = itertools.count(1)


def account(tenant: Tenant, number: str | None = None, classification: str = "") -> Account:
    number = number or f"PP-{next(_seq):05d}"
    acc, _ = Account.objects.get_or_create(
        tenant=tenant,
        number=number,
        defaults={
            "name": f"Prepaid {number}",
            "bill_cycle_day": 1,
            "classification": classification,
        },
    )
    return acc


def wallet(
    tenant: Tenant,
    acc: Account | None = None,
    *,
    balance: str | Decimal = "0.00",
    min_balance: str | Decimal = "0.00",
    stop_service: str | Decimal = "0.00",
    restrict_below_stop: bool = False,
    currency: str = "USD",
) -> Wallet:
    """A wallet whose balance is one OPENING_BALANCE credit (so ledger == balance)."""
    acc = acc or account(tenant)
    balance = Decimal(str(balance))
    w = Wallet.objects.create(
        tenant=tenant,
        account=acc,
        currency=currency,
        balance=balance,
        min_balance_threshold=Decimal(str(min_balance)),
        stop_service_threshold=Decimal(str(stop_service)),
        restrict_below_stop=restrict_below_stop,
    )
    if balance > 0:
        WalletTransaction.objects.create(
            tenant=tenant,
            wallet=w,
            kind=WalletTransaction.Kind.CREDIT,
            amount=balance,
            balance_after=balance,
            cause=WalletTransaction.Cause.OPENING_BALANCE,
            reference="opening",
        )
    return w


def product(tenant: Tenant, code: str = "DATA") -> Product:
    return Product.objects.get_or_create(tenant=tenant, code=code)[0]


def service(
    tenant: Tenant,
    acc: Account,
    *,
    price: str | Decimal = "30.00",
    period_days: int = 30,
    rating: str = "POST",
    rated_up_to: date | None = None,
    periods: list[tuple[str, date, date | None]] | None = None,
    product_code: str = "DATA",
    subscription: Subscription | None = None,
) -> SubscriptionService:
    """A service; `periods` are (state, start, end) with end exclusive (None: open)."""
    n = next(_seq)
    sub = subscription or Subscription.objects.create(
        tenant=tenant, account=acc, external_id=f"SUB-{n:05d}"
    )
    svc = SubscriptionService.objects.create(
        tenant=tenant,
        subscription=sub,
        external_id=f"SVC-{n:05d}",
        product=product(tenant, product_code),
        price_per_period=Decimal(str(price)),
        period_days=period_days,
        rating=rating,
        rated_up_to=rated_up_to,
    )
    for state, start, end in periods or [("ACTIVE", date(2026, 1, 1), None)]:
        ServiceStatePeriod.objects.create(
            tenant=tenant, service=svc, state=state, start=start, end=end
        )
    return svc


def usage(
    tenant: Tenant,
    svc: SubscriptionService,
    amount: str | Decimal,
    *,
    directive: str = "TO_BE_BILLED",
    on: date = date(2026, 1, 15),
) -> UsageRecord:
    return UsageRecord.objects.create(
        tenant=tenant,
        service=svc,
        amount=Decimal(str(amount)),
        directive=directive,
        billing_effective_date=on,
    )
