"""Webhook endpoint management: create, update, delete, enable/disable, rotate, test, replay.

Every service needs `tenant.manage`, owns its transaction and writes its audit entry. The
signing secret is returned once (create, rotate) and never written to the audit trail or a log.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from django.db import transaction
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.events import event_type_names, iso
from core.exceptions import Conflict, DomainError, NotFound
from core.models import Event, EventRelayCursor, WebhookDelivery, WebhookEndpoint
from core.webhooks.limits import ROTATION_GRACE, TEST_EVENT_TYPE
from core.webhooks.safety import url_check
from core.webhooks.signing import secret_new, test_message_id

MAX_DESCRIPTION = 200


def _clean_types(event_types) -> list[str]:
    if event_types is None:
        return []
    if isinstance(event_types, str) or not all(isinstance(t, str) for t in event_types):
        raise DomainError(
            "event_types: give a list of event type names.",
            code="unknown_event_type",
            details={"field": "event_types"},
        )
    names = set(event_type_names())
    wanted = sorted({t.strip() for t in event_types if t.strip()})
    unknown = [t for t in wanted if t not in names]
    if unknown:
        raise DomainError(
            f"event_types: unknown event type(s) {', '.join(unknown)[:200]}.",
            code="unknown_event_type",
            details={"field": "event_types", "unknown": unknown[:20]},
        )
    return wanted


def _clean_description(description) -> str:
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise DomainError(
            f"description: at most {MAX_DESCRIPTION} characters.",
            details={"field": "description"},
        )
    return text


def _locked(actor: Actor, endpoint_id) -> WebhookEndpoint:
    endpoint = (
        WebhookEndpoint.objects.select_for_update()
        .filter(pk=_pk(endpoint_id), tenant=actor.tenant)
        .first()
    )
    if endpoint is None:
        raise NotFound(f"Webhook endpoint {endpoint_id} does not exist.")
    return endpoint


def _pk(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _dispatch_after_commit(endpoint_id: int) -> None:
    def fire() -> None:
        from core.queue import enqueue

        enqueue("core.tasks.webhook_dispatch", endpoint_id, group="webhooks")

    transaction.on_commit(fire)


def previous_secret_valid_until(endpoint: WebhookEndpoint, at: datetime | None = None):
    """When the secret replaced by the last rotation stops signing, or None once it has."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > (at or timezone.now()):
        return expires
    return None


def secrets_in_force(endpoint: WebhookEndpoint, at: datetime) -> list[str]:
    """The secrets that sign a message sent at `at`: the current one, and the old one in grace."""
    if previous_secret_valid_until(endpoint, at) is None:
        return [endpoint.secret]
    return [endpoint.secret, endpoint.previous_secret]


REPLAY_MAX = 10_000


def audit_url(url: str) -> str:
    """The URL as the audit chain keeps it: without a query string (partners put tokens there)."""
    parts = urlsplit(url)
    kept = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return kept + ("?..." if parts.query else "")


def webhook_endpoint_create(
    *, actor: Actor, url: str, event_types=(), description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it and its signing secret (shown once)."""
    actor.require(S.TENANT_MANAGE)
    clean_url = url_check(url)
    types = _clean_types(event_types)
    text = _clean_description(description)
    secret = secret_new()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant=actor.tenant,
            url=clean_url,
            event_types=types,
            description=text,
            secret=secret,
            created_by=actor.user,
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WebhookEndpoint.create",
            obj=endpoint,
            payload={"url": audit_url(clean_url), "event_types": types},
        )
    return endpoint, secret


def webhook_endpoint_update(
    *, actor: Actor, endpoint_id, url=None, event_types=None, description=None
) -> WebhookEndpoint:
    """Change an endpoint's URL, event types or description (None leaves a field as it is)."""
    actor.require(S.TENANT_MANAGE)
    clean_url = url_check(url) if url is not None else None
    types = _clean_types(event_types) if event_types is not None else None
    text = _clean_description(description) if description is not None else None
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        changed: dict = {}
        if clean_url is not None and clean_url != endpoint.url:
            endpoint.url = clean_url
            changed["url"] = audit_url(clean_url)
        if types is not None and types != endpoint.event_types:
            endpoint.event_types = changed["event_types"] = types
        if text is not None and text != endpoint.description:
            endpoint.description = text
            changed["description"] = True
        if changed:
            endpoint.save()
            audit_record(
                tenant=actor.tenant,
                actor=actor,
                action="WebhookEndpoint.update",
                obj=endpoint,
                payload={"changed": changed},
            )
    return endpoint


def webhook_endpoint_delete(*, actor: Actor, endpoint_id) -> None:
    """Remove an endpoint with its deliveries and their attempt log."""
    actor.require(S.TENANT_MANAGE)
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WebhookEndpoint.delete",
            obj=endpoint,
            payload={"url": audit_url(endpoint.url)},
        )
        endpoint.delete()


