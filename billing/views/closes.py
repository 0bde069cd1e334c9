"""Billing screens: month close (close a payer's month from its run, the list, reopen)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing import selectors, selectors_close
from billing.models import BillingRun, MonthClose
from billing.services import closes
from billing.views.common import month_filter, not_found
from billing.views.exports import filter_error_response
from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.listexport import csv_response
from core.overrides import needs_second_person
from core.views import tenant_view


def mark_closed_runs(actor, runs) -> None:
    """Set `closed_payers` (codes whose month is closed) on each run of a list page."""
    closed = selectors_close.closed_payers_by_run(actor, runs)
    for run in runs:
        run.closed_payers = closed.get(run.pk, [])


def run_close_context(actor, run: BillingRun, run_payers: list | None = None) -> dict:
    """What the run page's month-close panel shows (`run_payers`: already read, payer order)."""
    return {"close_panel": selectors_close.run_close_panel(actor, run, run_payers)}


def _field_of(exc: DomainError) -> str:
    head, sep, _ = exc.message.partition(":")
    return head if sep and head.isidentifier() else ""


@tenant_view(S.BILLING_RUN_TRIGGER)
def month_close_form(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a payer's month on this run: the figures, a note, open exceptions confirmed."""
    actor = request.actor
    try:
        run = selectors.run_get(actor, pk)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    data = request.POST if request.method == "POST" else request.GET
    code = data.get("payer", "").strip().upper()
    panel = selectors_close.run_close_panel(actor, run)
    row = next((r for r in panel if r["payer"].code == code), None)
    if row is None:
        return not_found(request, f"Payer {code or '(none)'} in run {pk}")
    context = {"run": run, "row": row, "typed": data, "error": None, "field": ""}
    status = 200
    if request.method == "POST":
        confirmed = data.get("confirm_open_exceptions", "").strip()
        try:
            close = closes.month_close(
                actor=actor,
                payer_code=code,
                month=run.month,
                note=data.get("note", ""),
                run_id=run.pk,
                confirm_open_exceptions=int(confirmed) if confirmed.isdigit() else None,
            )
        except DomainError as exc:
            context.update(error=exc.message, field=_field_of(exc))
            status = exc.http_status
        else:
            messages.success(
                request,
                f"{close.month:%Y-%m} closed for {code} on run #{run.pk}: regeneration and new "
                "production runs are refused until it is reopened.",
            )
            return redirect("billing:run", pk=run.pk)
    return render(request, "billing/month_close_form.html", context, status=status)


def _list_context(request: HttpRequest) -> dict:
    q = request.GET
    query = q.copy()
    query.pop("page", None)
    month, month_error = month_filter(q)
    closes_qs = selectors_close.month_close_list(
        request.actor,
        payer=q.get("payer", ""),
        month=month,
        status=q.get("status", "") if q.get("status", "") in MonthClose.Status.values else "",
    )
    if month_error:  # a filter typed wrong lists nothing rather than everything
        closes_qs = closes_qs.none()
    return {
        "filter_errors": {"month": month_error} if month_error else {},
        "page": Paginator(closes_qs, 50).get_page(q.get("page")),
        "f": q,
        "query": query.urlencode(),
        "statuses": MonthClose.Status.choices,
        "can_reopen": request.actor.has(S.BILLING_RUN_TRIGGER),
        "dual_control": needs_second_person(request.actor, S.BILLING_RUN_TRIGGER),
        "reopen_error": None,
        "reopen_pk": None,
        "typed_reason": "",
    }


@tenant_view(S.BILLING_RUN_VIEW)
def month_close_list(request: HttpRequest) -> HttpResponse:
    """Closes per payer and month: state, who, when, the run; reopen with a reason."""
    context = _list_context(request)
    return render(
        request,
        "billing/month_closes.html",
        context,
        status=400 if context["filter_errors"] else 200,
    )


@tenant_view(S.BILLING_RUN_VIEW)
def month_close_export(request: HttpRequest) -> HttpResponse:
    """The list as CSV, with the same filters."""
    if errors := _list_context(request)["filter_errors"]:
        return filter_error_response(errors)
    rows = (
        (
            c.pk,
            c.payer.code,
            f"{c.month:%Y-%m}",
            c.status,
            c.run_id,
            c.run.version,
            c.members,
            c.amount,
            c.open_exceptions,
            c.closed_by.username if c.closed_by else "system",
            c.closed_at.isoformat(),
            c.note,
            c.reopened_by.username if c.reopened_by else "",
            c.reopened_at.isoformat() if c.reopened_at else "",
            c.reopen_reason,
        )
        for c in _list_context(request)["page"].paginator.object_list.iterator()
    )
    header = [
        "id",
        "payer",
        "month",
        "status",
        "run",
        "run_version",
        "members",
        "amount",
        "open_exceptions",
        "closed_by",
        "closed_at",
        "note",
        "reopened_by",
        "reopened_at",
        "reopen_reason",
    ]
    return csv_response("month-closes.csv", header, rows)


@tenant_view(S.BILLING_RUN_TRIGGER)
@require_POST
def month_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Reopen with a reason (or file it for a second person under dual control)."""
    reason = request.POST.get("reason", "")
    try:
        close = selectors_close.month_close_get(request.actor, pk)
        outcome = closes.month_reopen(actor=request.actor, close_id=pk, reason=reason)
    except NotFound:
        return not_found(request, f"Month close {pk}")
    except DomainError as exc:
        context = _list_context(request)
        context.update(reopen_error=exc.message, reopen_pk=pk, typed_reason=reason)
        return render(request, "billing/month_closes.html", context, status=exc.http_status)
    what = f"{close.month:%Y-%m} for {close.payer.code}"
    if outcome.executed:
        messages.success(request, f"{what} reopened: it may be regenerated.")
    else:
        messages.success(
            request,
            f"Reopening {what} waits for a second person's approval "
            f"(override request #{outcome.request.pk}).",
        )
    query = request.GET.urlencode()
    return redirect(f"{reverse('billing:month-closes')}{'?' + query if query else ''}")
