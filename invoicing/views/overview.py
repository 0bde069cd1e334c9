"""Invoicing's overview: what waits, bills per month by kind, requests by status."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from billing import charts as billing_charts
from billing.engine.months import add_months
from core import scopes as S
from core.labels import label_for
from core.templatetags.present import number
from core.views import tenant_view
from invoicing import charts
from invoicing import selectors_screens as screens
from invoicing.models import Bill, InvoiceRequest

STATUS_COLOURS = {
    "PENDING_APPROVAL": "#d9a441",
    "PENDING": "#1f5fa8",
    "APPROVED": "#4f9d69",
    "PROCESSED": "#1d7a46",
    "ERROR": "#b3261e",
    "REJECTED": "#8a94a3",
    "CANCELLED": "#b8c4d2",
}


def status_chart(by_status: dict[str, int]) -> dict:
    """Horizontal bars of requests by status (values written beside the bars)."""
    items = [
        (s, label_for(s), by_status[s], number(by_status[s]))
        for s in InvoiceRequest.Status.values
        if by_status.get(s)
    ]
    chart = billing_charts.bars(items)
    for bar in chart["bars"]:
        bar["colour"] = STATUS_COLOURS.get(bar["key"], bar["colour"])
    return chart


def bills_chart(actor, *, months: int = 12) -> dict:
    """Bills per month (by bill date) and kind, the last `months` months."""
    first = add_months(timezone.localdate().replace(day=1), -(months - 1))
    labels = [add_months(first, i) for i in range(months)]
    series = {k: [0] * months for k in Bill.Kind.values}
    index = {m: i for i, m in enumerate(labels)}
    for month, kind, n, _total in screens.bills_by_month(actor, since=first):
        i = index.get(date(month.year, month.month, 1))
        if i is not None and kind in series:
            series[kind][i] = n
    return charts.grouped_columns([m.strftime("%b %y") for m in labels], series)


@tenant_view(S.INVOICING_VIEW)
def overview(request: HttpRequest) -> HttpResponse:
    """Counters that link to the lists, and the two charts."""
    actor = request.actor
    by_status = screens.requests_by_status(actor)
    return render(
        request,
        "invoicing/overview.html",
        {
            "by_status": by_status,
            "status_chart": status_chart(by_status),
            "bills_chart": bills_chart(actor),
            "waiting": by_status.get(InvoiceRequest.Status.PENDING_APPROVAL, 0),
            "errors_count": by_status.get(InvoiceRequest.Status.ERROR, 0),
            "pending": by_status.get(InvoiceRequest.Status.PENDING, 0),
        },
    )
