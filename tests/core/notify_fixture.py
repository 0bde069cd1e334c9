"""A test event type with recipients, registered for one test and removed after it."""

from __future__ import annotations

from contextlib import contextmanager

from core import events as E
from core.events import EventType, event_emit, event_types_register

PING = "tests.notify.ping"
PING_LABEL = "A test ping waits for you"
# a value that must never reach an inbox or an email (stands for anything a payload might carry)
SECRET_NOTE = "Jane Q. Patient 1961-04-02"


def _ping_type() -> EventType:
    return EventType(
        name=PING,
        description=PING_LABEL,
        object_type="core.Tenant",
        sample={"n": 1, "users": [1], "note": "x"},
        recipients=lambda event: event.payload["users"],
        title=lambda event: f"Ping {event.payload['n']} waits for you",
        link=lambda event: f"/notifications/?ping={event.payload['n']}",
    )


@contextmanager
def ping_registered():
    """`tests.notify.ping` (recipients = payload["users"]) in the catalogue, removed after."""
    event_types_register("tests", [_ping_type()])
    try:
        yield PING
    finally:
        E._TYPES.pop(PING, None)


def ping(tenant, n: int, users) -> object:
    """Emit one ping event for these users (ids or users) in the tenant."""
    ids = [u if isinstance(u, int) else u.pk for u in users]
    return event_emit(
        tenant=tenant,
        type=PING,
        object_id=tenant.pk,
        payload={"n": n, "users": ids, "note": SECRET_NOTE},
    )
