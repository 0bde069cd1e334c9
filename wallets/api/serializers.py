"""Shapes of the wallets and prepaid-runs API (no rules here): money as text, dates ISO."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import bounded_integer
from core.api.strict import DayField, StrictSerializer
from wallets.api.fields import CurrencyField, MoneyInField
from wallets.models import Discount, PrepaidBillingRun, RatedItem, WalletTransaction
from wallets.selectors import wallet_available

MONEY = {"max_digits": 14, "decimal_places": 2}
BURN = {"max_digits": 20, "decimal_places": 4}
MAX_FILTER_ITEMS = 1000


# --- wallets -----------------------------------------------------------------------------------


class WalletFilterIn(serializers.Serializer):
    account = serializers.CharField(max_length=40, required=False, help_text="account number")
    currency = CurrencyField(required=False, help_text="3-letter currency code")
    low = serializers.BooleanField(
        required=False,
        help_text="only wallets below a threshold or running out within 7 days",
    )


class WalletConsumptionOut(serializers.Serializer):
    product = serializers.CharField(source="product.code")
    daily_burn = serializers.DecimalField(**BURN)
    available_amount = serializers.DecimalField(**MONEY)
    estimated_consumption_days = serializers.IntegerField(allow_null=True)
    estimated_consumption_date = serializers.DateField(allow_null=True)
    estimated_as_of = serializers.DateField()


class WalletOut(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(source="account.number", help_text="account number")
    currency = serializers.CharField()
    balance = serializers.DecimalField(**MONEY)
    available = serializers.SerializerMethodField(
        help_text="balance less the account's not-yet-billed charges"
    )
    min_balance_threshold = serializers.DecimalField(**MONEY)
    stop_service_threshold = serializers.DecimalField(**MONEY)
    restrict_below_stop = serializers.BooleanField()
    daily_burn = serializers.DecimalField(**BURN, allow_null=True)
    estimated_consumption_days = serializers.IntegerField(allow_null=True)
    estimated_consumption_date = serializers.DateField(allow_null=True)
    estimated_as_of = serializers.DateField(allow_null=True)
    changed_at = serializers.DateTimeField()

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_available(self, wallet) -> str:
        available = wallet_available(wallet)
        return serializers.DecimalField(**MONEY).to_representation(available)


class WalletDetailOut(WalletOut):
    consumptions = WalletConsumptionOut(many=True, help_text="the estimate per product")


class WalletTransactionOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(WalletTransaction.Kind.choices)
    amount = serializers.DecimalField(**MONEY, help_text="signed: credits > 0, debits < 0")
    balance_after = serializers.DecimalField(**MONEY)
    cause = serializers.ChoiceField(WalletTransaction.Cause.choices)
    reference = serializers.CharField()
    run = serializers.IntegerField(source="run_id", allow_null=True)
    service = serializers.CharField(
        source="service.external_id", allow_null=True, default=None, help_text="external id"
    )
    item = serializers.IntegerField(source="item_id", allow_null=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class WalletTopUpIn(StrictSerializer):
    amount = MoneyInField(help_text="more than 0 and at most 1,000,000.00")
    reference = serializers.CharField(max_length=120, help_text="e.g. the payment's reference")


class WalletTopUpOut(serializers.Serializer):
    transaction = WalletTransactionOut()
    balance = serializers.DecimalField(**MONEY, help_text="the wallet's balance after the top-up")


# --- prepaid runs -------------------------------------------------------------------------------


class PrepaidRunFilterIn(serializers.Serializer):
    status = serializers.ChoiceField(PrepaidBillingRun.Status.choices, required=False)


def _names(max_length: int, what: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=max_length),
        max_length=MAX_FILTER_ITEMS,
        required=False,
        default=list,
        help_text=f"{what} (empty: all)",
    )


class PrepaidRunTriggerIn(StrictSerializer):
    as_of = DayField(help_text="the day the run bills up to")
    accounts = _names(40, "account numbers")
    subscriptions = _names(80, "subscription external ids")
    classifications = _names(40, "account classifications")
    estimation = serializers.ChoiceField(
        PrepaidBillingRun.Estimation.choices, required=False, default="SKIP"
    )
    recurring_interval_days = bounded_integer(
        "int4",
        min_value=1,
        max_value=366,
        required=False,
        allow_null=True,
        default=None,
        help_text="days until the next run (a recurring run schedules its successor)",
    )


class PrepaidRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(PrepaidBillingRun.Status.choices, read_only=True)
    percent = serializers.IntegerField(allow_null=True, help_text="accounts done; null as a draft")
    as_of = serializers.DateField()
    accounts = serializers.ListField(child=serializers.CharField())
    subscriptions = serializers.ListField(child=serializers.CharField())
    classifications = serializers.ListField(child=serializers.CharField())
    estimation = serializers.ChoiceField(PrepaidBillingRun.Estimation.choices)
    recurring_interval_days = serializers.IntegerField(allow_null=True)
    scheduled_for = serializers.DateTimeField(allow_null=True)
    previous = serializers.IntegerField(source="previous_id", allow_null=True)
    successor = serializers.SerializerMethodField(help_text="the recurring successor's id")
    triggered_by = serializers.CharField(
        source="triggered_by.username", allow_null=True, default=None
    )
    triggered_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    accounts_total = serializers.IntegerField()
    accounts_done = serializers.IntegerField()
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    rated_count = serializers.IntegerField(help_text="rated items written")
    debited_total = serializers.DecimalField(**MONEY)
    credited_total = serializers.DecimalField(**MONEY)
    invalid_count = serializers.IntegerField(help_text="services made INVALID")
    errors_count = serializers.IntegerField()
    wallets_estimated = serializers.IntegerField()
    failure = serializers.CharField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_successor(self, run) -> int | None:
        try:
            return run.successor.pk
        except PrepaidBillingRun.DoesNotExist:
            return None


class PrepaidRunErrorOut(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(source="account.number", allow_null=True, default=None)
    service = serializers.CharField(source="service.external_id", allow_null=True, default=None)
    code = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()


class PrepaidItemFilterIn(serializers.Serializer):
    service = bounded_integer("int8", min_value=1, required=False, help_text="a service id")


class AppliedDiscountOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(Discount.Kind.choices)
    value = serializers.DecimalField(**MONEY, help_text="percent or amount per period")
    amount = serializers.DecimalField(**MONEY, help_text="what it took off this item")


class PrepaidRatedItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(source="account.number")
    service = serializers.IntegerField(source="service_id")
    service_external_id = serializers.CharField(source="service.external_id")
    usage = serializers.IntegerField(source="usage_id", allow_null=True)
    kind = serializers.ChoiceField(RatedItem.Kind.choices)
    start = serializers.DateField()
    end = serializers.DateField(help_text="exclusive")
    active_days = serializers.IntegerField()
    price_per_period = serializers.DecimalField(**MONEY, allow_null=True)
    period_days = serializers.IntegerField(allow_null=True)
    amount = serializers.DecimalField(**MONEY, help_text="signed: charges > 0, credits < 0")
    sign = serializers.ChoiceField(RatedItem.Sign.choices)
    debited = serializers.DecimalField(**MONEY, help_text="what the wallet gave")
    state = serializers.ChoiceField(RatedItem.State.choices, read_only=True)
    created_at = serializers.DateTimeField()
    # issue 18: the breakdown (gross = net - discount + vat) and why the item starts/ends there
    component = serializers.CharField(
        source="component.code",
        allow_null=True,
        default=None,
        help_text="the bundle component's product code (null: the service's product)",
    )
    rate_from = serializers.DateField(
        allow_null=True, help_text="the price plan rate's effective_from (null: service price)"
    )
    net = serializers.DecimalField(**MONEY, help_text="price x active days / period days")
    discount = serializers.DecimalField(**MONEY, help_text="all discounts of the item")
    discounts = AppliedDiscountOut(many=True, help_text="each discount applied and its amount")
    vat_rate = serializers.DecimalField(max_digits=7, decimal_places=4, help_text="percent")
    vat = serializers.DecimalField(**MONEY)
    gross = serializers.DecimalField(**MONEY, help_text="net - discount + vat (the amount)")
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="why the item starts and ends where it does"
    )


class WalletWatchOut(serializers.Serializer):
    wallet = serializers.IntegerField()
    watching = serializers.BooleanField(help_text="whether you now watch the wallet")
