"""Wallets and their immutable ledger; per-product consumption estimates; tenant settings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models import Tenant

MONEY = {"max_digits": 14, "decimal_places": 2}


class PrepaidSettings(models.Model):
    """A tenant's prepaid billing run definition (seed 004: the maximum estimation period)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="prepaid_settings")
    max_estimation_days = models.PositiveIntegerField(default=365)

    class Meta:
        ordering = ["tenant"]
        verbose_name_plural = "prepaid settings"

    def __str__(self) -> str:
        return f"prepaid settings of {self.tenant}"


class Wallet(models.Model):
    """The prepaid money of one account in one currency; changed only with a ledger row."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="wallets")
    account = models.ForeignKey(
        "invoicing.Account", on_delete=models.PROTECT, related_name="wallets"
    )
    currency = models.CharField(max_length=3, default="USD")
    balance = models.DecimalField(default=0, **MONEY)
    min_balance_threshold = models.DecimalField(default=0, **MONEY)
    stop_service_threshold = models.DecimalField(default=0, **MONEY)
    restrict_below_stop = models.BooleanField(default=False)
    # estimates (SPEC 7, Estimation); null when there is no burn
    daily_burn = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=4)
    estimated_consumption_days = models.PositiveIntegerField(null=True, blank=True)
    estimated_consumption_date = models.DateField(null=True, blank=True)
    estimated_as_of = models.DateField(null=True, blank=True)
    estimated_at = models.DateTimeField(null=True, blank=True)
    # last ledger row or service change: CHANGED estimation re-estimates when this is newer
    changed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tenant", "account", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "currency"], name="uniq_wallet_account_currency"
            ),
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(min_balance_threshold__gte=0) & Q(stop_service_threshold__gte=0),
                name="wallet_thresholds_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"wallet {self.pk} ({self.currency})"

    @property
    def needs_estimate(self) -> bool:
        """A ledger row or a service change since the last estimate (CHANGED mode)."""
        return self.estimated_at is None or self.changed_at > self.estimated_at


class WalletTransaction(models.Model):
    """One immutable ledger row: CREDIT positive, DEBIT negative; the balance is their sum."""

    class Kind(models.TextChoices):
        CREDIT = "CREDIT", "Credit"
        DEBIT = "DEBIT", "Debit"

    class Cause(models.TextChoices):
        OPENING_BALANCE = "OPENING_BALANCE", "Opening balance"
        TOP_UP = "TOP_UP", "Top-up"
        PREPAID_BILLING = "PREPAID_BILLING", "Prepaid billing"
        USAGE = "USAGE", "Usage"
        MANUAL = "MANUAL", "Manual"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)  # signed: CREDIT > 0, DEBIT < 0
    balance_after = models.DecimalField(**MONEY)
    cause = models.CharField(max_length=20, choices=Cause.choices)
    reference = models.CharField(max_length=120, blank=True)
    run = models.ForeignKey(
        "wallets.PrepaidBillingRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transactions",
    )
    service = models.ForeignKey(
        "wallets.SubscriptionService",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transactions",
    )
    item = models.OneToOneField(
        "wallets.RatedItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transaction",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["wallet", "id"]
        indexes = [models.Index(fields=["wallet", "-id"], name="wallet_tx_recent_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="CREDIT", amount__gt=0) | Q(kind="DEBIT", amount__lt=0)),
                name="wallet_tx_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="wallet_tx_balance_after_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on wallet {self.wallet_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Wallet transactions are immutable: add a new row instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Wallet transactions are immutable and cannot be deleted.")


class WalletProductConsumption(models.Model):
    """The estimate for one product of a wallet: its share of the balance and how long it lasts."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="consumptions")
    product = models.ForeignKey("wallets.Product", on_delete=models.PROTECT, related_name="+")
    daily_burn = models.DecimalField(max_digits=20, decimal_places=4)
    available_amount = models.DecimalField(**MONEY)
    estimated_consumption_days = models.PositiveIntegerField(null=True, blank=True)
    estimated_consumption_date = models.DateField(null=True, blank=True)
    estimated_as_of = models.DateField()

    class Meta:
        ordering = ["wallet", "product"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "product"], name="uniq_wallet_product")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} on wallet {self.wallet_id}"


class WalletWatch(models.Model):
    """A staff user who wants to hear when this wallet's balance falls below its minimum."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="watches")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet_watches"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["wallet", "user"]
        constraints = [models.UniqueConstraint(fields=["wallet", "user"], name="uniq_wallet_watch")]

    def __str__(self) -> str:
        return f"{self.user_id} watches wallet {self.wallet_id}"
