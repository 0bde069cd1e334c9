"""The forced-match report API: `GET /api/reports/forced-matches?month=YYYY-MM` (issue 13 item 7).

Forced-match rate by month, by user and by payer (the figures of /claims/receivables/report/).
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core import scopes as S
from core.api.fields import MonthField, month_query_param
from core.api.views import TenantAPIView
from denials import selectors_screens_rec as rec

RATE = {"max_digits": 5, "decimal_places": 4}


class ForcedMatchQuerySerializer(serializers.Serializer):
    """`?month=YYYY-MM`: one month; absent, the last 12 months."""

    month = MonthField(required=False)


class ForcedByUserSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="username of who force-matched")
    forced = serializers.IntegerField()
    rate = serializers.DecimalField(**RATE, help_text="forced by this user / matched in the month")


class ForcedByPayerSerializer(serializers.Serializer):
    payer = serializers.CharField(help_text="payer code")
    name = serializers.CharField()
    matched = serializers.IntegerField()
    forced = serializers.IntegerField()
    rate = serializers.DecimalField(**RATE, help_text="forced / matched for this payer")


class ForcedMonthSerializer(serializers.Serializer):
    month = MonthField()
    matched = serializers.IntegerField(help_text="claim payments matched (auto and forced)")
    forced = serializers.IntegerField(help_text="of which force-matched")
    rate = serializers.DecimalField(**RATE, help_text="forced / matched")
    by_user = ForcedByUserSerializer(many=True)
    by_payer = ForcedByPayerSerializer(many=True)


class ForcedMatchReportSerializer(serializers.Serializer):
    months = ForcedMonthSerializer(many=True, help_text="newest month first")


class ForcedMatchReportView(TenantAPIView):
    """Forced-match rate per month (by when the line was matched), by user and by payer."""

    required_scopes = {"GET": S.CLAIMS_VIEW}

    @extend_schema(
        parameters=[ForcedMatchQuerySerializer],
        responses=ForcedMatchReportSerializer,
        operation_id="reports_forced_matches",
    )
    def get(self, request):
        month = month_query_param(request.query_params)
        since = rec.months_back(timezone.localdate(), 12)
        months = rec.forced_match_report(self.actor, month=month, since=since)
        return Response(ForcedMatchReportSerializer({"months": months}).data)
