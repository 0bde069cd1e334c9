"""Prepaid pricing (issue 18, seed 004): effective-dated price plans, automatic and ad hoc
discounts, tax classes with effective-dated VAT rates, flexible bundle components and the
tenant's wallet definition (which causes may debit a wallet).

Effective dating is half-open: a rate is in force from its `effective_from` until the next
rate's; a discount from `effective_from` until `effective_to` (exclusive, null = open).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import Tenant

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 7, "decimal_places": 4}  # 0.0000 .. 100.0000


class TaxClass(models.Model):
    """A VAT class products belong to; its rates change over time."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["tenant", "code"]
        verbose_name_plural = "tax classes"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_tax_class_code")
        ]

    def __str__(self) -> str:
        return self.code


class TaxRate(models.Model):
    """A VAT rate (percent) of a tax class, in force from `effective_from` to the next one."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    tax_class = models.ForeignKey(TaxClass, on_delete=models.CASCADE, related_name="rates")
    effective_from = models.DateField()
    rate = models.DecimalField(**PERCENT)  # percent, e.g. 20.0000

    class Meta:
        ordering = ["tax_class", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["tax_class", "effective_from"], name="uniq_tax_rate_from"
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="tax_rate_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate}% from {self.effective_from}"


class PricePlan(models.Model):
    """The rates of a product: standalone (bundle null) or as a component of one bundle."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200, blank=True)
    product = models.ForeignKey(
        "wallets.Product", on_delete=models.PROTECT, related_name="price_plans"
    )
    # set: the product's rates when sold inside this flexible bundle
    bundle = models.ForeignKey(
        "wallets.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="component_price_plans",
    )

    class Meta:
        ordering = ["tenant", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_price_plan_code"),
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(bundle__isnull=True),
                name="uniq_price_plan_standalone",
            ),
            models.UniqueConstraint(
                fields=["product", "bundle"],
                condition=Q(bundle__isnull=False),
                name="uniq_price_plan_in_bundle",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PricePlanRate(models.Model):
    """A price per period of a plan, in force from `effective_from` to the next rate."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(PricePlan, on_delete=models.CASCADE, related_name="rates")
    effective_from = models.DateField()
    price_per_period = models.DecimalField(**MONEY)
    period_days = models.PositiveIntegerField()

    class Meta:
        ordering = ["plan", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "effective_from"], name="uniq_price_plan_rate_from"
            ),
            models.CheckConstraint(
                condition=Q(price_per_period__gte=0), name="price_plan_rate_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(period_days__gte=1), name="price_plan_rate_period_days_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_per_period}/{self.period_days}d from {self.effective_from}"


class Discount(models.Model):
    """An automatic discount of a product or an ad hoc discount of one service.

    PERCENT: `value` percent of the net. FIXED: `value` per `period_days` (null = the rate's
    period), prorated by ACTIVE days like the price."""

    class Kind(models.TextChoices):
        PERCENT = "PERCENT", "Percentage"
        FIXED = "FIXED", "Fixed amount per period"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200, blank=True)
    product = models.ForeignKey(
        "wallets.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="discounts",
    )
    service = models.ForeignKey(
        "wallets.SubscriptionService",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="discounts",
    )
    kind = models.CharField(max_length=7, choices=Kind.choices)
    value = models.DecimalField(**MONEY)
    period_days = models.PositiveIntegerField(null=True, blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)  # exclusive; null = open
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tenant", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_discount_code"),
            models.CheckConstraint(
                condition=(Q(product__isnull=False) & Q(service__isnull=True))
                | (Q(product__isnull=True) & Q(service__isnull=False)),
                name="discount_product_xor_service",
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="discount_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="PERCENT") | Q(value__lte=100), name="discount_percent_le_100"
            ),
            models.CheckConstraint(
                condition=Q(period_days__isnull=True) | Q(period_days__gte=1),
                name="discount_period_days_1",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                name="discount_to_after_from",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def automatic(self) -> bool:
        """An automatic (product) discount; else ad hoc (one service)."""
        return self.product_id is not None


class BundleComponent(models.Model):
    """A product composing a flexible bundle product."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    bundle = models.ForeignKey(
        "wallets.Product", on_delete=models.CASCADE, related_name="components"
    )
    component = models.ForeignKey("wallets.Product", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["bundle", "component"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="uniq_bundle_component"),
            models.CheckConstraint(
                condition=~Q(bundle=F("component")), name="bundle_component_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component_id} in {self.bundle_id}"


class WalletDefinition(models.Model):
    """The causes that may debit a tenant's wallets; one definition is active at a time.

    With no active definition every cause may debit (the behaviour before definitions)."""

    class Cause(models.TextChoices):
        PREPAID_BILLING = "PREPAID_BILLING", "Prepaid billing"
        USAGE = "USAGE", "Usage"
        MANUAL = "MANUAL", "Manual"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200, blank=True)
    debit_causes = models.JSONField(default=list, blank=True)  # subset of Cause values
    active = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tenant", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_wallet_definition_code"),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(active=True), name="one_active_wallet_definition"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @classmethod
    def active_for(cls, tenant_id: int) -> WalletDefinition | None:
        """The tenant's active definition; None: every cause may debit."""
        return cls.objects.filter(tenant_id=tenant_id, active=True).first()

    def lists(self, cause: str) -> bool:
        """`cause` may debit a wallet under this definition."""
        return cause in (self.debit_causes or ())
