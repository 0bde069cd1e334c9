"""Billing screens: runs (trigger, live list, detail tabs, downloads)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import charts, pages, selectors
from billing.engine import DecisionClass
from billing.models import AuditPackage, BillingRun, RunPayer
from billing.selectors_workbench import (
    members_in_scope_by_payer,
    split_total,
    totals_by_month_split,
)
from billing.services import exports, package, runs
from billing.views.closes import mark_closed_runs, run_close_context
from billing.views.common import month_input, month_param, not_found
from billing.views.exceptions import exceptions_context
from billing.views.exports import decision_filters, run_filters
from billing.views.forms import field_errors, trigger_confirm_text
from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.labels import label_for
from core.templatetags.present import money, number
from core.views import tenant_view

REGENERATE_REASONS = [
    ("corrected eligibility", "Corrected eligibility (an amended file arrived)"),
    ("rule amendment", "Rule amendment (the calculation changed)"),
    ("manual override", "Manual override to apply retroactively"),
]


# --- runs list and trigger ----------------------------------------------------------------


def _runs_context(request: HttpRequest) -> dict:
    q = request.GET
    chosen, filter_errors = run_filters(q)
    qs = selectors.run_list(request.actor, **chosen).prefetch_related("run_payers__payer")
    if filter_errors:  # a filter typed wrong lists nothing rather than everything
        qs = qs.none()
    page = Paginator(qs, 25).get_page(q.get("page"))
    mark_closed_runs(request.actor, page)
    filters = q.copy()
    filters.pop("page", None)
    return {
        "page": page,
        "any_active": any(r.is_active for r in page),
        "f": q,
        "query": q.urlencode(),
        "filter_query": filters.urlencode(),
        "query_nopage": f"{filters.urlencode()}&" if filters else "",
        "filter_errors": filter_errors,
    }


def _trigger_form(request: HttpRequest, errors: dict | None = None) -> dict:
    """The trigger form's values (as typed), errors and production confirmation text."""
    actor = request.actor
    posted = request.method == "POST"
    data = request.POST if posted else {}
    counts = members_in_scope_by_payer(actor)
    values = {
        "month": data.get("month") or timezone.localdate().strftime("%Y-%m"),
        "payers": data.getlist("payers") if posted else [],
        "all_payers": bool(data.get("all_payers")) if posted else False,
        "mode": data.get("mode", "SIMULATION") if posted else "SIMULATION",
    }
    return {
        "form": values,
        "errors": errors or {},
        "scope_counts": counts,
        "confirm_text": trigger_confirm_text(
            counts,
            [p.upper() for p in values["payers"]],
            values["all_payers"],
            month_param(values["month"]),
            values["mode"],
        ),
    }


TRIGGER_FIELDS = ("month", "payers", "mode")


def _totals_by_month(request: HttpRequest, highlight=None) -> dict:
    """Total charge of completed production runs, month by month (last 12), retro stacked."""
    points = totals_by_month_split(request.actor, months=12)
    return charts.columns(
        [(month.strftime("%b %y"), own, retro) for month, own, retro in points],
        highlight=highlight.strftime("%b %y") if highlight else None,
    )


def _simulation_chart(run: BillingRun, summary: dict) -> dict:
    """A simulation's own total only (never mixed with production figures)."""
    own, retro = split_total(summary)
    return charts.columns([(run.month.strftime("%b %y"), own, retro)], highlight=None, width=260)


@tenant_view(S.BILLING_RUN_VIEW, post_scope=S.BILLING_RUN_TRIGGER)
def run_list(request: HttpRequest) -> HttpResponse:
    """Trigger form (for those who may) and the runs, with live progress."""
    actor = request.actor
    if request.method == "POST":
        payers = request.POST.getlist("payers")
        if request.POST.get("all_payers") or "__all__" in payers:
            payers = "all"
        try:
            month = month_input(request.POST.get("month"))
            run = runs.billing_run_trigger(
                actor=actor, month=month, payers=payers, mode=request.POST.get("mode", "")
            )
        except DomainError as exc:
            # the form again, as typed, with the refusal beside the field it is about
            if exc.code == "month_closed":  # a closed month: beside the month field
                errors = {"month": exc.message}
            else:
                errors = field_errors(exc, TRIGGER_FIELDS, default="payers")
            return _run_list_page(request, _trigger_form(request, errors), status=exc.http_status)
        messages.success(
            request, f"Run #{run.pk} queued: {run.get_mode_display().lower()} {month:%Y-%m}."
        )
        return redirect("billing:run", pk=run.pk)
    trigger = _trigger_form(request) if actor.has(S.BILLING_RUN_TRIGGER) else {}
    return _run_list_page(request, trigger)


