"""How the wallets audit actions read on screens (codes stay unchanged in the API and CSVs)."""

from __future__ import annotations

AUDIT_ACTIONS = {
    "PrepaidRun.trigger": "Prepaid run triggered",
    "PrepaidRun.start": "Prepaid run started",
    "PrepaidRun.account": "Prepaid run rated and debited an account",
    "PrepaidRun.complete": "Prepaid run completed",
    "PrepaidRun.fail": "Prepaid run failed",
    "PrepaidRun.schedule": "Next prepaid run scheduled",
    "TaxClass.create": "Tax class created",
    "TaxClass.update": "Tax class changed",
    "PricePlan.create": "Price plan created",
    "PricePlan.update": "Price plan changed",
    "Discount.create": "Discount created",
    "Discount.update": "Discount changed",
    "Discount.end": "Discount ended",
    "Product.pricing_update": "Product pricing changed",
    "WalletDefinition.create": "Wallet definition created",
    "WalletDefinition.update": "Wallet definition changed",
    "WalletDefinition.deactivate": "Wallet definition deactivated",
    "SubscriptionService.binding_update": "Service binding end changed",
    "Subscription.create": "Subscription created",
    "Subscription.update": "Subscription moved to another account",
    "SubscriptionService.create": "Service created",
    "SubscriptionService.update": "Service changed",
    "SubscriptionService.period_add": "Service state period added",
    "SubscriptionService.periods_replace": "Service state periods replaced",
    "UsageRecord.create": "Usage record created",
    "UsageRecord.update": "Usage record changed",
    "Wallet.open": "Wallet opened",
    "Wallet.opening_balance": "Wallet opening balance credited",
    "Wallet.thresholds_update": "Wallet thresholds changed",
    "Wallet.topup": "Wallet topped up",
}


def register() -> None:
    """Give core's `label` filter the wallets app's wording."""
    from core.labels import register_labels

    register_labels(AUDIT_ACTIONS)
