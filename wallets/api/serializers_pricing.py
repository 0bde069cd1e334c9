"""Shapes of the pricing API (issue 18): tax classes, price plans, discounts, bundles and wallet
definitions. No rules here: the pricing services validate and write."""

from __future__ import annotations

import re
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import StrictBooleanField, bounded_integer
from core.api.strict import DayField, StrictSerializer
from wallets.api.fields import MoneyInField
from wallets.models import Discount, Product, WalletDefinition
from wallets.services.catalog import PERIOD_DAYS_MAX

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 7, "decimal_places": 4}
MAX_RATES = 100
MAX_COMPONENTS = 100
CODE = 60

PERCENT_PATTERN = r"^(100(\.0{1,4})?|[0-9]{1,2}(\.[0-9]{1,4})?)$"
_PERCENT = re.compile(PERCENT_PATTERN)


@extend_schema_field(
    {
        "type": "string",
        "pattern": PERCENT_PATTERN,
        "example": "20.00",
        "description": "a percentage as text from 0 to 100 with at most 4 decimals",
    }
)
class PercentInField(serializers.Field):
    """A percentage as text ("20", "7.7"): 0 to 100, at most 4 decimals, never a JSON number."""

    default_error_messages = {
        "invalid": 'expected a percentage as text from 0 to 100 with at most 4 decimals, e.g. "20".'
    }

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str) or not _PERCENT.fullmatch(data) or Decimal(data) > 100:
            self.fail("invalid")
        return Decimal(data)

    def to_representation(self, value) -> str:
        return f"{Decimal(value):.4f}"


class NestedStrict(StrictSerializer):
    """A strict body nested in a list: unknown keys are refused per item (as PrepaidPeriod)."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and not hasattr(self, "initial_data"):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                allowed = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {k[:50]: [f"unknown field (expected among {allowed})"] for k in unknown}
                )
        return super().to_internal_value(data)

    def validate(self, attrs):
        return super().validate(attrs) if hasattr(self, "initial_data") else attrs


def _flat(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"rates[1].period_days": [...]} (the path a person can find)."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, inner in errors.items():
            if key == "non_field_errors":
                path = prefix
            elif isinstance(key, int) or str(key).isdigit():  # a list item (ListField's way)
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flat(inner, path or "non_field_errors"))
    elif isinstance(errors, list) and errors and all(isinstance(e, dict) for e in errors):
        for i, inner in enumerate(errors):
            out.update(_flat(inner, f"{prefix}[{i}]"))
    else:
        out[prefix or "non_field_errors"] = (
            [str(e) for e in errors] if isinstance(errors, list) else [str(errors)]
        )
    return out


def validated(form_class: type[serializers.Serializer], data) -> dict:
    """The form's validated data; a 400 naming the first bad path (e.g. rates[1].rate)."""
    form = form_class(data=data)
    if not form.is_valid():
        raise serializers.ValidationError(_flat(form.errors))
    return form.validated_data


def _code(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=CODE, **kwargs)


def _name() -> serializers.CharField:
    return serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


def _period_days(**kwargs) -> serializers.IntegerField:
    return bounded_integer("int4", min_value=1, max_value=PERIOD_DAYS_MAX, **kwargs)


# --- tax classes -------------------------------------------------------------------------------


class TaxRateIn(NestedStrict):
    effective_from = DayField()
    rate = PercentInField(help_text="percent, e.g. 20")


class TaxClassIn(StrictSerializer):
    code = _code(help_text="the tax class's code (an existing code updates it)")
    name = _name()
    rates = TaxRateIn(
        many=True,
        required=False,
        max_length=MAX_RATES,
        help_text="added, or updated when a rate from that day exists",
    )


class TaxRateOut(serializers.Serializer):
    effective_from = serializers.DateField()
    rate = serializers.DecimalField(**PERCENT, help_text="percent")


class TaxClassOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    rates = TaxRateOut(many=True, source="rates.all")


# --- price plans -------------------------------------------------------------------------------


class PricePlanFilterIn(serializers.Serializer):
    product = _code(required=False, help_text="a product code")


class PlanRateIn(NestedStrict):
    effective_from = DayField()
    price_per_period = MoneyInField()
    period_days = _period_days()


class PricePlanIn(StrictSerializer):
    code = _code(help_text="the plan's code (an existing code updates it)")
    product = _code(help_text="product code")
    bundle = _code(
        required=False,
        allow_null=True,
        default=None,
        help_text="a bundle product code: the product's rates inside that bundle",
    )
    name = _name()
    rates = PlanRateIn(
        many=True,
        required=False,
        max_length=MAX_RATES,
        help_text="added, or updated when a rate from that day exists (a new plan needs one)",
    )


