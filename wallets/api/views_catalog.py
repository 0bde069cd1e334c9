"""Subscriptions, services and usage API for partner systems: thin views over the catalog.

Reads need `wallets.view`; writes `wallets.run.trigger` (checked again in the services).
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.views import TenantAPIView, TenantListAPIView
from wallets import selectors
from wallets.api import serializers_catalog as ser
from wallets.api.common import OldestFirst, query_filters
from wallets.services import catalog, pricing

VIEW, WRITE = S.WALLETS_VIEW, S.WALLETS_RUN_TRIGGER


class SubscriptionListCreateView(OldestFirst, TenantListAPIView):
    """Subscriptions (filter `account` number), in id order; POST creates one."""

    required_scopes = {"GET": VIEW, "POST": WRITE}
    serializer_class = ser.PrepaidSubscriptionOut
    filter_backends: list = []

    def get_queryset(self):
        f = query_filters(self.request, ser.PrepaidSubscriptionFilterIn)
        return selectors.subscription_list(
            actor=self.actor, account=f.get("account", "")
        ).select_related("account")

    @extend_schema(
        operation_id="prepaid_subscriptions_list", parameters=[ser.PrepaidSubscriptionFilterIn]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="prepaid_subscriptions_create",
        request=ser.PrepaidSubscriptionIn,
        responses={201: ser.PrepaidSubscriptionOut},
    )
    def post(self, request):
        form = ser.PrepaidSubscriptionIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        sub = catalog.subscription_create(
            actor=self.actor, account_number=v["account"], external_id=v["external_id"]
        )
        return Response(ser.PrepaidSubscriptionOut(sub).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(TenantAPIView):
    """A subscription and its services; PATCH moves it to another account (one with a wallet)."""

    required_scopes = {"GET": VIEW, "PATCH": WRITE}

    @extend_schema(
        operation_id="prepaid_subscriptions_retrieve", responses=ser.PrepaidSubscriptionDetailOut
    )
    def get(self, request, pk: int):
        sub = selectors.subscription_get(actor=self.actor, pk=pk)
        return Response(ser.PrepaidSubscriptionDetailOut(sub).data)

    @extend_schema(
        operation_id="prepaid_subscriptions_partial_update",
        request=ser.PrepaidSubscriptionUpdateIn,
        responses=ser.PrepaidSubscriptionDetailOut,
    )
    def patch(self, request, pk: int):
        form = ser.PrepaidSubscriptionUpdateIn(data=request.data)
        form.is_valid(raise_exception=True)
        catalog.subscription_update(
            actor=self.actor,
            subscription_id=pk,
            account_number=form.validated_data.get("account"),
        )
        sub = selectors.subscription_get(actor=self.actor, pk=pk)
        return Response(ser.PrepaidSubscriptionDetailOut(sub).data)


class ServiceListCreateView(OldestFirst, TenantListAPIView):
    """Services (filter `account_id`, `subscription_id`), in id order; POST creates one."""

    required_scopes = {"GET": VIEW, "POST": WRITE}
    serializer_class = ser.PrepaidServiceOut
    filter_backends: list = []

    def get_queryset(self):
        f = query_filters(self.request, ser.PrepaidServiceFilterIn)
        return selectors.service_list(
            actor=self.actor,
            account_id=f.get("account_id"),
            subscription_id=f.get("subscription_id"),
        )

    @extend_schema(operation_id="prepaid_services_list", parameters=[ser.PrepaidServiceFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="prepaid_services_create",
        request=ser.PrepaidServiceIn,
        responses={201: ser.PrepaidServiceOut},
    )
    def post(self, request):
        form = ser.PrepaidServiceIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        svc = catalog.service_create(
            actor=self.actor,
            subscription_external_id=v["subscription_external_id"],
            external_id=v["external_id"],
            product=v["product"],
            price_per_period=v["price_per_period"],
            period_days=v["period_days"],
            rating=v["rating"],
            rated_up_to=v["rated_up_to"],
            periods=[dict(p) for p in v.get("periods", [])],
        )
        return Response(ser.PrepaidServiceOut(svc).data, status=status.HTTP_201_CREATED)


class ServiceDetailView(TenantAPIView):
    """A service with its state periods; PATCH changes its price, period or product (what was
    already rated keeps its price)."""

    required_scopes = {"GET": VIEW, "PATCH": WRITE}

    @extend_schema(operation_id="prepaid_services_retrieve", responses=ser.PrepaidServiceOut)
    def get(self, request, pk: int):
        return Response(ser.PrepaidServiceOut(selectors.service_get(actor=self.actor, pk=pk)).data)

    @extend_schema(
        operation_id="prepaid_services_partial_update",
        request=ser.PrepaidServiceUpdateIn,
        responses=ser.PrepaidServiceOut,
    )
    def patch(self, request, pk: int):
        form = ser.PrepaidServiceUpdateIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = dict(form.validated_data)
        binding = v.pop("binding_end", ...)
        with transaction.atomic():  # both changes or neither
            svc = catalog.service_update(actor=self.actor, service_id=pk, **v)
            if binding is not ...:
                svc = pricing.service_binding_update(
                    actor=self.actor, service=svc, binding_end=binding
                )
        return Response(ser.PrepaidServiceOut(svc).data)


class ServicePeriodCreateView(TenantAPIView):
    """Add a state period to a service (closes the open one at its start): 201 with the
    service and its periods."""

    required_scopes = {"POST": WRITE}

    @extend_schema(
        operation_id="prepaid_services_periods_create",
        request=ser.PrepaidPeriod,
        responses={201: ser.PrepaidServiceOut},
    )
    def post(self, request, pk: int):
        form = ser.PrepaidPeriod(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        period = catalog.service_period_add(
            actor=self.actor, service_id=pk, state=v["state"], start=v["start"], end=v["end"]
        )
        body = ser.PrepaidServiceOut(period.service).data
        return Response(body, status=status.HTTP_201_CREATED)


class UsageListCreateView(TenantListAPIView):
    """Usage records (filter `service`, `state`), newest first, cursor pages; POST posts one."""

    required_scopes = {"GET": VIEW, "POST": WRITE}
    serializer_class = ser.PrepaidUsageOut
    filter_backends: list = []

    def get_queryset(self):
        f = query_filters(self.request, ser.PrepaidUsageFilterIn)
        return selectors.usage_list(
            actor=self.actor, service_id=f.get("service"), state=f.get("state", "")
        ).select_related("service")

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-pk"
        return super().paginate_queryset(queryset)

    @extend_schema(operation_id="prepaid_usage_list", parameters=[ser.PrepaidUsageFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="prepaid_usage_create",
        request=ser.PrepaidUsageIn,
        responses={201: ser.PrepaidUsageOut},
    )
    def post(self, request):
        form = ser.PrepaidUsageIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        record = catalog.usage_create(
            actor=self.actor,
            service_id=v["service"],
            amount=v["amount"],
            directive=v["directive"],
            billing_effective_date=v["billing_effective_date"],
            external_id=v["external_id"],
        )
        return Response(ser.PrepaidUsageOut(record).data, status=status.HTTP_201_CREATED)


class UsageDetailView(TenantAPIView):
    """A usage record; PATCH changes it while it is still POSTED (409 once rated)."""

    required_scopes = {"GET": VIEW, "PATCH": WRITE}

    @extend_schema(operation_id="prepaid_usage_retrieve", responses=ser.PrepaidUsageOut)
    def get(self, request, pk: int):
        return Response(ser.PrepaidUsageOut(selectors.usage_get(actor=self.actor, pk=pk)).data)

    @extend_schema(
        operation_id="prepaid_usage_partial_update",
        request=ser.PrepaidUsageUpdateIn,
        responses=ser.PrepaidUsageOut,
    )
    def patch(self, request, pk: int):
        form = ser.PrepaidUsageUpdateIn(data=request.data)
        form.is_valid(raise_exception=True)
        record = catalog.usage_update(actor=self.actor, usage_id=pk, **form.validated_data)
        return Response(ser.PrepaidUsageOut(record).data)
