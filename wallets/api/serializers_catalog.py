"""Shapes of the subscriptions, services and usage API (partner systems write these)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import bounded_integer
from core.api.strict import DayField, StrictSerializer
from wallets.api.fields import MoneyInField
from wallets.models import ServiceStatePeriod, SubscriptionService, UsageRecord
from wallets.services.catalog import PERIOD_DAYS_MAX

MONEY = {"max_digits": 14, "decimal_places": 2}
MAX_PERIODS = 100


def _id(**kwargs) -> serializers.IntegerField:
    return bounded_integer("int8", min_value=1, **kwargs)


# --- subscriptions -----------------------------------------------------------------------------


class PrepaidSubscriptionFilterIn(serializers.Serializer):
    account = serializers.CharField(max_length=40, required=False, help_text="account number")


class PrepaidSubscriptionIn(StrictSerializer):
    account = serializers.CharField(max_length=40, help_text="account number")
    external_id = serializers.CharField(max_length=80)


class PrepaidSubscriptionUpdateIn(StrictSerializer):
    account = serializers.CharField(
        max_length=40, required=False, help_text="number of the account to move it to"
    )


class PrepaidServiceBriefOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    product = serializers.CharField(source="product.code")
    rating = serializers.ChoiceField(SubscriptionService.Rating.choices)
    prepayment_state = serializers.ChoiceField(
        SubscriptionService.PrepaymentState.choices, read_only=True
    )


class PrepaidSubscriptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    account = serializers.CharField(source="account.number", help_text="account number")
    created_at = serializers.DateTimeField()


class PrepaidSubscriptionDetailOut(PrepaidSubscriptionOut):
    services = PrepaidServiceBriefOut(many=True, source="services.all")


# --- services ----------------------------------------------------------------------------------


class PrepaidServiceFilterIn(serializers.Serializer):
    account_id = _id(required=False, help_text="an account's id")
    subscription_id = _id(required=False, help_text="a subscription's id")


class PrepaidPeriod(StrictSerializer):
    """A state period [start, end), in and out (one schema component, so its `state` enum gets
    one name); nested in a service body, unknown keys are refused per item."""

    id = serializers.IntegerField(read_only=True)
    state = serializers.ChoiceField(ServiceStatePeriod.State.choices)
    start = DayField()
    end = DayField(required=False, allow_null=True, default=None, help_text="exclusive; null: open")

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


class PrepaidServiceIn(StrictSerializer):
    subscription_external_id = serializers.CharField(max_length=80)
    external_id = serializers.CharField(max_length=80)
    product = serializers.CharField(max_length=60, help_text="product code")
    price_per_period = MoneyInField()
    period_days = bounded_integer("int4", min_value=1, max_value=PERIOD_DAYS_MAX)
    rating = serializers.ChoiceField(SubscriptionService.Rating.choices)
    rated_up_to = DayField(
        required=False, allow_null=True, default=None, help_text="first day not yet rated"
    )
    periods = PrepaidPeriod(many=True, required=False, max_length=MAX_PERIODS)


class PrepaidServiceUpdateIn(StrictSerializer):
    price_per_period = MoneyInField(required=False)
    period_days = bounded_integer("int4", min_value=1, max_value=PERIOD_DAYS_MAX, required=False)
    product = serializers.CharField(max_length=60, required=False, help_text="product code")
    binding_end = DayField(
        required=False,
        allow_null=True,
        help_text="the binding period ends here (exclusive); null clears it",
    )


class PrepaidServiceOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    subscription = serializers.CharField(source="subscription.external_id")
    account = serializers.CharField(source="subscription.account.number")
    product = serializers.CharField(source="product.code")
    price_per_period = serializers.DecimalField(**MONEY)
    period_days = serializers.IntegerField()
    rating = serializers.ChoiceField(SubscriptionService.Rating.choices)
    rated_up_to = serializers.DateField(allow_null=True, help_text="first day not yet rated")
    binding_end = serializers.DateField(
        allow_null=True, help_text="the binding period ends here (exclusive)"
    )
    prepayment_state = serializers.ChoiceField(
        SubscriptionService.PrepaymentState.choices, read_only=True
    )
    prepayment_checked_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    periods = PrepaidPeriod(many=True, source="periods.all")


# --- usage -------------------------------------------------------------------------------------


class PrepaidUsageFilterIn(serializers.Serializer):
    service = _id(required=False, help_text="a service id")
    state = serializers.ChoiceField(UsageRecord.State.choices, required=False)


class PrepaidUsageIn(StrictSerializer):
    service = _id(help_text="the service's id")
    amount = MoneyInField(help_text="more than 0")
    directive = serializers.ChoiceField(UsageRecord.Directive.choices)
    billing_effective_date = DayField()
    external_id = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")


class PrepaidUsageUpdateIn(StrictSerializer):
    amount = MoneyInField(required=False)
    directive = serializers.ChoiceField(UsageRecord.Directive.choices, required=False)
    billing_effective_date = DayField(required=False)


class PrepaidUsageOut(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.IntegerField(source="service_id")
    service_external_id = serializers.CharField(source="service.external_id")
    external_id = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    directive = serializers.ChoiceField(UsageRecord.Directive.choices)
    state = serializers.ChoiceField(UsageRecord.State.choices, read_only=True)
    billing_effective_date = serializers.DateField()
    created_at = serializers.DateTimeField()
