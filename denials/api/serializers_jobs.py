"""Shapes of the jobs and reports API: what each operation takes and returns (no rules here)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import MonthField
from core.api.strict import DayField, StrictSerializer
from denials.models import JobRun
from denials.services.jobs import JOBS
from denials.services.reporting import AGING_BUCKETS

MONEY = {"max_digits": 16, "decimal_places": 2}


class JobRunSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(allow_null=True, read_only=True)
    as_of = DayField(allow_null=True, read_only=True)
    counts = serializers.JSONField(
        read_only=True, help_text='what the job did, e.g. {"checked": 12, "FILING_7": 1}'
    )

    class Meta:
        model = JobRun
        fields = [
            "id",
            "job",
            "status",
            "as_of",
            "started_at",
            "finished_at",
            "duration_seconds",
            "counts",
            "error",
        ]
        read_only_fields = fields


class JobRunFilterSerializer(serializers.Serializer):
    job = serializers.ChoiceField(choices=list(JOBS), required=False)
    status = serializers.ChoiceField(choices=JobRun.Status.choices, required=False)


class JobRunRequestSerializer(StrictSerializer):
    job = serializers.ChoiceField(
        choices=list(JOBS), required=False, help_text="one job; all of them, in order, if absent"
    )
    today = DayField(required=False, help_text="the day to run for (default: today)")


class JobRunsSerializer(serializers.Serializer):
    runs = JobRunSerializer(many=True)


class ReconFilterSerializer(serializers.Serializer):
    payer = serializers.CharField(required=False, max_length=30, help_text="payer code")
    month_from = MonthField(required=False, help_text="first service month, YYYY-MM")
    # a month_to before month_from is an empty range (no rows), as on the screen: no schema
    # can state the order of two parameters, so it is not a validation error
    month_to = MonthField(required=False, help_text="last service month, YYYY-MM")


class ReconRowSerializer(serializers.Serializer):
    payer = serializers.CharField()
    payer_name = serializers.CharField()
    month = MonthField()
    claims = serializers.IntegerField()
    billed = serializers.DecimalField(**MONEY)
    paid = serializers.DecimalField(**MONEY)
    adjusted = serializers.DecimalField(**MONEY)
    patient_responsibility = serializers.DecimalField(**MONEY)
    written_off = serializers.DecimalField(**MONEY)
    open = serializers.DecimalField(**MONEY, help_text="billed less everything applied")


class ReconTotalsSerializer(serializers.Serializer):
    claims = serializers.IntegerField()
    billed = serializers.DecimalField(**MONEY)
    paid = serializers.DecimalField(**MONEY)
    adjusted = serializers.DecimalField(**MONEY)
    patient_responsibility = serializers.DecimalField(**MONEY)
    written_off = serializers.DecimalField(**MONEY)
    open = serializers.DecimalField(**MONEY)


class ReconciliationSerializer(serializers.Serializer):
    refreshed_at = serializers.DateTimeField(
        allow_null=True, help_text="when the reporting views were last refreshed (null: never)"
    )
    rows = ReconRowSerializer(many=True)
    totals = ReconTotalsSerializer()


class AgingFilterSerializer(serializers.Serializer):
    payer = serializers.CharField(required=False, max_length=30, help_text="payer code")
    as_of = DayField(required=False, help_text="age the receivables as of this day (today)")


class AgingBucketSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=[label for label, _, _ in AGING_BUCKETS])
    amount = serializers.DecimalField(**MONEY)
    claims = serializers.IntegerField()


class AgingRowSerializer(serializers.Serializer):
    payer = serializers.CharField()
    payer_name = serializers.CharField()
    buckets = AgingBucketSerializer(many=True)
    total = serializers.DecimalField(**MONEY)


class AgingSerializer(serializers.Serializer):
    as_of = DayField()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    rows = AgingRowSerializer(many=True)
    totals = AgingBucketSerializer(many=True)