def webhook_endpoint_set_active(
    *, actor: Actor, endpoint_id, active: bool, reason: str = ""
) -> WebhookEndpoint:
    """Disable an endpoint (nothing is sent) or enable it again.

    Enabling resumes its pending deliveries now, each with a fresh 24 h retry window, followed
    by the events it wants that happened while it was disabled (the relay made no deliveries
    for an inactive endpoint): those up to the tenant's relay cursor are added here, under the
    cursor's row lock, in sequence order; the relay adds the later ones once it sees the
    endpoint active.
    """
    actor.require(S.TENANT_MANAGE)
    reason = (reason or "").strip()[:300]
    now = timezone.now()
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        if bool(active) == endpoint.active:
            return endpoint
        if active:
            disabled_at = endpoint.disabled_at
            endpoint.active = True
            endpoint.disabled_at = None
            endpoint.disabled_reason = ""
            resumed = WebhookDelivery.objects.filter(
                endpoint=endpoint,
                status=WebhookDelivery.Status.PENDING,
                kind__in=(WebhookDelivery.Kind.EVENT, WebhookDelivery.Kind.REPLAY),
            ).update(first_attempt_at=None, next_attempt_at=now)
            if disabled_at is not None:
                _deliveries_for_disabled_period(endpoint, since=disabled_at, now=now)
            payload = {"resumed": resumed}
        else:
            endpoint.active = False
            endpoint.disabled_at = now
            endpoint.disabled_reason = reason or "disabled by a manager"
            payload = {}
        endpoint.save()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WebhookEndpoint.activate" if active else "WebhookEndpoint.deactivate",
            obj=endpoint,
            reason=reason,
            payload=payload,
        )
        if active:
            _dispatch_after_commit(endpoint.pk)
    return endpoint