def _run_list_page(request: HttpRequest, trigger: dict, status: int = 200) -> HttpResponse:
    actor = request.actor
    context = _runs_context(request)
    if context["filter_errors"] and status == 200:
        status = 400
    context.update(trigger)
    context.update(
        {
            "payers": selectors.visible_payers(actor).filter(active=True).order_by("code"),
            "this_month": timezone.localdate().strftime("%Y-%m"),
            "statuses": BillingRun.Status.choices,
            "modes": BillingRun.Mode.choices,
            "chart": _totals_by_month(request),
            "can_trigger": actor.has(S.BILLING_RUN_TRIGGER),
        }
    )
    return render(request, "billing/runs.html", context, status=status)


@tenant_view(S.BILLING_RUN_VIEW)
def run_rows(request: HttpRequest) -> HttpResponse:
    """The runs table alone (HTMX polls it while a run is queued or running)."""
    return render(request, "billing/_run_rows.html", _runs_context(request))


# --- one run ------------------------------------------------------------------------------

TABS = ("summary", "decisions", "exceptions", "audit", "downloads")
# the columns of the Decisions tab's rows (billing.templatetags.decision_table)
DECISION_ROW_FIELDS = (
    "member__external_id",
    "payer__code",
    "month",
    "decision_class",
    "billable_days",
    "tier",
    "amount",
    "rule_version__version",
    "rule_version__status",  # an FSM model reads its state when built
)


def _summary_context(run: BillingRun, summary: dict) -> dict:
    summary = summary or {}
    by_class = summary.get("by_class") or {}
    order = [c.value for c in DecisionClass]
    items = [
        (
            name,
            label_for(name),
            by_class[name]["count"],
            f"{number(by_class[name]['count'])} · {money(by_class[name]['amount'])}",
        )
        for name in order
        if name in by_class
    ]
    duration = (
        (run.finished_at - run.started_at).total_seconds()
        if run.finished_at and run.started_at
        else None
    )
    return {
        "summary": summary,
        "class_chart": charts.bars(items),
        "by_payer": sorted((summary.get("by_payer") or {}).items()),
        "duration": duration,
    }


def run_page_context(request: HttpRequest, run: BillingRun, tab: str) -> dict:
    """What every tab of the run page shows above its body."""
    # in payer order (the model's); the header, the payer filter and the close panel share them
    run_payers = list(RunPayer.objects.filter(run=run).select_related("payer", "rule_version"))
    return {
        "run": run,
        "tab": tab,
        "tabs": TABS,
        "run_payers": run_payers,
        "reasons": REGENERATE_REASONS,
        "can_trigger": request.actor.has(S.BILLING_RUN_TRIGGER),
        "newer": run.superseded_by.order_by("-id").first(),
        **run_close_context(request.actor, run, run_payers),
    }


