"""Plain builders for issue 18's pricing rows (no services): tax classes, price plans, discounts,
bundles, wallet definitions. Set a scene with them; exercise behaviour through the services."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from core.models import Tenant
from tests.wallets import builders as b
from wallets.models import (
    BundleComponent,
    Discount,
    PricePlan,
    PricePlanRate,
    Product,
    SubscriptionService,
    TaxClass,
    TaxRate,
    WalletDefinition,
)

_seq = itertools.count(1)


def tax_class(tenant: Tenant, code: str = "STD", rates=((date(2020, 1, 1), "20"),)) -> TaxClass:
    """A tax class with (effective_from, percent) rates."""
    tc = TaxClass.objects.get_or_create(tenant=tenant, code=code)[0]
    for day, rate in rates:
        TaxRate.objects.create(tenant=tenant, tax_class=tc, effective_from=day, rate=Decimal(rate))
    return tc


def price_plan(
    tenant: Tenant,
    product: Product | str,
    rates=((date(2020, 1, 1), "30.00", 30),),
    *,
    bundle: Product | None = None,
    code: str | None = None,
) -> PricePlan:
    """A plan with (effective_from, price_per_period, period_days) rates; `bundle` = the
    product's rates inside that bundle."""
    if isinstance(product, str):
        product = b.product(tenant, product)
    plan = PricePlan.objects.create(
        tenant=tenant, code=code or f"PLAN-{next(_seq):04d}", product=product, bundle=bundle
    )
    for day, price, days in rates:
        PricePlanRate.objects.create(
            tenant=tenant,
            plan=plan,
            effective_from=day,
            price_per_period=Decimal(price),
            period_days=days,
        )
    return plan


def discount(
    tenant: Tenant,
    *,
    kind: str = "PERCENT",
    value: str = "10",
    effective_from: date = date(2020, 1, 1),
    effective_to: date | None = None,
    product: Product | None = None,
    service: SubscriptionService | None = None,
    period_days: int | None = None,
    code: str | None = None,
    name: str = "",
) -> Discount:
    """An automatic (product=...) or ad hoc (service=...) discount."""
    code = code or f"DISC-{next(_seq):04d}"
    return Discount.objects.create(
        tenant=tenant,
        code=code,
        name=name or code.title(),
        kind=kind,
        value=Decimal(value),
        effective_from=effective_from,
        effective_to=effective_to,
        product=product,
        service=service,
        period_days=period_days,
    )


def bundle(tenant: Tenant, code: str, pricing: str, components: list[str]) -> Product:
    """A bundle product (pricing FIXED/BUNDLE/COMPONENTS/BOTH) of component product codes."""
    prod = b.product(tenant, code)
    prod.bundle_pricing = pricing
    prod.save(update_fields=["bundle_pricing"])
    for comp in components:
        BundleComponent.objects.create(
            tenant=tenant, bundle=prod, component=b.product(tenant, comp)
        )
    return prod


def wallet_definition(
    tenant: Tenant,
    causes=("PREPAID_BILLING", "USAGE", "MANUAL"),
    *,
    active: bool = True,
    code: str | None = None,
) -> WalletDefinition:
    return WalletDefinition.objects.create(
        tenant=tenant,
        code=code or f"WD-{next(_seq):04d}",
        name="Wallet definition",
        debit_causes=list(causes),
        active=active,
    )
