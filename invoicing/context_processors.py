"""The approval-queue badge of the navigation: how many waiting requests you may approve."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def approval_badge(request) -> dict:
    """`invoicing_to_approve`: counted only when a template shows it (one query)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    if not request.has_tenant():
        return {}
    actor = request.actor

    def count() -> int:
        from invoicing.selectors_screens import approvable_count

        return approvable_count(actor)

    return {"invoicing_to_approve": SimpleLazyObject(count)}
