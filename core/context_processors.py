"""Template context: the tenant, the user's tenants and the scopes that drive navigation."""

from core import scopes as S


def tenant(request) -> dict:
    """Current tenant, membership list and a `scopes` set for templates."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    if not request.has_tenant():
        return {"memberships": [], "scopes": frozenset()}
    return {
        "current_tenant": request.tenant,
        "current_membership": request.membership,
        "memberships": request.memberships,
        "scopes": request.actor.scopes,
        "S": S,
    }