@tenant_view(S.BILLING_RUN_VIEW)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Summary, Decisions, Exceptions, Audit and Downloads of one run."""
    actor = request.actor
    try:
        run = selectors.run_get(actor, pk)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    tab = request.GET.get("tab", "summary")
    tab = tab if tab in TABS else "summary"
    context = run_page_context(request, run, tab)
    if tab == "summary":
        summary = selectors.run_summary_for(actor, run)
        context.update(_summary_context(run, summary))
        context["workers"] = selectors.run_workers(actor, run)
        if run.mode == BillingRun.Mode.SIMULATION:
            context["month_chart"] = _simulation_chart(run, summary)
        else:
            context["month_chart"] = _totals_by_month(request, highlight=run.month)
    elif tab == "decisions":
        q = request.GET
        filters = decision_filters(q)
        decisions = (
            selectors.decision_list_read(actor, run, **filters)
            .select_related("payer", "member", "rule_version")
            .only(*DECISION_ROW_FIELDS)  # what a row shows (no inputs, no member names)
            .order_by("id")
        )
        # counts from the run's counters (no COUNT(*)); pages from its page marks (no OFFSET)
        known = selectors.known_decision_count(actor, run, **filters)
        paginator = pages.decision_paginator(
            run, decisions, known=known, decision_class=filters["decision_class"]
        )
        context.update(
            {
                "page": paginator.get_page(q.get("page")),
                "classes": [c.value for c in DecisionClass],
                "f": q,
                "query": "&".join(
                    f"{k}={v}"
                    for k, v in q.items()
                    if k in ("decision_class", "payer", "member") and v
                ),
            }
        )
    elif tab == "exceptions":
        context.update(exceptions_context(request, run))
    elif tab == "audit":
        context["segment"] = package.run_audit_segment(run)[:500]
    else:
        context["package"] = AuditPackage.objects.filter(run=run).first()
    return render(request, "billing/run_detail.html", context)


@tenant_view(S.BILLING_RUN_VIEW)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Status and progress of a run (HTMX polls it while it is queued or running)."""
    try:
        run = selectors.run_get(request.actor, pk)
    except NotFound:
        raise Http404 from None
    response = render(request, "billing/_run_progress.html", {"run": run})
    if (
        not run.is_active
        and request.headers.get("HX-Request")
        and request.GET.get("was") == "active"
    ):
        response["HX-Refresh"] = "true"  # finished: reload once to show the results
    return response


@tenant_view(S.BILLING_RUN_TRIGGER)
@require_POST
def run_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    """Regenerate with a reason (a choice plus free text)."""
    reason = " — ".join(
        part
        for part in (
            request.POST.get("reason_kind", "").strip(),
            request.POST.get("reason", "").strip(),
        )
        if part
    )
    try:
        selectors.run_get(request.actor, pk)
        run = runs.billing_run_regenerate(actor=request.actor, run_id=pk, reason=reason)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("billing:run", pk=pk)
    messages.success(
        request, f"Run #{run.pk} (version {run.version}) queued to regenerate run #{pk}."
    )
    return redirect("billing:run", pk=run.pk)


@tenant_view(S.BILLING_RUN_TRIGGER)
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a queued or running run."""
    try:
        selectors.run_get(request.actor, pk)
        runs.billing_run_cancel(
            actor=request.actor, run_id=pk, reason=request.POST.get("reason", "")
        )
        messages.success(request, f"Run #{pk} cancelled.")
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("billing:run", pk=pk)


@tenant_view(S.BILLING_RUN_VIEW)
def run_export(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """roster.csv or decisions.csv, streamed (the download is audited)."""
    try:
        run = selectors.run_get(request.actor, pk)
        lines = exports.export_lines(actor=request.actor, run=run, kind=kind)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    except DomainError as exc:
        # a plain page with the refusal's status (409 for a simulation's roster), not a file
        return render(
            request,
            "billing/export_refused.html",
            {"run": run, "message": exc.message},
            status=exc.http_status,
        )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{exports.export_filename(run, kind)}"'
    return response


@tenant_view(S.BILLING_RUN_VIEW)
def run_package(request: HttpRequest, pk: int) -> HttpResponse:
    """Download the audit package (GET), or build it again (POST)."""
    try:
        run = selectors.run_get(request.actor, pk)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    if request.method == "POST":
        try:
            package.audit_package_request(actor=request.actor, run_id=run.pk)
            messages.success(request, "The audit package is being built.")
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(f"{reverse('billing:run', args=[pk])}?tab=downloads")
    try:
        pkg = package.audit_package_download(actor=request.actor, run=run)
    except DomainError:
        raise Http404("The audit package is not ready.") from None
    return FileResponse(
        pkg.file.open("rb"), as_attachment=True, filename=pkg.file.name.rsplit("/", 1)[-1]
    )