def _deliveries_for_disabled_period(
    endpoint: WebhookEndpoint, *, since: datetime, now: datetime
) -> int:
    """EVENT deliveries, in sequence order, for the relayed events the endpoint wants that
    occurred since it was disabled. Runs under the tenant's relay cursor lock, so an event is
    either at or below the cursor here or relayed later to the (by then active) endpoint;
    one already delivered is skipped (unique per endpoint and event)."""
    cursor = (
        EventRelayCursor.objects.select_for_update().filter(tenant_id=endpoint.tenant_id).first()
    )
    if cursor is None:
        return 0
    events = Event.objects.filter(
        tenant_id=endpoint.tenant_id,
        occurred_at__gte=since,
        sequence__lte=cursor.last_sequence,
    )
    if endpoint.event_types:
        events = events.filter(type__in=endpoint.event_types)
    rows = [
        WebhookDelivery(
            tenant_id=endpoint.tenant_id,
            endpoint=endpoint,
            event_id=pk,
            kind=WebhookDelivery.Kind.EVENT,
            event_type=type_,
            next_attempt_at=now,
        )
        for pk, type_ in events.order_by("sequence").values_list("pk", "type").iterator()
    ]
    WebhookDelivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def webhook_secret_rotate(*, actor: Actor, endpoint_id) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (returned once); the old one keeps signing too for 24 h."""
    actor.require(S.TENANT_MANAGE)
    now = timezone.now()
    secret = secret_new()
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        if previous_secret_valid_until(endpoint, now) is not None:
            # a second rotation would cut the first old secret off before its 24 h were up
            raise Conflict(
                "The previous secret is still valid until "
                f"{iso(endpoint.previous_secret_expires_at)}: rotate again after that.",
                code="rotation_in_grace",
            )
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + ROTATION_GRACE
        endpoint.secret = secret
        endpoint.save()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WebhookEndpoint.rotate_secret",
            obj=endpoint,
            payload={"previous_secret_valid_until": iso(endpoint.previous_secret_expires_at)},
        )
    return endpoint, secret


def _test_envelope(endpoint: WebhookEndpoint, now: datetime) -> dict:
    return {
        "id": test_message_id(),
        "type": TEST_EVENT_TYPE,
        "timestamp": iso(now),
        "sequence": None,
        "tenant": endpoint.tenant.slug,
        "object": {"type": "webhook_endpoint", "id": str(endpoint.pk)},
        "data": {"endpoint_id": endpoint.pk, "message": "test event"},
    }


def webhook_send_test(*, actor: Actor, endpoint_id) -> WebhookDelivery:
    """Send one `webhook.test` message now (one attempt, logged like any delivery)."""
    from core.webhooks.dispatch import delivery_attempt

    actor.require(S.TENANT_MANAGE)
    now = timezone.now()
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        delivery = WebhookDelivery.objects.create(
            tenant=actor.tenant,
            endpoint=endpoint,
            kind=WebhookDelivery.Kind.TEST,
            event_type=TEST_EVENT_TYPE,
            test_payload=_test_envelope(endpoint, now),
            next_attempt_at=now,
            requested_by=actor.user,
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WebhookEndpoint.send_test",
            obj=endpoint,
            payload={"delivery_id": delivery.pk},
        )
    delivery_attempt(delivery.pk, now=now)
    delivery.refresh_from_db()
    return delivery


def _require_active(endpoint: WebhookEndpoint) -> None:
    if not endpoint.active:
        raise Conflict(
            f"Webhook endpoint {endpoint.pk} is disabled: enable it before replaying.",
            code="endpoint_inactive",
        )


def webhook_delivery_replay(*, actor: Actor, delivery_id) -> WebhookDelivery:
    """Queue the message of a delivery again (same `webhook-id`), behind the pending ones."""
    actor.require(S.TENANT_MANAGE)
    with transaction.atomic():
        original = (
            WebhookDelivery.objects.filter(pk=_pk(delivery_id), tenant=actor.tenant)
            .select_related("endpoint")
            .first()
        )
        if original is None:
            raise NotFound(f"Webhook delivery {delivery_id} does not exist.")
        endpoint = _locked(actor, original.endpoint_id)
        _require_active(endpoint)
        replay = WebhookDelivery.objects.create(
            tenant=actor.tenant,
            endpoint=endpoint,
            event_id=original.event_id,
            kind=WebhookDelivery.Kind.REPLAY,
            event_type=original.event_type,
            test_payload=original.test_payload,
            next_attempt_at=timezone.now(),
            requested_by=actor.user,
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WebhookDelivery.replay",
            obj=replay,
            payload={"endpoint_id": endpoint.pk, "replay_of": original.pk},
        )
        _dispatch_after_commit(endpoint.pk)
    return replay


def webhook_replay_range(
    *, actor: Actor, endpoint_id, since: datetime, until: datetime | None = None
) -> int:
    """Queue REPLAY deliveries of the endpoint's events that occurred in [since, until]."""
    actor.require(S.TENANT_MANAGE)
    if until is not None and until < since:
        raise DomainError("until: must not be before since.", details={"field": "until"})
    now = timezone.now()
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        _require_active(endpoint)
        events = Event.objects.filter(tenant=actor.tenant, occurred_at__gte=since)
        if until is not None:
            events = events.filter(occurred_at__lte=until)
        if endpoint.event_types:
            events = events.filter(type__in=endpoint.event_types)
        count = events.count()
        if count > REPLAY_MAX:
            raise DomainError(
                f"since: the range holds {count} events, more than {REPLAY_MAX} replayed at "
                "once; narrow it (or catch up through GET /api/events).",
                code="replay_too_large",
                details={"field": "since", "events": count, "max": REPLAY_MAX},
            )
        rows = [
            WebhookDelivery(
                tenant=actor.tenant,
                endpoint=endpoint,
                event_id=pk,
                kind=WebhookDelivery.Kind.REPLAY,
                event_type=type_,
                next_attempt_at=now,
                requested_by=actor.user,
            )
            for pk, type_ in events.order_by("sequence").values_list("pk", "type").iterator()
        ]
        WebhookDelivery.objects.bulk_create(rows, batch_size=1000)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WebhookDelivery.replay",
            obj=endpoint,
            payload={
                "endpoint_id": endpoint.pk,
                "since": iso(since),
                "until": iso(until) if until else None,
                "count": len(rows),
            },
        )
        if rows:
            _dispatch_after_commit(endpoint.pk)
    return len(rows)
