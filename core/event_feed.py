"""Reads of the event feed (`GET /api/events`): the actor's tenant only, in sequence order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.models import Event


def event_list(
    actor: Actor,
    *,
    types: Iterable[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    after_sequence: int | None = None,
) -> QuerySet[Event]:
    """The tenant's events, oldest first; `after_sequence` catches a partner up to date."""
    actor.require(S.EVENTS_READ)
    qs = Event.objects.filter(tenant=actor.tenant).select_related("tenant")
    types = list(types)
    if types:
        qs = qs.filter(type__in=types)
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    if after_sequence is not None:
        qs = qs.filter(sequence__gt=after_sequence)
    return qs.order_by("sequence")


def event_get(actor: Actor, sequence: int) -> Event:
    """One event of the tenant by its sequence number; 404 otherwise (other tenants included)."""
    actor.require(S.EVENTS_READ)
    event = Event.objects.filter(tenant=actor.tenant, sequence=sequence).first()
    if event is None:
        raise NotFound(f"Event {sequence} does not exist.")
    return event
