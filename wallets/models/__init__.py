"""Wallets, subscriptions and prepaid billing runs (SPEC 7, seed 004)."""

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
)

__all__ = [
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
]
