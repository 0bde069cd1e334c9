"""Invoicing's dashboard panel and the requests that wait on a worker (core registries)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.dashboard import Counter, Panel, register_panel, register_waiting_work
from core.labels import label_for
from core.models import Tenant
from invoicing import selectors_screens as screens
from invoicing.models import InvoiceRequest

Status = InvoiceRequest.Status


def _requests_url(status: str) -> str:
    return f"{reverse('invoicing:requests')}?status={status}"


def invoicing_panel(actor: Actor) -> Panel | None:
    """Requests waiting for approval (for you), pending processing, in error; by status."""
    if not actor.has(S.INVOICING_VIEW):
        return None
    by_status = screens.requests_by_status(actor)
    counters = [
        Counter(
            "waiting for approval",
            by_status.get(Status.PENDING_APPROVAL, 0),
            reverse("invoicing:queue"),
            "amber",
        ),
        Counter("pending", by_status.get(Status.PENDING, 0), _requests_url(Status.PENDING), "blue"),
        Counter("in error", by_status.get(Status.ERROR, 0), _requests_url(Status.ERROR), "red"),
    ]
    if actor.has(S.INVOICING_REQUEST_APPROVE):
        counters.insert(
            1,
            Counter("you may approve", screens.approvable_count(actor), reverse("invoicing:queue")),
        )
    return Panel(
        title="Invoicing",
        url=reverse("invoicing:overview"),
        counters=counters,
        chart_title="Invoice requests by status",
        chart=[(label_for(s), by_status[s]) for s in Status.values if by_status.get(s)],
    )


def waiting_requests(tenant: Tenant) -> tuple[int, str]:
    """Online requests due today or earlier that a worker has not processed yet."""
    n = InvoiceRequest.objects.filter(
        tenant=tenant,
        status=Status.PENDING,
        processing_mode=InvoiceRequest.ProcessingMode.ONLINE,
        processing_date__lte=timezone.localdate(),
    ).count()
    return n, "invoice request" + ("" if n == 1 else "s") + " due for processing"


def register() -> None:
    """Called from InvoicingConfig.ready()."""
    register_panel("invoicing", 30, invoicing_panel)
    register_waiting_work("invoicing", waiting_requests)
