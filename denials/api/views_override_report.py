"""Override-rate report API (issue 14 item 6): `GET /api/reports/overrides` (JSON) and
`GET /api/reports/overrides.csv`, the figures of /claims/overrides/report/.

Reading needs audit.read; per-payer grants narrow the rows.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core import scopes as S
from core.api.fields import MonthField
from core.api.filters import query_data
from core.api.views import TenantAPIView
from core.listexport import csv_response
from denials.reporting_overrides import KINDS, OVERRIDE_KINDS
from denials.services import override_report as report
from denials.services.reporting import reporting_refreshed_at

RATE = {"max_digits": 5, "decimal_places": 4}


class OverrideReportQuerySerializer(serializers.Serializer):
    """Filters; without months every month is returned (month_to before month_from: 400)."""

    month_from = MonthField(required=False, help_text="first month, YYYY-MM")
    month_to = MonthField(required=False, help_text="last month, YYYY-MM")
    kind = serializers.ChoiceField(choices=list(OVERRIDE_KINDS), required=False)
    payer = serializers.CharField(required=False, max_length=30, help_text="payer code")
    user = serializers.CharField(required=False, max_length=150, help_text="who asked (username)")


class OverrideFigureSerializer(serializers.Serializer):
    month = MonthField()
    kind = serializers.ChoiceField(choices=list(OVERRIDE_KINDS))
    overrides = serializers.IntegerField()
    volume = serializers.IntegerField(help_text="what the rate is taken of (see `kinds`)")
    rate = serializers.DecimalField(
        **RATE, allow_null=True, help_text="overrides / volume; null when the volume is 0"
    )


class OverrideUserFigureSerializer(OverrideFigureSerializer):
    user = serializers.CharField(help_text="who asked for the overrides")


class OverridePayerFigureSerializer(OverrideFigureSerializer):
    payer = serializers.CharField(help_text="payer code; empty when unknown")


class OverrideDetailSerializer(OverrideFigureSerializer):
    user = serializers.CharField()
    payer = serializers.CharField()


class OverrideKindSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    audit_action = serializers.CharField(help_text="the audit action an override of it writes")
    volume = serializers.CharField(help_text="what its volume counts")


class OverrideReportSerializer(serializers.Serializer):
    refreshed_at = serializers.DateTimeField(
        allow_null=True, help_text="when the reporting views were last refreshed (null: never)"
    )
    kinds = OverrideKindSerializer(many=True)
    totals = OverrideFigureSerializer(many=True, help_text="per month and kind, newest first")
    by_payer = OverridePayerFigureSerializer(many=True)
    by_user = OverrideUserFigureSerializer(
        many=True, help_text="rate: the user's share of the month's volume"
    )
    rows = OverrideDetailSerializer(many=True, help_text="per user and payer")


class _OverrideReportBase(TenantAPIView):
    required_scopes = {"GET": S.AUDIT_READ}

    def _report(self, request) -> report.OverrideReport:
        form = OverrideReportQuerySerializer(data=query_data(request.query_params))
        form.is_valid(raise_exception=True)
        v = form.validated_data
        return report.override_report(
            self.actor,
            month_from=v.get("month_from"),
            month_to=v.get("month_to"),
            kind=v.get("kind", ""),
            payer=v.get("payer", ""),
            user=v.get("user", ""),
        )


class OverrideReportView(_OverrideReportBase):
    """Override counts, volumes and rates per month: totals by kind, by payer, by user and per
    user and payer (the figures of the override report screen)."""

    @extend_schema(
        parameters=[OverrideReportQuerySerializer],
        responses=OverrideReportSerializer,
        operation_id="reports_overrides",
    )
    def get(self, request):
        data = self._report(request)
        body = {
            "refreshed_at": reporting_refreshed_at(),
            "kinds": [
                {"kind": k, "label": label, "audit_action": action, "volume": volume}
                for k, (label, action, volume) in KINDS.items()
            ],
            "totals": [_figure(r) for r in data.totals],
            "by_payer": [_figure(r) | {"payer": r.payer} for r in data.by_payer],
            "by_user": [_figure(r) | {"user": r.user} for r in data.by_user],
            "rows": [_figure(r) | {"user": r.user, "payer": r.payer} for r in data.rows],
        }
        return Response(OverrideReportSerializer(body).data)


class OverrideReportCsvView(_OverrideReportBase):
    """The same figures as CSV: each payer's row (empty user), then its users' rows."""

    @extend_schema(
        parameters=[OverrideReportQuerySerializer],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
        operation_id="reports_overrides_csv",
    )
    def get(self, request):
        return csv_response(
            "override-report.csv", report.CSV_HEADER, report.csv_rows(self._report(request))
        )


def _figure(r: report.OverrideRow) -> dict:
    return {
        "month": r.month,
        "kind": r.kind,
        "overrides": r.overrides,
        "volume": r.volume,
        "rate": r.rate,
    }
