"""The webhook screens in the permission matrix (tenant.manage; another tenant's endpoint: 404)."""

from core import scopes as S
from core.models import Event, WebhookDelivery, WebhookEndpoint
from core.webhooks import webhook_endpoint_create
from tests.permissions import Endpoint, register

MARKER = "alpha-webhook-marker"
# an address literal (no DNS lookup at save); never reached: see _endpoint
PUBLIC_URL = "https://93.184.215.14/matrix"


def _endpoint(world):
    endpoint, _ = webhook_endpoint_create(
        actor=world.actor(S.Role.OWNER), url=PUBLIC_URL, description=MARKER
    )
    # the "send test event" check must not go out to the network: a loopback URL is refused
    # again at delivery (DEBUG is off), so the attempt fails at once, without a connection
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/matrix")
    return {"endpoint": endpoint.pk}


def _delivery(world):
    ctx = _endpoint(world)
    seq = Event.objects.filter(tenant=world.tenant).order_by("-sequence").first()
    event = Event.objects.create(
        tenant=world.tenant,
        sequence=(seq.sequence if seq else 0) + 1000,
        type="matrix.thing.done",
        object_type="thing",
        object_id="1",
    )
    delivery = WebhookDelivery.objects.create(
        tenant=world.tenant,
        endpoint_id=ctx["endpoint"],
        event=event,
        event_type=event.type,
        status=WebhookDelivery.Status.DELIVERED,
        attempts=1,
        last_status_code=200,
    )
    return {**ctx, "delivery": delivery.pk}


def _at(suffix: str = ""):
    return lambda c: f"/settings/webhooks/{c['endpoint']}/{suffix}"


def _screen(name, method, url, **kw):
    return Endpoint(name, method, url, S.TENANT_MANAGE, kind="screen", **kw)


register(
    _screen(
        "screen webhooks",
        "GET",
        lambda c: "/settings/webhooks/",
        setup=_endpoint,
        marker=lambda c: MARKER,
    ),
    _screen(
        "screen webhook add",
        "POST",
        lambda c: "/settings/webhooks/",
        data=lambda c: {"url": PUBLIC_URL, "description": "matrix add"},
        success=frozenset({302}),
    ),
    _screen(
        "screen webhook detail",
        "GET",
        _at(),
        setup=_endpoint,
        object_of_tenant=True,
        success=frozenset({200}),
    ),
    _screen(
        "screen webhook edit",
        "POST",
        _at(),
        setup=_endpoint,
        object_of_tenant=True,
        data=lambda c: {"url": PUBLIC_URL, "description": "edited"},
        success=frozenset({302}),
    ),
    _screen(
        "screen webhook log",
        "GET",
        _at("log/"),
        setup=_endpoint,
        object_of_tenant=True,
        success=frozenset({200}),
    ),
    _screen(
        "screen webhook test",
        "POST",
        _at("test/"),
        setup=_endpoint,
        object_of_tenant=True,
        success=frozenset({302}),
    ),
    _screen(
        "screen webhook rotate",
        "POST",
        _at("rotate/"),
        setup=_endpoint,
        object_of_tenant=True,
        success=frozenset({302}),
    ),
    _screen(
        "screen webhook disable",
        "POST",
        _at("active/"),
        setup=_endpoint,
        object_of_tenant=True,
        data=lambda c: {"active": "0", "reason": "matrix"},
        success=frozenset({302}),
    ),
    _screen(
        "screen webhook delete",
        "POST",
        _at("delete/"),
        setup=_endpoint,
        object_of_tenant=True,
        success=frozenset({302}),
    ),
    _screen(
        "screen webhook replay range",
        "POST",
        _at("replay/"),
        setup=_endpoint,
        object_of_tenant=True,
        data=lambda c: {"since": "2026-01-01T00:00"},
        success=frozenset({302}),
    ),
    _screen(
        "screen webhook replay",
        "POST",
        lambda c: f"/settings/webhooks/{c['endpoint']}/deliveries/{c['delivery']}/replay/",
        setup=_delivery,
        object_of_tenant=True,
        success=frozenset({302}),
    ),
)
