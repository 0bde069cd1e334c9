"""Jobs and reports API (issue 13 items 9-11): thin views over denials.services.jobs/reporting.

Reads need claims.view (every role), running jobs claims.write. Report rows are narrowed by the
member's payer grants.
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from core import scopes as S
from core.api.filters import query_data
from core.api.views import TenantAPIView, TenantListAPIView
from denials.api import serializers_jobs as ser
from denials.models import JobRun
from denials.services import reporting
from denials.services.jobs import jobs_run_nightly


class JobRunListView(TenantListAPIView):
    """Nightly job runs of the tenant, newest first (filter job, status)."""

    required_scopes = {"GET": S.CLAIMS_VIEW}
    serializer_class = ser.JobRunSerializer
    filter_backends: list = []

    def get_queryset(self):
        self.actor.require(S.CLAIMS_VIEW)
        form = ser.JobRunFilterSerializer(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        qs = JobRun.objects.filter(tenant=self.actor.tenant)
        if form.validated_data.get("job"):
            qs = qs.filter(job=form.validated_data["job"])
        if form.validated_data.get("status"):
            qs = qs.filter(status=form.validated_data["status"])
        return qs

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-pk"
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[ser.JobRunFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class JobRunView(TenantAPIView):
    """Run the nightly jobs now (all, or one), as of a day; answers with each run (409 when the
    jobs are disabled)."""

    required_scopes = {"POST": S.CLAIMS_WRITE}

    @extend_schema(request=ser.JobRunRequestSerializer, responses=ser.JobRunsSerializer)
    def post(self, request):
        form = ser.JobRunRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        runs = jobs_run_nightly(
            tenant=self.actor.tenant,
            job=form.validated_data.get("job"),
            today=form.validated_data.get("today"),
            actor=self.actor,
        )
        return Response(ser.JobRunsSerializer({"runs": runs}).data)


class ReconciliationView(TenantAPIView):
    """Claim reconciliation by payer and service month: billed, paid, adjusted, patient
    responsibility, written off and open, from the last refresh of the reporting views."""

    required_scopes = {"GET": S.CLAIMS_VIEW}

    @extend_schema(parameters=[ser.ReconFilterSerializer], responses=ser.ReconciliationSerializer)
    def get(self, request):
        form = ser.ReconFilterSerializer(data=query_data(request.query_params))
        form.is_valid(raise_exception=True)
        v = form.validated_data
        rows = reporting.reconciliation(
            self.actor,
            payer=v.get("payer", ""),
            month_from=v.get("month_from"),
            month_to=v.get("month_to"),
        )
        data = {
            "refreshed_at": reporting.reporting_refreshed_at(),
            "rows": [r.__dict__ for r in rows],
            "totals": reporting.reconciliation_totals(rows),
        }
        return Response(ser.ReconciliationSerializer(data).data)


def aging_data(rows: list, as_of) -> dict:
    """The aging rows as the API and the screen show them (a list of buckets per payer)."""
    labels = [label for label, _, _ in reporting.AGING_BUCKETS]
    totals = {label: [Decimal("0.00"), 0] for label in labels}
    out = []
    for r in rows:
        buckets = []
        for label in labels:
            buckets.append({"bucket": label, "amount": r.buckets[label], "claims": r.claims[label]})
            totals[label][0] += r.buckets[label]
            totals[label][1] += r.claims[label]
        out.append(
            {"payer": r.payer, "payer_name": r.payer_name, "buckets": buckets, "total": r.total}
        )
    return {
        "as_of": as_of,
        "refreshed_at": reporting.reporting_refreshed_at(),
        "rows": out,
        "totals": [{"bucket": k, "amount": a, "claims": n} for k, (a, n) in totals.items()],
    }


class AgingView(TenantAPIView):
    """Open receivables per payer in age buckets (days since the claim went to the payer)."""

    required_scopes = {"GET": S.CLAIMS_VIEW}

    @extend_schema(parameters=[ser.AgingFilterSerializer], responses=ser.AgingSerializer)
    def get(self, request):
        from django.utils import timezone

        form = ser.AgingFilterSerializer(data=query_data(request.query_params))
        form.is_valid(raise_exception=True)
        as_of = form.validated_data.get("as_of") or timezone.localdate()
        rows = reporting.aging(self.actor, as_of=as_of, payer=form.validated_data.get("payer", ""))
        return Response(ser.AgingSerializer(aging_data(rows, as_of)).data)
