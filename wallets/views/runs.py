"""Prepaid run screens: the list with the trigger form and live rows, one run's live page."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.views import tenant_view
from invoicing.models import Account
from wallets import selectors_runs as run_reads
from wallets.forms import TriggerForm, field_errors
from wallets.models import PrepaidBillingRun
from wallets.services import runs
from wallets.views.common import decorate_items, decorate_run, not_found

RUNS_PAGE, ITEMS_PAGE = 25, 50


def _decorate(rows):
    now = timezone.now()
    return [decorate_run(r, now) for r in rows]


def _rows_context(request: HttpRequest) -> dict:
    page = Paginator(run_reads.prepaid_run_list(actor=request.actor), RUNS_PAGE).get_page(
        request.GET.get("page")
    )
    rows = _decorate(list(page.object_list))
    return {"page": page, "rows": rows, "any_active": any(r.live for r in rows)}


def _classifications(actor) -> list[str]:
    """The account classifications of the tenant (the trigger form's choices)."""
    return list(
        Account.objects.filter(tenant=actor.tenant)
        .exclude(classification="")
        .values_list("classification", flat=True)
        .distinct()
        .order_by("classification")
    )


def _list_page(request, form: TriggerForm, errors: dict, status: int = 200) -> HttpResponse:
    actor = request.actor
    context = _rows_context(request)
    context.update(
        {
            "form": form,
            "errors": errors,
            "can_trigger": actor.has(S.WALLETS_RUN_TRIGGER),
            "trigger_label": S.SCOPE_LABELS[S.WALLETS_RUN_TRIGGER],
            "estimations": PrepaidBillingRun.Estimation.choices,
            "classifications": _classifications(actor),
            "today": timezone.localdate().isoformat(),
        }
    )
    return render(request, "wallets/runs.html", context, status=status)


@tenant_view(S.WALLETS_VIEW, post_scope=S.WALLETS_RUN_TRIGGER)
def prepaid_run_list(request: HttpRequest) -> HttpResponse:
    """The prepaid runs (live while running) and, for those who may, the trigger form."""
    if request.method != "POST":
        return _list_page(request, TriggerForm(as_of=timezone.localdate().isoformat()), {})
    form = TriggerForm.from_post(request.POST)
    try:
        run = runs.prepaid_run_trigger(actor=request.actor, **form.trigger_kwargs())
    except DomainError as exc:
        errors = field_errors(exc, TriggerForm.FIELDS)
        return _list_page(request, form, errors, status=exc.http_status)
    messages.success(request, f"Prepaid run #{run.pk} queued as of {run.as_of:%Y-%m-%d}.")
    return redirect("wallets:run", pk=run.pk)


@tenant_view(S.WALLETS_VIEW)
def prepaid_run_rows(request: HttpRequest) -> HttpResponse:
    """The runs table alone (HTMX polls it while a run is a draft or rating)."""
    return render(request, "wallets/_run_rows.html", _rows_context(request))


def _run_context(request: HttpRequest, run: PrepaidBillingRun) -> dict:
    items = run_reads.prepaid_run_items(actor=request.actor, run_id=run.pk).order_by(
        "account_id", "service_id", "start", "id"
    )
    errors = run_reads.prepaid_run_errors(actor=request.actor, run_id=run.pk)
    not_billed_count, not_billed_total = run_reads.prepaid_run_not_billed(
        actor=request.actor, run_id=run.pk
    )
    decorate_run(run, timezone.now())
    page = Paginator(items, ITEMS_PAGE).get_page(request.GET.get("page"))
    return {
        "run": run,
        "items": decorate_items(page.object_list),
        "page": page,
        "errors": errors,
        "successor": PrepaidBillingRun.objects.filter(previous=run).first(),
        "not_billed_count": not_billed_count,
        "not_billed_total": not_billed_total,
    }


@tenant_view(S.WALLETS_VIEW)
def prepaid_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Live progress, counters, debited total, errors, rated items, successor when recurring."""
    try:
        run = run_reads.prepaid_run_get(actor=request.actor, pk=pk)
    except NotFound:
        return not_found(request, f"Prepaid run {pk}")
    return render(request, "wallets/run_detail.html", _run_context(request, run))


@tenant_view(S.WALLETS_VIEW)
def prepaid_run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Status, progress and counters of a run (HTMX polls it while it is active)."""
    try:
        run = run_reads.prepaid_run_get(actor=request.actor, pk=pk)
    except NotFound:
        raise Http404 from None
    decorate_run(run, timezone.now())
    response = render(request, "wallets/_run_progress.html", {"run": run})
    if not run.live and request.headers.get("HX-Request") and request.GET.get("was") == "active":
        response["HX-Refresh"] = "true"  # finished: reload once to show errors and items
    return response
