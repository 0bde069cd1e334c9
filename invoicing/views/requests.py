"""Invoicing screens: the approval queue (approve/reject in place), the request form with a live
preview, the request list (filters, CSV) and a request's page with its timeline."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.listexport import csv_response
from core.transitions import state_reload
from core.views import tenant_view
from invoicing import selectors
from invoicing import selectors_screens as screens
from invoicing.models import InvoiceRequest
from invoicing.services import requests as services
from invoicing.views.common import back, field_of, message_for, not_found, optional_date

Status = InvoiceRequest.Status
FORM_FIELDS = ("type", "account", "cutoff_date", "bill_date", "accounting_date")
DATE_FIELDS = ("cutoff_date", "bill_date", "accounting_date")


# --- approval queue ---------------------------------------------------------------------------


def _queue_context(request: HttpRequest) -> dict:
    actor = request.actor
    return {
        "rows": list(screens.approval_queue(actor)[:200]),
        "now": timezone.now(),
        "can_approve": actor.has(S.INVOICING_REQUEST_APPROVE),
        "row_errors": {},
    }


@tenant_view(S.INVOICING_VIEW)
def approval_queue(request: HttpRequest) -> HttpResponse:
    """Requests waiting for approval, oldest first, with approve and reject in place."""
    return render(request, "invoicing/queue.html", _queue_context(request))


def _queue_row(request: HttpRequest, pk: int, *, done: str = "", error: dict | None = None):
    """The queue row of one request after an action (HTMX swaps it in place)."""
    row = screens.with_charge_figures(selectors.invoice_request_list(request.actor)).get(pk=pk)
    return render(
        request,
        "invoicing/_queue_row.html",
        {
            "r": row,
            "now": timezone.now(),
            "can_approve": request.actor.has(S.INVOICING_REQUEST_APPROVE),
            "done": done,
            "error": error or {},
        },
    )


def _decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = request.actor
    try:
        selectors.invoice_request_get(actor, pk)
    except NotFound:
        return not_found(request, f"Invoice request {pk}")
    reason = (request.POST.get("reason") or "").strip()
    try:
        if action == "approve":
            done = services.invoice_request_approve(actor=actor, request_id=pk)
            text = f"Invoice request {pk} approved; {done.get_status_display().lower()}."
        else:
            done = services.invoice_request_reject(actor=actor, request_id=pk, reason=reason)
            text = f"Invoice request {pk} rejected."
    except DomainError as exc:
        error = {"reason" if exc.code == "reason_required" else "general": exc.message}
        if request.headers.get("HX-Request"):
            return _queue_row(request, pk, error=error)  # 200: HTMX swaps only successes
        if request.POST.get("next"):
            messages.error(request, exc.message)
            return back(request, "invoicing:queue")
        context = _queue_context(request)
        context["row_errors"] = {pk: error}
        return render(request, "invoicing/queue.html", context, status=exc.http_status)
    if request.headers.get("HX-Request"):
        return _queue_row(request, pk, done=text)
    messages.success(request, text)
    return back(request, "invoicing:queue")


@tenant_view(S.INVOICING_REQUEST_APPROVE)
@require_POST
def request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve a waiting request (four-eyes: not your own)."""
    return _decide(request, pk, "approve")