class PlanRateOut(serializers.Serializer):
    effective_from = serializers.DateField()
    price_per_period = serializers.DecimalField(**MONEY)
    period_days = serializers.IntegerField()


class PricePlanOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    product = serializers.CharField(source="product.code")
    bundle = serializers.CharField(source="bundle.code", allow_null=True, default=None)
    rates = PlanRateOut(many=True, source="rates.all")


# --- discounts ---------------------------------------------------------------------------------


class DiscountFilterIn(serializers.Serializer):
    product = _code(required=False, help_text="a product code")
    service = bounded_integer("int8", min_value=1, required=False, help_text="a service id")
    automatic = serializers.BooleanField(
        required=False, help_text="true: product (automatic) discounts; false: ad hoc ones"
    )


class DiscountIn(StrictSerializer):
    code = _code(help_text="the discount's code (an existing code updates it)")
    name = _name()
    kind = serializers.ChoiceField(Discount.Kind.choices)
    value = MoneyInField(help_text="PERCENT: more than 0, at most 100; FIXED: an amount > 0")
    effective_from = DayField()
    effective_to = DayField(
        required=False, allow_null=True, default=None, help_text="exclusive; null: open"
    )
    period_days = _period_days(
        required=False,
        allow_null=True,
        default=None,
        help_text="FIXED: the amount is per that many days (null: the rate's period)",
    )
    product = _code(
        required=False, allow_null=True, default=None, help_text="product code (automatic)"
    )
    service = serializers.CharField(
        max_length=80,
        required=False,
        allow_null=True,
        default=None,
        help_text="service external id (ad hoc); exactly one of product and service",
    )


class DiscountEndIn(StrictSerializer):
    effective_to = DayField(help_text="the first day it no longer applies")
    reason = serializers.CharField(max_length=200)


class DiscountOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(Discount.Kind.choices)
    value = serializers.DecimalField(**MONEY)
    period_days = serializers.IntegerField(allow_null=True)
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(allow_null=True, help_text="exclusive; null: open")
    automatic = serializers.BooleanField(help_text="a product's (true) or one service's (false)")
    product = serializers.CharField(source="product.code", allow_null=True, default=None)
    service = serializers.IntegerField(source="service_id", allow_null=True)
    service_external_id = serializers.CharField(
        source="service.external_id", allow_null=True, default=None
    )
    created_at = serializers.DateTimeField()


# --- bundles -----------------------------------------------------------------------------------


class BundleIn(StrictSerializer):
    bundle_pricing = serializers.ChoiceField(
        Product.BundlePricing.choices,
        allow_blank=True,
        help_text='how the bundle is rated; "" makes the product no bundle (send no components)',
    )
    components = serializers.ListField(
        child=_code(),
        max_length=MAX_COMPONENTS,
        help_text="component product codes (replaces the list)",
    )


class ProductPricingIn(StrictSerializer):
    tax_class = serializers.CharField(
        max_length=60, allow_null=True, required=False, help_text="a tax class code; null: no VAT"
    )
    penalty_kind = serializers.ChoiceField(
        Product.PenaltyKind.choices,
        allow_blank=True,
        required=False,
        help_text='early-cancellation penalty; "" = none',
    )
    penalty_amount = MoneyInField(
        allow_null=True, required=False, help_text="the FIXED penalty's amount"
    )


class BundleOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    bundle_pricing = serializers.ChoiceField(Product.BundlePricing.choices)
    components = serializers.SerializerMethodField(help_text="component product codes")
    tax_class = serializers.CharField(source="tax_class.code", allow_null=True, default=None)
    penalty_kind = serializers.ChoiceField(Product.PenaltyKind.choices)
    penalty_amount = serializers.DecimalField(**MONEY, allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_components(self, product) -> list[str]:
        return [c.component.code for c in product.components.all()]


# --- wallet definitions ------------------------------------------------------------------------


def _causes(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(WalletDefinition.Cause.choices),
        max_length=len(WalletDefinition.Cause.values),
        help_text="the causes that may debit a wallet",
        **kwargs,
    )


class WalletDefinitionIn(StrictSerializer):
    code = _code(help_text="the definition's code (an existing code updates it)")
    name = _name()
    debit_causes = _causes()
    active = StrictBooleanField(
        required=False,
        help_text="true: the tenant's definition from now on; not sent: a new definition is "
        "inactive, an existing one keeps its state",
    )


class WalletDefinitionUpdateIn(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    debit_causes = _causes(required=False)
    active = StrictBooleanField(required=False)


class WalletDefinitionOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    debit_causes = serializers.ListField(
        child=serializers.ChoiceField(WalletDefinition.Cause.choices)
    )
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
