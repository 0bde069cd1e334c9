"""Shapes of the remittances, receivables and denials API (no rules here)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.strict import StrictSerializer
from denials.models import RemittanceClaim

MONEY = {"max_digits": 14, "decimal_places": 2}
SCORE = {"max_digits": 5, "decimal_places": 4}


class RemittanceSerializer(serializers.Serializer):
    """A remittance (one 835 payment) with its totals and claim counts by match state."""

    id = serializers.IntegerField()
    payer = serializers.CharField(source="payer.code")
    trace_number = serializers.CharField()
    trace_originator = serializers.CharField()
    payment_amount = serializers.DecimalField(**MONEY)
    payment_method = serializers.CharField()
    payment_date = serializers.DateField(allow_null=True)
    received_at = serializers.DateTimeField()
    warnings = serializers.ListField(child=serializers.CharField())
    claim_count = serializers.IntegerField()
    matched_auto_count = serializers.IntegerField()
    matched_forced_count = serializers.IntegerField()
    unmatched_count = serializers.IntegerField()


class AdjustmentSerializer(serializers.Serializer):
    group = serializers.CharField()
    carc = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    line = serializers.IntegerField(allow_null=True)


class RemarkSerializer(serializers.Serializer):
    code = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)


class SignalSerializer(serializers.Serializer):
    signal = serializers.CharField()
    agreed = serializers.BooleanField()
    remittance = serializers.CharField(allow_blank=True)
    claim = serializers.CharField(allow_blank=True)
    weight = serializers.DecimalField(max_digits=3, decimal_places=2)


class EvidenceSerializer(serializers.Serializer):
    """A candidate claim with its score and the signals that agreed and did not."""

    claim = serializers.IntegerField(help_text="claim id")
    claim_number = serializers.SerializerMethodField()
    score = serializers.DecimalField(**SCORE)
    agreed = serializers.ListField(child=serializers.CharField())
    disagreed = serializers.ListField(child=serializers.CharField())
    signals = SignalSerializer(many=True)

    def get_claim_number(self, obj) -> str:
        return self.context.get("numbers", {}).get(obj.get("claim"), "")


class RemittanceClaimSerializer(serializers.Serializer):
    """One claim payment (CLP): what the payer said, its match state and evidence."""

    id = serializers.IntegerField()
    remittance = serializers.IntegerField(source="remittance_id")
    row_number = serializers.IntegerField()
    patient_control_number = serializers.CharField()
    payer_claim_control_number = serializers.CharField()
    status_code = serializers.CharField()
    charge_amount = serializers.DecimalField(**MONEY)
    paid_amount = serializers.DecimalField(**MONEY)
    patient_responsibility = serializers.DecimalField(**MONEY)
    member_id = serializers.CharField(source="member_code")
    service_date = serializers.DateField(allow_null=True)
    service_date_to = serializers.DateField(allow_null=True)
    adjustments = AdjustmentSerializer(many=True)
    remarks = RemarkSerializer(many=True)
    match_state = serializers.ChoiceField(choices=RemittanceClaim.MatchState.choices)
    claim_number = serializers.SerializerMethodField()
    score = serializers.DecimalField(**SCORE, allow_null=True)
    overridden_score = serializers.DecimalField(**SCORE, allow_null=True)
    match_reason = serializers.CharField()
    matched_by = serializers.SerializerMethodField()
    matched_at = serializers.DateTimeField(allow_null=True)
    evidence = serializers.SerializerMethodField()
    candidates = serializers.SerializerMethodField()

    def get_claim_number(self, obj) -> str | None:
        return obj.claim.number if obj.claim_id else None

    def get_matched_by(self, obj) -> str | None:
        return obj.matched_by.get_username() if obj.matched_by_id else None

    @extend_schema_field(EvidenceSerializer(allow_null=True))
    def get_evidence(self, obj):
        return EvidenceSerializer(obj.evidence, context=self.context).data if obj.evidence else None

    @extend_schema_field(EvidenceSerializer(many=True))
    def get_candidates(self, obj):
        return EvidenceSerializer(obj.candidates, many=True, context=self.context).data


class RemittanceDetailSerializer(RemittanceSerializer):
    """A remittance with every claim payment."""

    claims = RemittanceClaimSerializer(many=True, source="claim_rows")


class ForceMatchSerializer(StrictSerializer):
    claim = serializers.CharField(max_length=20, help_text="the claim number, e.g. CLM-000123")
    reason = serializers.CharField(max_length=1000, help_text="why (required)")


class UnmatchSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=1000, help_text="why (required)")


class OverrideWaitingSerializer(serializers.Serializer):
    executed = serializers.BooleanField()
    override_request = serializers.IntegerField()
    message = serializers.CharField()
