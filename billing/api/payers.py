"""Billing API: payers (list, create, change)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from billing import selectors
from billing.models import Payer
from billing.services import payers as payer_services
from core import scopes as S
from core.api.fields import StrictBooleanField
from core.api.views import TenantAPIView, TenantListAPIView
from core.exceptions import NotFound


class PayerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payer
        fields = ["id", "code", "name", "active", "timely_filing_days"]
        read_only_fields = fields


class PayerCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200)
    active = StrictBooleanField(default=True)
    timely_filing_days = serializers.IntegerField(default=365, min_value=1, max_value=3650)


class PayerUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    active = StrictBooleanField(required=False)
    timely_filing_days = serializers.IntegerField(required=False, min_value=1, max_value=3650)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {k: ["cannot be changed (only name, active, timely_filing_days)"] for k in unknown}
            )
        return attrs


class PayerListCreateView(TenantListAPIView):
    """The payers the member may see; POST creates one."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW, "POST": S.BILLING_RULES_MANAGE}
    serializer_class = PayerSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.visible_payers(self.actor)

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "id"
        return super().paginate_queryset(queryset)

    @extend_schema(request=PayerCreateSerializer, responses={201: PayerSerializer})
    def post(self, request):
        form = PayerCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        payer = payer_services.payer_create(actor=self.actor, **form.validated_data)
        return Response(PayerSerializer(payer).data, status=status.HTTP_201_CREATED)


class PayerDetailView(TenantAPIView):
    """One payer; PATCH changes its name, active flag or timely filing days."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW, "PATCH": S.BILLING_RULES_MANAGE}

    def _payer(self, pk: int) -> Payer:
        payer = selectors.visible_payers(self.actor).filter(pk=pk).first()
        if payer is None:
            raise NotFound(f"Payer {pk} does not exist.")
        return payer

    @extend_schema(responses=PayerSerializer)
    def get(self, request, pk: int):
        return Response(PayerSerializer(self._payer(pk)).data)

    @extend_schema(request=PayerUpdateSerializer, responses=PayerSerializer)
    def patch(self, request, pk: int):
        self._payer(pk)
        form = PayerUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        payer = payer_services.payer_update(actor=self.actor, payer_id=pk, **form.validated_data)
        return Response(PayerSerializer(payer).data)
