"""The dual-control queue by age: age bands, the stuck flag and who can clear each request.

Seed 002: "Override approvals stuck: supervisor's queue is unattended. Escalate; supervisor
scope is required to clear." A pending request older than `STUCK_AFTER` is stuck; the
dashboard counts them for the people holding an override scope, and the queue names who may
clear each one (a member, other than the requester, whose role carries the request's scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from core import scopes as S
from core import selectors
from core.actors import Actor
from core.models import OverrideRequest, TenantMembership

STUCK_AFTER = timedelta(hours=24)
# (label, from hour, up to hour or None); 72 h is the default deadline, a longer TTL gets "72 h +"
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-4 h", 0, 4),
    ("4-24 h", 4, 24),
    ("24-48 h", 24, 48),
    ("48-72 h", 48, 72),
    ("72 h +", 72, None),
)


def age_band(age: timedelta) -> str:
    """The band of a request this old."""
    hours = age.total_seconds() / 3600
    for label, _low, high in AGE_BANDS:
        if high is None or hours < high:
            return label
    raise AssertionError("the last band has no upper bound")  # pragma: no cover


def age_text(age: timedelta) -> str:
    """A request's age as people say it: `35 min`, `5 h`, `2 d 3 h`."""
    minutes = max(int(age.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def scope_label(scope: str) -> str:
    """How a request's scope reads on the queue (the dual-control wording where it differs)."""
    return S.DUAL_CONTROL_LABELS.get(scope) or S.SCOPE_LABELS.get(scope, scope)


def scope_holders(tenant, scope: str) -> list[str]:
    """Usernames of the tenant's active members whose role carries the scope, sorted."""
    roles = [role for role, scopes in S.ROLE_SCOPES.items() if scope in scopes]
    return sorted(
        TenantMembership.objects.filter(tenant=tenant, role__in=roles, user__is_active=True)
        .values_list("user__username", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class QueueRow:
    """A pending request as the queue shows it."""

    request: OverrideRequest
    age: str
    band: str
    stuck: bool
    scope_label: str
    can_clear: list[str]  # who may decide: scope holders other than the requester


def pending_by_age(
    actor: Actor, *, action: str = "", stuck_only: bool = False, newest_first: bool = False
) -> list[QueueRow]:
    """Pending requests the actor may see, oldest first (or newest), with age and who clears."""
    now = timezone.now()
    qs = selectors.override_request_list(
        actor, status=OverrideRequest.Status.PENDING, action=action
    )
    if stuck_only:
        qs = qs.filter(requested_at__lte=now - STUCK_AFTER)
    order = ("-requested_at", "-id") if newest_first else ("requested_at", "id")
    holders: dict[str, list[str]] = {}
    rows = []
    for r in qs.order_by(*order):
        if r.scope not in holders:
            holders[r.scope] = scope_holders(actor.tenant, r.scope)
        age = now - r.requested_at
        rows.append(
            QueueRow(
                request=r,
                age=age_text(age),
                band=age_band(age),
                stuck=age >= STUCK_AFTER,
                scope_label=scope_label(r.scope),
                can_clear=[u for u in holders[r.scope] if u != r.requested_by.username],
            )
        )
    return rows


def band_counts(actor: Actor, now: datetime | None = None) -> list[tuple[str, int]]:
    """How many visible pending requests fall in each age band (every band, zeros included)."""
    now = now or timezone.now()
    counts = dict.fromkeys((label for label, _, _ in AGE_BANDS), 0)
    pending = selectors.override_request_list(actor, status=OverrideRequest.Status.PENDING)
    for requested_at in pending.values_list("requested_at", flat=True):
        counts[age_band(now - requested_at)] += 1
    return list(counts.items())


def stuck_count(actor: Actor) -> int:
    """Pending requests older than 24 h the actor could clear (visible, not their own)."""
    if not any(actor.has(s) for s in S.OVERRIDE_SCOPES):
        return 0
    qs = selectors.override_request_list(actor, status=OverrideRequest.Status.PENDING).filter(
        requested_at__lte=timezone.now() - STUCK_AFTER,
        scope__in=[s for s in S.OVERRIDE_SCOPES if actor.has(s)],
    )
    if actor.user is not None:
        qs = qs.exclude(requested_by=actor.user)
    return qs.count()
