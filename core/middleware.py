"""Attach the current tenant, membership and actor to each signed-in staff request."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from core.actors import Actor
from core.selectors import memberships_of

SESSION_TENANT = "tenant_id"


def _resolve(request) -> tuple:
    user = request.user
    if not user.is_authenticated:
        return [], None
    memberships = list(memberships_of(user))
    wanted = request.session.get(SESSION_TENANT)
    current = next((m for m in memberships if m.tenant_id == wanted), None)
    if current is None and memberships:  # the tenant the user joined first
        current = min(memberships, key=lambda m: (m.created_at, m.pk))
    return memberships, current


class TenantMiddleware:
    """Sets request.memberships, request.membership, request.tenant and request.actor (lazily)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cache: dict = {}

        def resolved():
            if "v" not in cache:
                cache["v"] = _resolve(request)
            return cache["v"]

        request.memberships = SimpleLazyObject(lambda: resolved()[0])
        request.membership = SimpleLazyObject(lambda: resolved()[1])
        request.tenant = SimpleLazyObject(lambda: resolved()[1].tenant if resolved()[1] else None)
        request.actor = SimpleLazyObject(
            lambda: Actor(tenant=resolved()[1].tenant, user=request.user) if resolved()[1] else None
        )
        request.has_tenant = lambda: resolved()[1] is not None
        if request.user.is_authenticated and request.has_tenant():
            try:
                timezone.activate(zoneinfo.ZoneInfo(request.tenant.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
