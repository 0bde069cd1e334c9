"""Shapes of the coverage, COB and secondary-claim API (no rules here)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.strict import DayField, StrictSerializer
from denials.models import Claim, Coverage

MONEY = {"max_digits": 14, "decimal_places": 2}


class CoverageIn(StrictSerializer):
    member_id = serializers.CharField(max_length=64, help_text="the member's id (as in files)")
    payer_code = serializers.CharField(max_length=30)
    kind = serializers.ChoiceField(Coverage.Kind.choices)
    employer_size = serializers.IntegerField(
        min_value=0, max_value=10_000_000, allow_null=True, required=False, default=None
    )
    active_employment = serializers.BooleanField(required=False, default=False)
    effective = DayField()
    termination = DayField(required=False, allow_null=True, default=None)


class CoverageOut(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id", help_text="the member's pk")
    member_id = serializers.CharField(source="member.external_id", help_text="PHI")
    payer_code = serializers.CharField(source="payer.code")
    kind = serializers.ChoiceField(Coverage.Kind.choices)
    employer_size = serializers.IntegerField(allow_null=True)
    active_employment = serializers.BooleanField()
    effective = serializers.DateField()
    termination = serializers.DateField(allow_null=True)
    updated_at = serializers.DateTimeField()


class CoverageFilterIn(serializers.Serializer):
    member_id = serializers.CharField(max_length=64, required=False, help_text="the member's id")


class CobAsOfIn(serializers.Serializer):
    as_of = DayField(required=False, help_text="the day the order is for (default today)")


class CobOverrideOut(serializers.Serializer):
    id = serializers.IntegerField()
    ordering = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()
    created_by = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class MemberCobOut(serializers.Serializer):
    order = serializers.ListField(child=serializers.CharField(), help_text="primary first")
    reasons = serializers.ListField(child=serializers.CharField())
    override = CobOverrideOut(allow_null=True)


class CobOverrideIn(StrictSerializer):
    ordering = serializers.ListField(
        child=serializers.CharField(max_length=30), min_length=2, max_length=20
    )
    reason = serializers.CharField(max_length=2000)


class CobOverrideRemoveIn(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class CobOverrideWaitingOut(serializers.Serializer):
    """A COB override (or its removal) waits for a second person's approval."""

    executed = serializers.BooleanField()
    override_request = serializers.IntegerField()
    message = serializers.CharField()


class AdjustmentOut(serializers.Serializer):
    group = serializers.CharField()
    carc = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)


class SecondaryClaimOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(Claim.Status.choices)
    payer = serializers.CharField(source="payer.code")
    payer_sequence = serializers.CharField()
    primary_claim = serializers.CharField(source="primary_claim.number")
    service_date = serializers.DateField()
    service_date_to = serializers.DateField()
    billed_amount = serializers.DecimalField(**MONEY)
    prior_payer_paid = serializers.DecimalField(**MONEY)
    prior_adjustments = AdjustmentOut(many=True)
    lines = serializers.IntegerField(source="lines.count", help_text="service lines copied")
