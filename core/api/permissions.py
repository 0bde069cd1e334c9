"""The API's permission gate: a tenant member (or token) holding the scope the view declares."""

from rest_framework import exceptions, permissions

from core.actors import Actor
from core.models import ApiToken, TenantMembership


def resolve_actor(request) -> Actor | None:
    """The Actor of an API request: the token's tenant, or the session user's chosen tenant."""
    if getattr(request, "_actor_resolved", False):
        return request._actor
    actor = None
    if isinstance(request.auth, ApiToken):
        token = request.auth
        if TenantMembership.objects.filter(user=token.user, tenant=token.tenant).exists():
            actor = Actor(tenant=token.tenant, user=token.user, token=token)
    elif request.user and request.user.is_authenticated:
        slug = request.headers.get("X-Tenant")
        if slug:
            membership = _membership_by_slug(request, slug)
            actor = Actor(tenant=membership.tenant, user=request.user) if membership else None
        else:
            lazy = getattr(request._request, "actor", None)
            actor = lazy if lazy else None  # the middleware's lazy object may wrap None
    request._actor, request._actor_resolved = actor, True
    return actor


def _membership_by_slug(request, slug: str) -> TenantMembership | None:
    """The session user's membership of the tenant named by X-Tenant.

    The tenant middleware has usually read the user's memberships already (to set the time
    zone): reuse that list rather than ask again.
    """
    django_request = request._request
    user = request.user
    if getattr(django_request, "user", None) == user and hasattr(django_request, "memberships"):
        return next((m for m in django_request.memberships if m.tenant.slug == slug), None)
    return (
        TenantMembership.objects.filter(user=user, tenant__slug=slug)
        .select_related("tenant")
        .first()
    )


class TenantMember(permissions.BasePermission):
    """Authenticated, a member of the tenant, and holding the view's `required_scopes[method]`."""

    message = "You are not a member of this tenant."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        actor = resolve_actor(request)
        if actor is None:
            return False
        request.actor = actor
        scope = view.scope_for(request.method) if hasattr(view, "scope_for") else None
        if scope and not actor.has(scope):
            raise exceptions.PermissionDenied(f"This action needs the scope '{scope}'.")
        return True
