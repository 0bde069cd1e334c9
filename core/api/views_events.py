"""API for the event feed, webhook endpoints and their deliveries.

`GET /api/events` is how a partner catches up on what its webhooks missed: events in sequence
order, `after_sequence=<the last one you have>`. Webhook endpoints and deliveries are managed
with `tenant.manage`; an endpoint's signing secret is in the create and rotate responses only.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core import webhooks
from core.api import serializers_events as ser
from core.api.filters import query_choice, query_data
from core.api.throttling import SettingRateThrottle
from core.api.views import TenantAPIView, TenantListAPIView
from core.event_feed import event_get, event_list
from core.events import event_types
from core.models import WebhookDelivery

DELIVERY_STATUSES = WebhookDelivery.Status.values


class WebhookTestThrottle(SettingRateThrottle):
    """Test sends make a real HTTP call: a few per minute per user (WEBHOOK_TEST_RATE)."""

    scope = "webhook-test"
    rate_setting = "WEBHOOK_TEST_RATE"
    default_rate = "30/min"

    def get_rate(self) -> str | None:
        return getattr(settings, self.rate_setting, self.default_rate) or None

    def get_cache_key(self, request, view) -> str | None:
        if request.method != "POST":
            return None
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user is not None and user.is_authenticated else None
        return self.cache_format % {"scope": self.scope, "ident": ident or self.get_ident(request)}


# --- the event feed ---------------------------------------------------------------------------


class EventListView(TenantListAPIView):
    """The tenant's events, oldest first (cursor pages); filter by type, time, after_sequence."""

    required_scopes = {"GET": S.EVENTS_READ}
    serializer_class = ser.EventSerializer
    filter_backends: list = []

    def get_queryset(self):
        form = ser.EventFilterSerializer(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        v = form.validated_data
        return event_list(
            self.actor,
            types=v.get("type", ()),
            since=v.get("since"),
            until=v.get("until"),
            after_sequence=v.get("after_sequence"),
        )

    def get_serializer_context(self):
        return super().get_serializer_context() | {"tenant_slug": self.actor.tenant.slug}

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "sequence"
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[ser.EventFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EventDetailView(TenantAPIView):
    """One event by its sequence number."""

    required_scopes = {"GET": S.EVENTS_READ}

    @extend_schema(responses=ser.EventSerializer)
    def get(self, request, sequence: int):
        event = event_get(self.actor, sequence)
        context = {"tenant_slug": self.actor.tenant.slug}
        return Response(ser.EventSerializer(event, context=context).data)


class EventTypeListView(TenantAPIView):
    """The event catalogue: every type with its description and a sample `data`."""

    required_scopes = {"GET": S.EVENTS_READ}

    @extend_schema(responses=ser.EventTypeSerializer(many=True))
    def get(self, request):
        rows = [
            {
                "name": et.name,
                "description": et.description,
                "object_type": et.object_type,
                "sample": et.sample,
            }
            for et in event_types()
        ]
        return Response(ser.EventTypeSerializer(rows, many=True).data)


# --- webhook endpoints ------------------------------------------------------------------------


def _secret_body(endpoint, secret: str) -> dict:
    return ser.WebhookEndpointSerializer(endpoint).data | {"secret": secret}


class WebhookEndpointListCreateView(TenantListAPIView):
    """The tenant's webhook endpoints; POST adds one (its secret is in that response only)."""

    required_scopes = {"GET": S.TENANT_MANAGE, "POST": S.TENANT_MANAGE}
    serializer_class = ser.WebhookEndpointListItemSerializer
    filter_backends: list = []

    def get_queryset(self):
        return webhooks.webhook_endpoint_list(self.actor).select_related("created_by")

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "id"
        return super().paginate_queryset(queryset)

    @extend_schema(
        request=ser.WebhookEndpointCreateSerializer,
        responses={201: ser.WebhookEndpointSecretSerializer},
    )
    def post(self, request):
        form = ser.WebhookEndpointCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        endpoint, secret = webhooks.webhook_endpoint_create(
            actor=self.actor,
            url=v["url"],
            event_types=v.get("event_types") or (),
            description=v.get("description", ""),
        )
        return Response(_secret_body(endpoint, secret), status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(TenantAPIView):
    """One webhook endpoint; PATCH changes its URL, event types or description; DELETE removes
    it with its delivery log."""

    required_scopes = {"GET": S.TENANT_MANAGE, "PATCH": S.TENANT_MANAGE, "DELETE": S.TENANT_MANAGE}

    @extend_schema(responses=ser.WebhookEndpointSerializer)
    def get(self, request, pk: int):
        endpoint = webhooks.webhook_endpoint_get(self.actor, pk)
        return Response(ser.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        request=ser.WebhookEndpointUpdateSerializer, responses=ser.WebhookEndpointSerializer
    )
    def patch(self, request, pk: int):
        webhooks.webhook_endpoint_get(self.actor, pk)  # 404 before validating the body
        form = ser.WebhookEndpointUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_endpoint_update(
            actor=self.actor, endpoint_id=pk, **form.validated_data
        )
        return Response(ser.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        webhooks.webhook_endpoint_delete(actor=self.actor, endpoint_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretRotateView(TenantAPIView):
    """A new signing secret (in this response only); the old one also signs for 24 hours."""

    required_scopes = {"POST": S.TENANT_MANAGE}

    @extend_schema(request=None, responses=ser.WebhookEndpointSecretSerializer)
    def post(self, request, pk: int):
        endpoint, secret = webhooks.webhook_secret_rotate(actor=self.actor, endpoint_id=pk)
        return Response(_secret_body(endpoint, secret))


class WebhookEnableView(TenantAPIView):
    """Turn an endpoint back on: its pending deliveries resume with a fresh 24 h retry window."""

    required_scopes = {"POST": S.TENANT_MANAGE}

    @extend_schema(request=None, responses=ser.WebhookEndpointSerializer)
    def post(self, request, pk: int):
        endpoint = webhooks.webhook_endpoint_set_active(
            actor=self.actor, endpoint_id=pk, active=True
        )
        return Response(ser.WebhookEndpointSerializer(endpoint).data)


class WebhookDisableView(TenantAPIView):
    """Stop sending to an endpoint (its deliveries wait); an optional reason is recorded."""

    required_scopes = {"POST": S.TENANT_MANAGE}

    @extend_schema(request=ser.WebhookDisableSerializer, responses=ser.WebhookEndpointSerializer)
    def post(self, request, pk: int):
        webhooks.webhook_endpoint_get(self.actor, pk)
        form = ser.WebhookDisableSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_endpoint_set_active(
            actor=self.actor,
            endpoint_id=pk,
            active=False,
            reason=form.validated_data["reason"],
        )
        return Response(ser.WebhookEndpointSerializer(endpoint).data)


def _delivery_detail(actor, pk: int):
    delivery = webhooks.webhook_delivery_get(actor, pk)
    return ser.WebhookDeliveryDetailSerializer(delivery).data


class WebhookTestView(TenantAPIView):
    """Send a `webhook.test` message now (one attempt); answers the delivery with its attempt."""

    required_scopes = {"POST": S.TENANT_MANAGE}
    throttle_classes = [WebhookTestThrottle]

    @extend_schema(request=None, responses={201: ser.WebhookDeliveryDetailSerializer})
    def post(self, request, pk: int):
        delivery = webhooks.webhook_send_test(actor=self.actor, endpoint_id=pk)
        return Response(_delivery_detail(self.actor, delivery.pk), status=status.HTTP_201_CREATED)


class WebhookDeliveryListView(TenantListAPIView):
    """An endpoint's deliveries, newest first; filter `status`."""

    required_scopes = {"GET": S.TENANT_MANAGE}
    serializer_class = ser.WebhookDeliverySerializer
    filter_backends: list = []

    def get_queryset(self):
        pk = self.kwargs["pk"]
        webhooks.webhook_endpoint_get(self.actor, pk)
        return webhooks.webhook_delivery_list(
            self.actor,
            endpoint_id=pk,
            status=query_choice(self.request.query_params, "status", DELIVERY_STATUSES),
        ).select_related("event", "requested_by")

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-id"
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=DELIVERY_STATUSES)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WebhookDeliveryDetailView(TenantAPIView):
    """One delivery with every attempt (status, duration, the first 1 KB of the response)."""

    required_scopes = {"GET": S.TENANT_MANAGE}

    @extend_schema(responses=ser.WebhookDeliveryDetailSerializer)
    def get(self, request, pk: int):
        return Response(_delivery_detail(self.actor, pk))


class WebhookDeliveryReplayView(TenantAPIView):
    """Send a delivery's message again: a new REPLAY delivery, queued behind pending ones."""

    required_scopes = {"POST": S.TENANT_MANAGE}

    @extend_schema(
        request=None,
        responses={201: OpenApiResponse(ser.WebhookDeliveryDetailSerializer)},
    )
    def post(self, request, pk: int):
        delivery = webhooks.webhook_delivery_replay(actor=self.actor, delivery_id=pk)
        return Response(_delivery_detail(self.actor, delivery.pk), status=status.HTTP_201_CREATED)
