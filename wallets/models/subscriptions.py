"""Subscriptions, their services with state periods, and usage records (SPEC 7)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import Tenant

MONEY = {"max_digits": 14, "decimal_places": 2}


class Product(models.Model):
    """What a service sells; estimates are kept per product."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")

    class BundlePricing(models.TextChoices):
        NONE = "", "Not a bundle"
        FIXED = "FIXED", "Fixed bundle (rated as one service)"
        BUNDLE = "BUNDLE", "Flexible bundle: the bundle's rate"
        COMPONENTS = "COMPONENTS", "Flexible bundle: each component's rate"
        BOTH = "BOTH", "Flexible bundle: the bundle's and each component's rate"

    class PenaltyKind(models.TextChoices):
        NONE = "", "No early-cancellation penalty"
        REMAINING_FEES = "REMAINING_FEES", "Fees of the remaining binding days"
        FIXED = "FIXED", "Fixed amount"

    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200, blank=True)
    # issue 18: VAT, flexible bundles, early-cancellation penalty (db defaults: COPY inserts)
    tax_class = models.ForeignKey(
        "wallets.TaxClass", null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    bundle_pricing = models.CharField(
        max_length=10, choices=BundlePricing.choices, blank=True, default="", db_default=""
    )
    penalty_kind = models.CharField(
        max_length=14, choices=PenaltyKind.choices, blank=True, default="", db_default=""
    )
    penalty_amount = models.DecimalField(null=True, blank=True, **MONEY)  # FIXED penalties

    class Meta:
        ordering = ["tenant", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_product_tenant_code"),
            models.CheckConstraint(
                condition=~Q(penalty_kind="FIXED") | Q(penalty_amount__gte=0),
                name="product_fixed_penalty_amount",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Subscription(models.Model):
    """A prepaid subscription of an account, known to partner systems by its external id."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        "invoicing.Account", on_delete=models.PROTECT, related_name="subscriptions"
    )
    external_id = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tenant", "account", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="uniq_subscription_external_id"
            )
        ]

    def __str__(self) -> str:
        return self.external_id


class SubscriptionService(models.Model):
    """A rated service of a subscription: its price, rating mode and how far it is rated."""

    class Rating(models.TextChoices):
        PRE = "PRE", "Pre-rated"
        POST = "POST", "Post-rated"

    class PrepaymentState(models.TextChoices):
        VALID = "VALID", "Valid"
        INVALID = "INVALID", "Invalid (not enough funds)"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="services"
    )
    external_id = models.CharField(max_length=80)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="services")
    price_per_period = models.DecimalField(**MONEY)
    period_days = models.PositiveIntegerField()
    rating = models.CharField(max_length=4, choices=Rating.choices)
    # half-open: the first day not yet rated; null = never rated
    rated_up_to = models.DateField(null=True, blank=True)
    prepayment_state = models.CharField(
        max_length=7, choices=PrepaymentState.choices, default=PrepaymentState.VALID
    )
    prepayment_checked_at = models.DateTimeField(null=True, blank=True)
    # the binding period ends here (exclusive): a cancellation before it is penalised
    binding_end = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tenant", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="uniq_service_external_id"
            ),
            models.CheckConstraint(condition=Q(period_days__gte=1), name="service_period_days_1"),
            models.CheckConstraint(
                condition=Q(price_per_period__gte=0), name="service_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class ServiceStatePeriod(models.Model):
    """A stretch of a service's life cycle: [start, end), end null = still open."""

    class State(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        SUSPENDED = "SUSPENDED", "Suspended"
        CANCELLED = "CANCELLED", "Cancelled"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(
        SubscriptionService, on_delete=models.CASCADE, related_name="periods"
    )
    state = models.CharField(max_length=9, choices=State.choices)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["service", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gt=F("start")),
                name="state_period_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.start}..{self.end or ''}"


class UsageRecord(models.Model):
    """A usage detail record billed as it is (TO_BE_CREDITED negative), once."""

    class Directive(models.TextChoices):
        TO_BE_BILLED = "TO_BE_BILLED", "To be billed"
        TO_BE_CREDITED = "TO_BE_CREDITED", "To be credited"
        CANCELLED = "CANCELLED", "Cancelled"

    class State(models.TextChoices):
        POSTED = "POSTED", "Posted"
        RATED = "RATED", "Rated"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(SubscriptionService, on_delete=models.PROTECT, related_name="usage")
    external_id = models.CharField(max_length=80, blank=True)
    amount = models.DecimalField(**MONEY)
    directive = models.CharField(max_length=14, choices=Directive.choices)
    state = models.CharField(max_length=6, choices=State.choices, default=State.POSTED)
    billing_effective_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "billing_effective_date", "id"]
        indexes = [
            models.Index(
                fields=["service", "state", "billing_effective_date"], name="usage_due_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="usage_amount_positive"),
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_usage_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"usage {self.pk} {self.directive} {self.amount}"
