"""The relay: passes a tenant's committed events on, in sequence order, exactly once each.

A cursor per tenant (`EventRelayCursor.last_sequence`) records how far the relay got. Events
are numbered under the audit chain head's row lock, so they commit in sequence order and the
relay never skips one. Each batch runs its handlers and moves the cursor in one transaction:
a crash leaves the batch for the next relay, never half done.

The handlers (in this order):
- `core.webhooks.deliveries_create(events)`: a delivery per subscribed active endpoint;
- `core.notifications.notify_events(events)`: inbox rows and emails for the staff concerned.
They return nothing; work that must wait for the commit (sending, emailing) they register with
`transaction.on_commit`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils.module_loading import import_string

from core.models import Event, EventRelayCursor, Tenant

RELAY_HANDLERS: tuple[str, ...] = (
    "core.webhooks.deliveries_create",
    "core.notifications.notify_events",
)
BATCH = 500


def _handlers() -> list[Callable]:
    return [import_string(path) for path in RELAY_HANDLERS]


def events_relay(tenant_id: int, *, batch: int = BATCH) -> int:
    """Pass on the tenant's events past its cursor; returns how many were relayed."""
    handlers = _handlers()
    total = 0
    while True:
        with transaction.atomic():
            cursor = _lock_cursor(tenant_id)
            events = list(
                Event.objects.filter(tenant_id=tenant_id, sequence__gt=cursor.last_sequence)
                .select_related("tenant")
                .order_by("sequence")[:batch]
            )
            if not events:
                return total
            for handler in handlers:
                handler(events)
            cursor.last_sequence = events[-1].sequence
            cursor.save(update_fields=["last_sequence", "updated_at"])
        total += len(events)
        if len(events) < batch:
            return total


def events_relay_all() -> int:
    """Relay every tenant with events past its cursor (the periodic safety net)."""
    total = 0
    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        total += events_relay(tenant_id)
    return total


def _lock_cursor(tenant_id: int) -> EventRelayCursor:
    cursor = EventRelayCursor.objects.select_for_update().filter(tenant_id=tenant_id).first()
    if cursor is None:
        EventRelayCursor.objects.get_or_create(tenant_id=tenant_id)
        cursor = EventRelayCursor.objects.select_for_update().get(tenant_id=tenant_id)
    return cursor
