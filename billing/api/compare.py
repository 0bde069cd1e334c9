"""Billing API: compare a run with another run of its month (totals, matrix, changes, CSV)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing import comparison, diff, selectors
from billing.services import compare as compare_services
from core import scopes as S
from core.api.fields import id_field
from core.api.views import TenantAPIView
from core.listexport import csv_response

# --- input ---------------------------------------------------------------------------------


class CompareQuerySerializer(serializers.Serializer):
    """?with= (required), kind=, from=, to= (filters), cursor=, page_size= (1-1000)."""

    kind = serializers.ChoiceField(choices=diff.KINDS, required=False, allow_blank=True)
    cursor = serializers.CharField(required=False, allow_blank=True)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)

    def get_fields(self):
        fields = super().get_fields()
        fields["with"] = id_field(help_text="id of the run to compare with (the baseline, 'b')")
        for name in ("from", "to"):
            fields[name] = serializers.ChoiceField(
                choices=comparison.CLASS_ORDER, required=False, allow_blank=True
            )
        return fields


# --- output --------------------------------------------------------------------------------


class SideSerializer(serializers.Serializer):
    decision = serializers.IntegerField(source="decision_id")
    decision_class = serializers.CharField()
    billable = serializers.BooleanField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class ChangeSerializer(serializers.Serializer):
    """One payer x member x month whose class or amount differs between the runs."""

    payer = serializers.CharField(source="any.payer_code")
    member = serializers.CharField(source="any.member_external_id")
    month = serializers.DateField(source="any.month", format="%Y-%m")
    change = serializers.CharField(source="kind")
    old = SideSerializer(allow_null=True, help_text="decision in run 'with' (null: none)")
    new = SideSerializer(allow_null=True, help_text="decision in this run (null: none)")
    delta = serializers.DecimalField(max_digits=14, decimal_places=2)


class TrioSerializer(serializers.Serializer):
    a = serializers.CharField(help_text="this run")
    b = serializers.CharField(help_text="the run compared with")
    delta = serializers.CharField(help_text="a - b")


class ChangesPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    results = ChangeSerializer(many=True)


class ComparisonSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    month = serializers.CharField()
    payers = serializers.ListField(child=serializers.CharField())
    members = TrioSerializer()
    billable_members = TrioSerializer()
    total_charge = TrioSerializer()
    changed = serializers.IntegerField()
    by_kind = serializers.DictField(child=serializers.IntegerField())
    by_transition = serializers.DictField(child=serializers.IntegerField())
    matrix = serializers.DictField(help_text="rows (old class) x columns (new class): counts")
    changes = ChangesPageSerializer()

    def get_fields(self):
        fields = super().get_fields()
        fields["with"] = serializers.IntegerField()
        return fields


# --- views ---------------------------------------------------------------------------------

PARAMS = [
    OpenApiParameter("with", int, required=True, description="id of the run to compare with"),
    OpenApiParameter("kind", str, enum=list(diff.KINDS)),
    OpenApiParameter("from", str, description="class in run 'with' (or ABSENT)"),
    OpenApiParameter("to", str, description="class in this run (or ABSENT)"),
]
PAGING = [OpenApiParameter("cursor", str), OpenApiParameter("page_size", int)]


class _CompareView(TenantAPIView):
    required_scopes = {"GET": S.BILLING_RUN_VIEW}

    def _inputs(self, pk: int):
        run = selectors.run_get(self.actor, pk)
        query = self.request.query_params
        pair = comparison.comparison_pair(self.actor, run, query.get("with"))
        form = CompareQuerySerializer(data=query)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        filters = comparison.clean_filters(v.get("kind", ""), v.get("from", ""), v.get("to", ""))
        return pair, filters, v

    def _page(self, pair, filters, v) -> dict:
        after = comparison.cursor_decode(v.get("cursor", ""))
        changes, last = comparison.changes_page(
            self.actor, pair, filters=filters, after=after, size=v["page_size"]
        )
        next_url = None
        if last is not None:
            params = self.request.query_params.copy()
            params["cursor"] = comparison.cursor_encode(last)
            path = f"/api/billing/runs/{pair.run.pk}/compare/changes"
            next_url = self.request.build_absolute_uri(f"{path}?{params.urlencode()}")
        return {"next": next_url, "results": ChangeSerializer(changes, many=True).data}


class RunCompareView(_CompareView):
    """Totals of both runs and their difference, the class-transition matrix, the first page of
    changed member-months (`changes.next` continues at /compare/changes)."""

    @extend_schema(parameters=PARAMS + PAGING[1:], responses=ComparisonSerializer)
    def get(self, request, pk: int):
        pair, filters, v = self._inputs(pk)
        tally, _ = comparison.comparison_scan(self.actor, pair)
        body = comparison.comparison_summary(tally, pair)
        body["changes"] = self._page(pair, filters, {**v, "cursor": ""})
        return Response(body)


class RunCompareChangesView(_CompareView):
    """The changed member-months, in (payer, member, month) order, cursor pages."""

    @extend_schema(parameters=PARAMS + PAGING, responses=ChangesPageSerializer)
    def get(self, request, pk: int):
        pair, filters, v = self._inputs(pk)
        return Response(self._page(pair, filters, v))


class RunCompareExportView(_CompareView):
    """The changed member-months as CSV (filters apply), streamed; the download is audited."""

    @extend_schema(
        parameters=PARAMS, responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)}
    )
    def get(self, request, pk: int):
        pair, filters, _ = self._inputs(pk)
        header, rows = compare_services.comparison_export_rows(
            actor=self.actor, pair=pair, filters=filters
        )
        return csv_response(compare_services.comparison_filename(pair), header, rows)
