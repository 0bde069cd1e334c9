"""Billing API: month closes (list, close, reopen)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from billing.models import MonthClose
from billing.selectors_close import month_close_get, month_close_list
from billing.services import closes
from core import scopes as S
from core.api.fields import MonthField, bounded_integer, id_field
from core.api.filters import query_data
from core.api.views import TenantAPIView, TenantListAPIView


class MonthCloseSerializer(serializers.ModelSerializer):
    payer = serializers.CharField(source="payer.code")
    month = MonthField()
    run_version = serializers.IntegerField(source="run.version")
    closed_by = serializers.CharField(source="closed_by.username", default=None, allow_null=True)
    reopened_by = serializers.CharField(
        source="reopened_by.username", default=None, allow_null=True
    )
    reopen_approved_by = serializers.CharField(
        source="reopen_approved_by.username", default=None, allow_null=True
    )

    class Meta:
        model = MonthClose
        fields = [
            "id",
            "payer",
            "month",
            "status",
            "run",
            "run_version",
            "closed_by",
            "closed_at",
            "note",
            "members",
            "amount",
            "open_exceptions",
            "reopened_by",
            "reopen_approved_by",
            "reopened_at",
            "reopen_reason",
        ]
        read_only_fields = fields


class MonthCloseCreateSerializer(serializers.Serializer):
    payer = serializers.CharField()
    month = MonthField()
    note = serializers.CharField(required=False, allow_blank=True, default="")
    run = id_field(
        required=False, help_text="the run reviewed; refused unless it is the authoritative one"
    )
    confirm_open_exceptions = bounded_integer(
        "int8",
        required=False,
        min_value=0,
        help_text="the number of open exceptions you accept closing with (must match)",
    )


class MonthReopenSerializer(serializers.Serializer):
    reason = serializers.CharField()


class MonthCloseFilterSerializer(serializers.Serializer):
    payer = serializers.CharField(required=False)
    month = MonthField(required=False)
    status = serializers.ChoiceField(MonthClose.Status.choices, required=False)


class MonthCloseListCreateView(TenantListAPIView):
    """Month closes (filter payer, month=YYYY-MM, status); POST closes a payer's month."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW, "POST": S.BILLING_RUN_TRIGGER}
    serializer_class = MonthCloseSerializer
    filter_backends: list = []

    def get_queryset(self):
        form = MonthCloseFilterSerializer(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        return month_close_list(self.actor, **form.validated_data)

    @extend_schema(parameters=[MonthCloseFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=MonthCloseCreateSerializer, responses={201: MonthCloseSerializer})
    def post(self, request):
        form = MonthCloseCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        close = closes.month_close(
            actor=self.actor,
            payer_code=v["payer"],
            month=v["month"],
            note=v["note"],
            run_id=v.get("run"),
            confirm_open_exceptions=v.get("confirm_open_exceptions"),
        )
        close = month_close_get(self.actor, close.pk)
        return Response(MonthCloseSerializer(close).data, status=status.HTTP_201_CREATED)


class MonthReopenView(TenantAPIView):
    """Reopen a closed month (reason required): 200 done, 202 waiting for a second person."""

    required_scopes = {"POST": S.BILLING_RUN_TRIGGER}

    @extend_schema(
        request=MonthReopenSerializer,
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT},
    )
    def post(self, request, pk: int):
        month_close_get(self.actor, pk)
        form = MonthReopenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        outcome = closes.month_reopen(
            actor=self.actor, close_id=pk, reason=form.validated_data["reason"]
        )
        if outcome.executed:
            close = month_close_get(self.actor, pk)
            return Response({"executed": True, "month_close": MonthCloseSerializer(close).data})
        body = {
            "executed": False,
            "override_request": outcome.request.pk,
            "message": "Reopening this month needs a second person's approval; it waits in the "
            "queue.",
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)
