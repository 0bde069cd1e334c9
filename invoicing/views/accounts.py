"""Invoicing screens: accounts (memberships, characteristics, Log tab, requests, bills) and a
bill's page with its PDF (a "being prepared" state while the task renders it)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render

from core import scopes as S
from core.exceptions import NotFound
from core.phi_reads import PHI_VIEW, record_phi_access
from core.views import tenant_view
from invoicing import selectors
from invoicing import selectors_screens as screens
from invoicing.models import InvoiceRequest
from invoicing.views.common import not_found

TABS = ("memberships", "log", "requests", "bills")


@tenant_view(S.INVOICING_VIEW)
def account_list(request: HttpRequest) -> HttpResponse:
    """Visible accounts, by number (a number typed narrows to it)."""
    number = (request.GET.get("number") or "").strip()
    qs = selectors.account_list(request.actor, number=number)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "invoicing/accounts.html", {"page": page, "number": number})


@tenant_view(S.INVOICING_VIEW)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One account: Memberships (with characteristics), Log, Requests and Bills tabs."""
    actor = request.actor
    try:
        account = selectors.account_get_by_id(actor, pk)
    except NotFound:
        return not_found(request, f"Account {pk}")
    tab = request.GET.get("tab", "memberships")
    tab = tab if tab in TABS else "memberships"
    context = {"account": account, "tab": tab, "tabs": TABS}
    if tab == "memberships":
        memberships = list(selectors.membership_list(actor, account))
        record_phi_access(actor, PHI_VIEW, account, shown=len(memberships))  # member ids
        context["memberships"] = memberships
    elif tab == "log":
        page = Paginator(screens.account_log(actor, account), 50).get_page(request.GET.get("page"))
        record_phi_access(actor, PHI_VIEW, account, tab="log", shown=len(page))
        context["page"] = page
    elif tab == "requests":
        context["requests"] = selectors.invoice_request_list(actor, account=account.number)[:100]
    else:
        context["bills"] = screens.account_bills(actor, account)[:100]
    return render(request, "invoicing/account.html", context)


def _bill(request: HttpRequest, pk: int):
    try:
        return selectors.bill_get(request.actor, pk)
    except NotFound:
        return None


@tenant_view(S.INVOICING_VIEW)
def bill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A bill: kind, status, dates, total, its lines, and the PDF (or that it is being prepared)."""
    bill = _bill(request, pk)
    if bill is None:
        return not_found(request, f"Bill {pk}")
    lines = Paginator(bill.lines.order_by("position"), 50).get_page(request.GET.get("page"))
    source = InvoiceRequest.objects.filter(bill=bill).first()
    return render(
        request, "invoicing/bill.html", {"bill": bill, "lines": lines, "source_request": source}
    )


@tenant_view(S.INVOICING_VIEW)
def bill_pdf_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF link, or "being prepared" (HTMX polls this until the task has rendered it)."""
    bill = _bill(request, pk)
    if bill is None:
        return not_found(request, f"Bill {pk}")
    return render(request, "invoicing/_bill_pdf.html", {"bill": bill})


@tenant_view(S.INVOICING_VIEW)
def bill_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """Download the bill's PDF; 409 with a "being prepared" page until it is rendered."""
    bill = _bill(request, pk)
    if bill is None:
        return not_found(request, f"Bill {pk}")
    if not bill.pdf:
        return render(request, "invoicing/bill_pdf_pending.html", {"bill": bill}, status=409)
    return FileResponse(
        bill.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"bill-{bill.pk}.pdf",
    )
