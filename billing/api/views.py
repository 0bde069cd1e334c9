"""Billing API: rule versions, overrides, runs, decisions, replay, exports (see exceptions.py)."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from billing import selectors
from billing.api import serializers as ser
from billing.models import BillingRun
from billing.services import exports, overrides, replay, rules, runs
from core import scopes as S
from core.api.fields import month_query_param
from core.api.filters import query_choice, query_data
from core.api.views import TenantAPIView, TenantListAPIView
from core.exceptions import NotFound
from core.transitions import state_reload


class RuleVersionListCreateView(TenantListAPIView):
    """Rule versions (filter `payer`); create a DRAFT."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW, "POST": S.BILLING_RULES_MANAGE}
    serializer_class = ser.RuleVersionSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.rule_version_list(
            self.actor, payer=self.request.query_params.get("payer", "")
        )

    @extend_schema(parameters=[OpenApiParameter("payer", str)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ser.RuleVersionCreateSerializer, responses={201: ser.RuleVersionSerializer}
    )
    def post(self, request):
        form = ser.RuleVersionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        payer = selectors.visible_payers(self.actor).filter(code=v["payer"].upper()).first()
        if payer is None:
            raise NotFound(f"payer: no payer with code '{v['payer']}'.")
        rv = rules.rule_version_create(
            actor=self.actor,
            payer=payer,
            version=v["version"],
            effective_from=v["effective_from"],
            params=v["params"],
        )
        return Response(ser.RuleVersionSerializer(rv).data, status=status.HTTP_201_CREATED)


class RuleVersionDetailView(TenantAPIView):
    """One rule version; PATCH changes a DRAFT's params."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW, "PATCH": S.BILLING_RULES_MANAGE}

    @extend_schema(responses=ser.RuleVersionSerializer)
    def get(self, request, pk: int):
        return Response(ser.RuleVersionSerializer(selectors.rule_version_get(self.actor, pk)).data)

    @extend_schema(request=ser.RuleVersionUpdateSerializer, responses=ser.RuleVersionSerializer)
    def patch(self, request, pk: int):
        selectors.rule_version_get(self.actor, pk)
        form = ser.RuleVersionUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        rv = rules.rule_version_update(actor=self.actor, rule_version_id=pk, **form.validated_data)
        return Response(ser.RuleVersionSerializer(rv).data)


class RuleVersionTransitionView(TenantAPIView):
    """Activate (DRAFT -> ACTIVE) or retire (ACTIVE -> RETIRED) a rule version."""

    required_scopes = {"POST": S.BILLING_RULES_MANAGE}
    action_name = "activate"

    @extend_schema(request=None, responses=ser.RuleVersionSerializer)
    def post(self, request, pk: int):
        selectors.rule_version_get(self.actor, pk)
        fn = (
            rules.rule_version_activate
            if self.action_name == "activate"
            else rules.rule_version_retire
        )
        return Response(ser.RuleVersionSerializer(fn(actor=self.actor, rule_version_id=pk)).data)


class OverrideListCreateView(TenantListAPIView):
    """Member-month overrides; POST files one (201 applied, 202 waiting for a second person)."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW, "POST": S.BILLING_OVERRIDE_CREATE}
    serializer_class = ser.OverrideSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.override_list(self.actor)

    @extend_schema(
        request=ser.OverrideCreateSerializer,
        responses={201: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        form = ser.OverrideCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        outcome = overrides.member_month_override_request(
            actor=self.actor,
            payer_code=v["payer"],
            member_external_id=v["member"],
            month=v["month"],
            outcome=v["outcome"],
            rate=v.get("rate"),
            reason=v["reason"],
        )
        if outcome.executed:
            from billing.models import MemberMonthOverride

            override = MemberMonthOverride.objects.get(pk=outcome.result["override"])
            body = {"executed": True, "override": ser.OverrideSerializer(override).data}
            return Response(body, status=status.HTTP_201_CREATED)
        body = {
            "executed": False,
            "override_request": outcome.request.pk,
            "message": "This override needs a second person's approval; it waits in the queue.",
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class RunListCreateView(TenantListAPIView):
    """Runs (filter month=YYYY-MM, payer, status, mode); POST triggers one."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW, "POST": S.BILLING_RUN_TRIGGER}
    serializer_class = ser.RunSerializer
    filter_backends: list = []

    def get_queryset(self):
        q = self.request.query_params
        month = month_query_param(q)
        return selectors.run_list(
            self.actor,
            month=month,
            payer=q.get("payer", ""),
            status=query_choice(q, "status", BillingRun.Status.values),
            mode=query_choice(q, "mode", BillingRun.Mode.values),
        ).prefetch_related("run_payers__payer")

    @extend_schema(
        parameters=[
            ser.MonthFilterSerializer,
            OpenApiParameter("payer", str),
            OpenApiParameter("status", str, enum=BillingRun.Status.values),
            OpenApiParameter("mode", str, enum=BillingRun.Mode.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ser.RunTriggerSerializer, responses={201: ser.RunSerializer})
    def post(self, request):
        form = ser.RunTriggerSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        run = runs.billing_run_trigger(
            actor=self.actor, month=v["month"], payers=v["payers"], mode=v["mode"]
        )
        state_reload(run)
        return Response(
            ser.RunSerializer(run, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class RunDetailView(TenantAPIView):
    """A run: status, live progress and (once finished) its summary."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW}

    @extend_schema(responses=ser.RunDetailSerializer)
    def get(self, request, pk: int):
        run = selectors.run_get(self.actor, pk)
        return Response(ser.RunDetailSerializer(run, context={"request": request}).data)


class RunRegenerateView(TenantAPIView):
    """A new version of a completed production run (reason required)."""

    required_scopes = {"POST": S.BILLING_RUN_TRIGGER}

    @extend_schema(request=ser.ReasonSerializer, responses={201: ser.RunSerializer})
    def post(self, request, pk: int):
        selectors.run_get(self.actor, pk)
        form = ser.ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run = runs.billing_run_regenerate(
            actor=self.actor, run_id=pk, reason=form.validated_data["reason"]
        )
        state_reload(run)
        return Response(
            ser.RunSerializer(run, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class RunCancelView(TenantAPIView):
    """Cancel a queued or running run."""

    required_scopes = {"POST": S.BILLING_RUN_TRIGGER}

    @extend_schema(request=ser.ReasonSerializer, responses=ser.RunSerializer)
    def post(self, request, pk: int):
        selectors.run_get(self.actor, pk)
        form = ser.ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run = runs.billing_run_cancel(
            actor=self.actor, run_id=pk, reason=form.validated_data["reason"]
        )
        return Response(ser.RunSerializer(run, context={"request": request}).data)


class DecisionListView(TenantListAPIView):
    """A run's decisions (filter decision_class, payer, member), cursor pages."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW}
    serializer_class = ser.DecisionSerializer
    filter_backends: list = []

    def get_queryset(self):
        run = selectors.run_get(self.actor, self.kwargs["pk"])
        form = ser.DecisionFilterSerializer(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        return selectors.decision_list_read(self.actor, run, **form.validated_data).values(
            *ser.DECISION_VALUES
        )

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "id"
        return super().paginate_queryset(queryset)

    def list(self, request, *args, **kwargs):
        # DecisionSerializer's shape (the schema's) built from values: no model instance per row
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ser.decision_rows(page))

    @extend_schema(parameters=[ser.DecisionFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DecisionDetailView(TenantAPIView):
    """One decision with every input it used."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW}

    @extend_schema(responses=ser.DecisionDetailSerializer)
    def get(self, request, pk: int):
        return Response(ser.DecisionDetailSerializer(selectors.decision_read(self.actor, pk)).data)


class DecisionReplayView(TenantAPIView):
    """Re-evaluate one decision under another rule version of its payer (audited)."""

    required_scopes = {"POST": S.BILLING_DECISION_REPLAY}

    @extend_schema(request=ser.ReplaySerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        form = ser.ReplaySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = replay.decision_replay(
            actor=self.actor, decision_id=pk, rule_version=form.validated_data["rule_version"]
        )
        return Response(result)


class RunExportView(TenantAPIView):
    """roster.csv (billable decisions and a footer) or decisions.csv, streamed.

    A simulation has no roster (409); its decisions CSV is named and marked as a simulation.
    """

    required_scopes = {"GET": S.BILLING_RUN_VIEW}
    kind = "roster"

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            409: OpenApiResponse(description="not finished, or the roster of a simulation"),
        }
    )
    def get(self, request, pk: int):
        run = selectors.run_get(self.actor, pk)
        lines = exports.export_lines(actor=self.actor, run=run, kind=self.kind)
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        name = exports.export_filename(run, self.kind)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
