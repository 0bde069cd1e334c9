"""Reads of webhook endpoints and deliveries (tenant.manage), filtered by the actor's tenant."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def _pk(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def webhook_endpoint_list(actor: Actor) -> QuerySet[WebhookEndpoint]:
    """The tenant's endpoints, oldest first, with their pending and failed delivery counts."""
    actor.require(S.TENANT_MANAGE)
    return (
        WebhookEndpoint.objects.filter(tenant=actor.tenant)
        .annotate(
            pending_count=Count(
                "deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)
            ),
            failed_count=Count(
                "deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)
            ),
        )
        .order_by("pk")
    )


def webhook_endpoint_get(actor: Actor, pk) -> WebhookEndpoint:
    """One endpoint of the tenant, or NotFound."""
    actor.require(S.TENANT_MANAGE)
    endpoint = WebhookEndpoint.objects.filter(tenant=actor.tenant, pk=_pk(pk)).first()
    if endpoint is None:
        raise NotFound(f"Webhook endpoint {pk} does not exist.")
    return endpoint


def webhook_delivery_list(
    actor: Actor, *, endpoint_id=None, status: str = ""
) -> QuerySet[WebhookDelivery]:
    """The tenant's deliveries, newest first, optionally of one endpoint and one status."""
    actor.require(S.TENANT_MANAGE)
    qs = WebhookDelivery.objects.filter(tenant=actor.tenant).select_related("endpoint", "event")
    if endpoint_id not in (None, ""):
        qs = qs.filter(endpoint_id=_pk(endpoint_id))
    if status:
        qs = qs.filter(status=str(status).upper())
    return qs.order_by("-pk")


def webhook_delivery_get(actor: Actor, pk) -> WebhookDelivery:
    """One delivery of the tenant with its attempts (oldest first), or NotFound."""
    actor.require(S.TENANT_MANAGE)
    delivery = (
        WebhookDelivery.objects.filter(tenant=actor.tenant, pk=_pk(pk))
        .select_related("endpoint", "event")
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        )
        .first()
    )
    if delivery is None:
        raise NotFound(f"Webhook delivery {pk} does not exist.")
    return delivery
