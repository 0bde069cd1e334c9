"""Wallets, subscriptions and prepaid billing runs (SPEC 7, seed 004)."""

from wallets.models.pricing import (
    BundleComponent,
    Discount,
    PricePlan,
    PricePlanRate,
    TaxClass,
    TaxRate,
    WalletDefinition,
)
from wallets.models.runs import PrepaidBillingRun, PrepaidRunChunk, PrepaidRunError, RatedItem
from wallets.models.subscriptions import (
    Product,
    ServiceStatePeriod,
    Subscription,
    SubscriptionService,
    UsageRecord,
)
from wallets.models.wallets import (
    PrepaidSettings,
    Wallet,
    WalletProductConsumption,
    WalletTransaction,
    WalletWatch,
)

__all__ = [
    "BundleComponent",
    "Discount",
    "PricePlan",
    "PricePlanRate",
    "TaxClass",
    "TaxRate",
    "WalletDefinition",
    "PrepaidBillingRun",
    "PrepaidRunChunk",
    "PrepaidRunError",
    "PrepaidSettings",
    "Product",
    "RatedItem",
    "ServiceStatePeriod",
    "Subscription",
    "SubscriptionService",
    "UsageRecord",
    "Wallet",
    "WalletProductConsumption",
    "WalletTransaction",
    "WalletWatch",
]
