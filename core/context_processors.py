"""Template context: the tenant, the user's tenants, the scopes that drive navigation, and the
"no worker" warning."""

from __future__ import annotations

from functools import cached_property

from django.utils.functional import SimpleLazyObject

from core import scopes as S


class WorkerWarning:
    """Whether to warn that work waits on a worker nobody has seen for a minute.

    Evaluated only when a template asks (`worker_warning.show`): one query while workers report,
    a few counts when none does.
    """

    def __init__(self, tenant) -> None:
        self.tenant = tenant

    @cached_property
    def show(self) -> bool:
        from core.health import worker_seen

        return not worker_seen() and bool(self.waiting)

    @cached_property
    def waiting(self) -> list[tuple[int, str]]:
        from core.dashboard import waiting_work
        from core.health import queued_task_count

        found = waiting_work(self.tenant)
        tasks = queued_task_count()
        if tasks:
            found.append((tasks, "background task" + ("" if tasks == 1 else "s") + " queued"))
        return found

    @cached_property
    def last_seen(self):
        from core.health import last_heartbeat

        return last_heartbeat()


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
        "worker_warning": WorkerWarning(request.tenant),
        "inbox_unread": _inbox_unread(request),
    }


def _inbox_unread(request) -> SimpleLazyObject:
    """The signed-in user's unread notifications in the current tenant, counted when shown."""
    user, tenant_ = request.user, request.tenant

    def count() -> int:
        from core.notifications import inbox_unread_count

        return inbox_unread_count(user=user, tenant=tenant_)

    return SimpleLazyObject(count)
