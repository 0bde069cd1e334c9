"""Pages of invoicing objects, for links from the audit trail (core.links registry)."""

from __future__ import annotations

from django.urls import reverse


def _page(name: str):
    def resolve(object_id: str) -> str | None:
        return reverse(name, args=[int(object_id)]) if object_id.isdigit() else None

    return resolve


def register() -> None:
    """Requests, bills, accounts and calendars link to their pages."""
    from core.links import register_link

    register_link("invoicing.InvoiceRequest", _page("invoicing:request"), name="Invoice request")
    register_link("invoicing.Bill", _page("invoicing:bill"), name="Bill")
    register_link("invoicing.Account", _page("invoicing:account"), name="Account")
    register_link("invoicing.WorkCalendar", _page("invoicing:calendar"), name="Calendar")
