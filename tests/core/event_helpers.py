"""Helpers for the event catalogue tests: the events written, and a PHI scan of payloads."""

from __future__ import annotations

import json

from core.events import event_type_get
from core.models import Event


def events_of(tenant, type_: str) -> list[Event]:
    """The tenant's events of one type, in sequence order."""
    return list(Event.objects.filter(tenant=tenant, type=type_).order_by("sequence"))


def the_event(tenant, type_: str) -> Event:
    """The one event of this type (fails when there are none or several)."""
    found = events_of(tenant, type_)
    assert len(found) == 1, f"{type_}: {len(found)} events"
    return found[0]


def phi_found(payload, phi: list[str]) -> list[str]:
    """The PHI strings (names, birth dates, member ids of the test data) in a payload's text."""
    text = json.dumps(payload, sort_keys=True)
    return [p for p in phi if p and p in text]


def recipients(event: Event) -> list[int]:
    """The user ids the event's type notifies."""
    et = event_type_get(event.type)
    assert et is not None and et.recipients is not None, f"{event.type} notifies nobody"
    return sorted(set(et.recipients(event)))


def title_and_link(event: Event) -> tuple[str, str]:
    et = event_type_get(event.type)
    return et.title(event), et.link(event)


def app_callbacks(callbacks: list) -> list:
    """On-commit callbacks other than the event machinery's: the relay every event queues, and
    what the relay itself queues when it runs inside the captured block (notification emails,
    webhook dispatches)."""
    machinery = ("core.notifications", "core.webhooks.dispatch", "core.webhooks.services")
    return [
        c
        for c in callbacks
        if getattr(c, "relay_tenant", None) is None and c.__module__ not in machinery
    ]