@tenant_view(S.INVOICING_REQUEST_APPROVE)
@require_POST
def request_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Reject a waiting request with a reason."""
    return _decide(request, pk, "reject")


# --- the request form and its live preview -----------------------------------------------------


def _form_values(data) -> dict:
    return {f: (data.get(f) or "").strip() for f in FORM_FIELDS}


def _resolve(actor, values: dict, errors: dict) -> tuple:
    """The type, account and dates of the form, each problem beside its field."""
    request_type = account = None
    if not values["type"]:
        errors["type"] = "choose a request type."
    else:
        try:
            request_type = selectors.request_type_get(actor, values["type"])
        except NotFound as exc:
            errors["type"] = exc.message
    if not values["account"]:
        errors["account"] = "type an account number."
    else:
        try:
            account = selectors.account_get(actor, values["account"])
        except NotFound as exc:
            errors["account"] = exc.message
    found = {f: optional_date(values, f, errors) for f in DATE_FIELDS}
    return request_type, account, found


def _form_page(request: HttpRequest, values: dict, errors: dict, status: int = 200):
    actor = request.actor
    types = selectors.request_type_list(actor).filter(invoice_mode="MANUAL")
    return render(
        request,
        "invoicing/request_form.html",
        {"values": values, "errors": errors, "types": types, "today": timezone.localdate()},
        status=status,
    )


@tenant_view(S.INVOICING_REQUEST_CREATE)
def request_new(request: HttpRequest) -> HttpResponse:
    """The request form: type, account, optional dates; the computed dates show before saving."""
    actor = request.actor
    if request.method != "POST":
        return _form_page(request, _form_values(request.GET), {})
    values = _form_values(request.POST)
    errors: dict = {}
    request_type, account, dates = _resolve(actor, values, errors)
    if errors:
        return _form_page(request, values, errors, status=400)
    try:
        created = services.invoice_request_create(
            actor=actor, type=request_type, account=account, **dates
        )
    except DomainError as exc:
        default = "account" if exc.code == "not_eligible" else "general"
        field = field_of(exc, FORM_FIELDS, default=default)
        errors[field] = message_for(exc, field)
        return _form_page(request, values, errors, status=exc.http_status)
    state_reload(created)
    messages.success(
        request,
        f"Invoice request {created.pk} created: {created.get_status_display().lower()}, "
        f"processing {created.processing_date:%Y-%m-%d} ({created.processing_mode.lower()}).",
    )
    return redirect("invoicing:request", pk=created.pk)


@tenant_view(S.INVOICING_VIEW)
def request_preview(request: HttpRequest) -> HttpResponse:
    """The dates and mode a request would get today (HTMX fragment of the form); saves nothing."""
    actor = request.actor
    values = _form_values(request.GET)
    errors: dict = {}
    preview = None
    if values["type"] and values["account"]:
        request_type, account, dates = _resolve(actor, values, errors)
        if not errors:
            try:
                preview = services.invoice_request_preview(
                    actor=actor,
                    type=request_type,
                    account=account,
                    business_date=timezone.localdate(),
                    **dates,
                )
            except DomainError as exc:
                errors["general"] = exc.message
            else:
                preview = {"dates": preview, "type": request_type, "account": account}
    return render(
        request, "invoicing/_preview.html", {"preview": preview, "errors": errors, "values": values}
    )


# --- list, export, detail ---------------------------------------------------------------------


def _list_filters(q) -> dict:
    status = (q.get("status") or "").strip().upper()
    return {
        "status": status if status in Status.values else "",
        "account": (q.get("account") or "").strip(),
        "type": (q.get("type") or "").strip(),
    }


@tenant_view(S.INVOICING_VIEW)
def request_list(request: HttpRequest) -> HttpResponse:
    """Every visible request, filtered by status, account and type; CSV export of the same."""
    actor = request.actor
    filters = _list_filters(request.GET)
    page = Paginator(selectors.invoice_request_list(actor, **filters), 25).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "invoicing/requests.html",
        {
            "page": page,
            "f": filters,
            "statuses": Status.values,
            "types": selectors.request_type_list(actor),
            "filter_query": query.urlencode(),
            "can_create": actor.has(S.INVOICING_REQUEST_CREATE),
        },
    )


EXPORT_HEADER = [
    "request",
    "status",
    "type",
    "account",
    "origin",
    "processing_mode",
    "processing_date",
    "cutoff_date",
    "bill_date",
    "accounting_date",
    "created_by",
    "created_at",
    "approved_by",
    "bill",
    "bill_total",
    "reason",
    "error",
]


@tenant_view(S.INVOICING_VIEW)
def request_list_csv(request: HttpRequest) -> HttpResponse:
    """The request list as CSV with the list's filters (core's streamed, formula-safe writer)."""
    qs = selectors.invoice_request_list(request.actor, **_list_filters(request.GET))

    def rows():
        for r in qs.iterator(chunk_size=2000):
            yield [
                r.pk,
                r.status,
                r.type.code,
                r.account.number,
                r.origin,
                r.processing_mode,
                r.processing_date.isoformat(),
                r.cutoff_date.isoformat(),
                r.bill_date.isoformat(),
                r.accounting_date.isoformat(),
                r.created_by.username if r.created_by else "",
                r.created_at.isoformat(),
                r.approved_by.username if r.approved_by else "",
                r.bill_id,
                str(r.bill.total) if r.bill_id else "",
                r.decided_reason,
                r.error,
            ]

    name = f"invoice-requests-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(name, EXPORT_HEADER, rows())


@tenant_view(S.INVOICING_VIEW)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: dates, mode, bill, the actions open to you, and its timeline."""
    actor = request.actor
    try:
        found = selectors.invoice_request_get(actor, pk)
    except NotFound:
        return not_found(request, f"Invoice request {pk}")
    found = screens.with_charge_figures(selectors.invoice_request_list(actor)).get(pk=found.pk)
    return render(
        request,
        "invoicing/request_detail.html",
        {
            "r": found,
            "timeline": screens.request_timeline(actor, found),
            "can_approve": actor.has(S.INVOICING_REQUEST_APPROVE),
            "can_create": actor.has(S.INVOICING_REQUEST_CREATE),
            "own": found.created_by_id == actor.user.pk if actor.user else False,
        },
    )


def _simple_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = request.actor
    try:
        selectors.invoice_request_get(actor, pk)
    except NotFound:
        return not_found(request, f"Invoice request {pk}")
    try:
        if action == "cancel":
            services.invoice_request_cancel(
                actor=actor, request_id=pk, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"Invoice request {pk} cancelled.")
        else:
            services.invoice_request_retry(actor=actor, request_id=pk)
            messages.success(request, f"Invoice request {pk} put back to pending.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("invoicing:request", pk=pk)


@tenant_view(S.INVOICING_REQUEST_CREATE)
@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a request before it is processed."""
    return _simple_action(request, pk, "cancel")


@tenant_view(S.INVOICING_REQUEST_CREATE)
@require_POST
def request_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a failed request back to pending."""
    return _simple_action(request, pk, "retry")
