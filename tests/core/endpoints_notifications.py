"""The inbox's endpoints and screens in the permission matrix: any member (scope None).

A notification belongs to one user: marking someone else's read answers 404 like another
tenant's id, so the "read one" endpoint accepts 200 (the requester's own) or 404 (the viewer's,
asked by another role); tests/core/test_notifications_api.py checks who gets which.
"""

from core.models import Notification
from core.notifications import WEBHOOK_DISABLED
from tests.permissions import Endpoint, register

MARKER = "alpha-notice-7f3c"


def _notices(world) -> dict:
    """One unread notice for every member of tenant A (the viewer's id is the one named)."""
    ids = {}
    for role, user in world.users.items():
        ids[role] = Notification.objects.create(
            tenant=world.tenant, user=user, kind="tests.matrix", title=f"{MARKER} {role}"
        ).pk
    return {"notification": ids["VIEWER"]}


_marker = lambda ctx: MARKER  # noqa: E731

register(
    Endpoint(
        "api notifications",
        "GET",
        lambda c: "/api/notifications",
        None,
        setup=_notices,
        marker=_marker,
        success=frozenset({200}),
    ),
    Endpoint(
        "api notification read",
        "POST",
        lambda c: f"/api/notifications/{c['notification']}/read",
        None,
        setup=_notices,
        object_of_tenant=True,
        success=frozenset({200, 404}),
    ),
    Endpoint(
        "api notifications read all",
        "POST",
        lambda c: "/api/notifications/read-all",
        None,
        setup=_notices,
        success=frozenset({200}),
    ),
    Endpoint(
        "api notification preferences",
        "GET",
        lambda c: "/api/notifications/preferences",
        None,
        success=frozenset({200}),
    ),
    Endpoint(
        # the webhook notice is offered to OWNER and ADMIN only: the others get 400 unknown_kind
        "api notification preference set",
        "POST",
        lambda c: "/api/notifications/preferences",
        None,
        data=lambda c: {"kind": WEBHOOK_DISABLED, "inbox": True, "email": False},
        success=frozenset({200, 400}),
    ),
    Endpoint(
        "screen notifications",
        "GET",
        lambda c: "/notifications/",
        None,
        kind="screen",
        setup=_notices,
        marker=_marker,
        success=frozenset({200}),
    ),
    Endpoint(
        "screen notification read",
        "POST",
        lambda c: f"/notifications/{c['notification']}/read/",
        None,
        kind="screen",
        setup=_notices,
        success=frozenset({302}),
    ),
    Endpoint(
        "screen notifications read all",
        "POST",
        lambda c: "/notifications/read-all/",
        None,
        kind="screen",
        setup=_notices,
        success=frozenset({302}),
    ),
    Endpoint(
        "screen notification preferences",
        "GET",
        lambda c: "/notifications/preferences/",
        None,
        kind="screen",
        success=frozenset({200}),
    ),
    Endpoint(
        "screen notification preferences save",
        "POST",
        lambda c: "/notifications/preferences/",
        None,
        kind="screen",
        data=lambda c: {"inbox": [WEBHOOK_DISABLED]},
        success=frozenset({302}),
    ),
)
