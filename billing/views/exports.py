"""Billing screens: "Export CSV" of the runs list and of a run's Decisions tab (filters kept)."""

from __future__ import annotations

from itertools import chain

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from billing import selectors
from billing.engine import DecisionClass
from billing.models import BillingRun
from billing.services import list_exports
from billing.services.exports import SIMULATION_MARKER
from billing.views.common import month_filter, not_found
from core import scopes as S
from core.exceptions import NotFound
from core.listexport import csv_lines, csv_response
from core.views import tenant_view


def run_filters(q) -> tuple[dict, dict[str, str]]:
    """The runs list's filters from the query string (the same on screen and in the export),
    and the errors to show beside the fields typed wrong."""
    month, month_error = month_filter(q)
    filters = {
        "month": month,
        "payer": q.get("payer", ""),
        "status": q.get("status", ""),
        "mode": q.get("mode", ""),
    }
    return filters, ({"month": month_error} if month_error else {})


def filter_error_response(errors: dict[str, str]) -> HttpResponse:
    """A list export refused for a filter typed wrong: 400 naming the field."""
    text = "; ".join(f"{field}: {message}" for field, message in errors.items())
    return HttpResponse(text + "\n", status=400, content_type="text/plain; charset=utf-8")


def decision_filters(q) -> dict:
    """The Decisions tab's filters (class, payer, member) from the query string."""
    cls = q.get("decision_class", "")
    return {
        "decision_class": cls if cls in DecisionClass.__members__ else "",
        "payer": q.get("payer", ""),
        "member": q.get("member", "").strip(),
    }


@tenant_view(S.BILLING_RUN_VIEW)
def run_list_csv(request: HttpRequest) -> HttpResponse:
    """The runs list as CSV, with the filters of the list (streamed)."""
    filters, errors = run_filters(request.GET)
    if errors:
        return filter_error_response(errors)
    header, rows = list_exports.run_list_export(request.actor, filters=filters)
    return csv_response(f"billing-runs-{timezone.localdate():%Y-%m-%d}.csv", header, rows)


@tenant_view(S.BILLING_RUN_VIEW)
def run_decisions_list_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """A run's Decisions tab as CSV, with its filters; a simulation's file says so."""
    try:
        run = selectors.run_get(request.actor, pk)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    header, rows = list_exports.decision_list_export(
        request.actor, run=run, filters=decision_filters(request.GET)
    )
    if run.mode != BillingRun.Mode.SIMULATION:
        return csv_response(f"decisions-list-run{run.pk}-{run.month:%Y-%m}.csv", header, rows)
    response = StreamingHttpResponse(
        chain([SIMULATION_MARKER + "\n"], csv_lines(header, rows)),
        content_type="text/csv; charset=utf-8",
    )
    name = f"simulation-run-{run.pk}-{run.month:%Y-%m}-decisions-list.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@tenant_view(S.BILLING_RUN_VIEW)
def override_list_csv(request: HttpRequest) -> HttpResponse:
    """The member-month overrides list as CSV (streamed, payer grants respected)."""
    header, rows = list_exports.override_list_export(request.actor)
    return csv_response(f"billing-overrides-{timezone.localdate():%Y-%m-%d}.csv", header, rows)
