"""The events feed and the webhook endpoints/deliveries API in the permission matrix."""

from __future__ import annotations

from django.db.models import Max

from core import scopes as S
from core.models import Event, WebhookDelivery, WebhookEndpoint
from core.webhooks import webhook_endpoint_create
from tests.permissions import Endpoint, register

# a literal public address: checked without a DNS look-up, and never called by these requests
PUBLIC_URL = "https://93.184.216.34/matrix-hook"


def _event(world) -> dict:
    """An event of tenant A (written directly: the feed reads rows, whatever their type)."""
    last = Event.objects.filter(tenant=world.tenant).aggregate(m=Max("sequence"))["m"] or 0
    event = Event.objects.create(
        tenant=world.tenant,
        sequence=last + 1,
        type="matrix.thing.changed",
        object_type="matrix.Thing",
        object_id="1",
        payload={"marker": "alpha-matrix-event"},
    )
    return {"sequence": event.sequence}


def _endpoint(world) -> dict:
    endpoint, _secret = webhook_endpoint_create(
        actor=world.actor(S.Role.OWNER), url=PUBLIC_URL, description="alpha-matrix-endpoint"
    )
    return {"endpoint": endpoint.pk}


def _loopback_endpoint(world) -> dict:
    """An endpoint the test send refuses to call without DEBUG (no network in the matrix)."""
    ctx = _endpoint(world)
    WebhookEndpoint.objects.filter(pk=ctx["endpoint"]).update(url="http://127.0.0.1:9/matrix")
    return ctx


def _delivery(world) -> dict:
    ctx = _endpoint(world)
    delivery = WebhookDelivery.objects.create(
        tenant=world.tenant,
        endpoint_id=ctx["endpoint"],
        kind=WebhookDelivery.Kind.TEST,
        event_type="webhook.test",
        test_payload={"id": "msg_alpha_matrix", "type": "webhook.test", "data": {}},
        status=WebhookDelivery.Status.DELIVERED,
    )
    return ctx | {"delivery": delivery.pk}


_ep = lambda c: f"/api/webhooks/endpoints/{c['endpoint']}"  # noqa: E731
M = S.TENANT_MANAGE

register(
    Endpoint(
        "api events",
        "GET",
        lambda c: "/api/events",
        S.EVENTS_READ,
        setup=_event,
        marker=lambda c: "alpha-matrix-event",
    ),
    Endpoint(
        "api event",
        "GET",
        lambda c: f"/api/events/{c['sequence']}",
        S.EVENTS_READ,
        setup=_event,
        object_of_tenant=True,
    ),
    Endpoint("api event types", "GET", lambda c: "/api/events/types", S.EVENTS_READ),
    Endpoint(
        "api webhook endpoints",
        "GET",
        lambda c: "/api/webhooks/endpoints",
        M,
        setup=_endpoint,
        marker=lambda c: "alpha-matrix-endpoint",
    ),
    Endpoint(
        "api webhook endpoint create",
        "POST",
        lambda c: "/api/webhooks/endpoints",
        M,
        data=lambda c: {"url": PUBLIC_URL},
    ),
    Endpoint("api webhook endpoint", "GET", _ep, M, setup=_endpoint, object_of_tenant=True),
    Endpoint(
        "api webhook endpoint update",
        "PATCH",
        _ep,
        M,
        setup=_endpoint,
        data=lambda c: {"description": "changed"},
        object_of_tenant=True,
    ),
    Endpoint(
        "api webhook endpoint delete",
        "DELETE",
        _ep,
        M,
        setup=_endpoint,
        success=frozenset({204}),
        object_of_tenant=True,
    ),
    Endpoint(
        "api webhook rotate secret",
        "POST",
        lambda c: f"{_ep(c)}/rotate-secret",
        M,
        setup=_endpoint,
        object_of_tenant=True,
    ),
    Endpoint(
        "api webhook disable",
        "POST",
        lambda c: f"{_ep(c)}/disable",
        M,
        setup=_endpoint,
        data=lambda c: {"reason": "matrix"},
        object_of_tenant=True,
    ),
    Endpoint(
        "api webhook enable",
        "POST",
        lambda c: f"{_ep(c)}/enable",
        M,
        setup=_endpoint,
        object_of_tenant=True,
    ),
    Endpoint(
        "api webhook test",
        "POST",
        lambda c: f"{_ep(c)}/test",
        M,
        setup=_loopback_endpoint,
        object_of_tenant=True,
    ),
    Endpoint(
        "api webhook deliveries",
        "GET",
        lambda c: f"{_ep(c)}/deliveries",
        M,
        setup=_delivery,
        object_of_tenant=True,
    ),
    Endpoint(
        "api webhook delivery",
        "GET",
        lambda c: f"/api/webhooks/deliveries/{c['delivery']}",
        M,
        setup=_delivery,
        object_of_tenant=True,
    ),
    Endpoint(
        "api webhook delivery replay",
        "POST",
        lambda c: f"/api/webhooks/deliveries/{c['delivery']}/replay",
        M,
        setup=_delivery,
        object_of_tenant=True,
    ),
)
