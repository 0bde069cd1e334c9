"""Billing screens: a run's exceptions by code, resolved one by one or in bulk, exported."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from billing import selectors
from billing.models import BillingRun, RunException
from billing.services import exceptions as exception_services
from billing.views.common import not_found
from core import scopes as S
from core.exceptions import Conflict, DomainError, NotFound
from core.listexport import csv_response
from core.templatetags.present import month as month_text
from core.templatetags.present import when
from core.views import tenant_view

STATUSES = ("OPEN", "RESOLVED", "ALL")
OUTCOME_KEY = "billing_exception_outcome"  # session: the last bulk resolution, shown once
OUTCOME_LABELS = {
    exception_services.RESOLVED: "Resolved",
    exception_services.ALREADY_RESOLVED: "Already resolved",
    exception_services.NOT_ALLOWED: "Not allowed (another payer's exception)",
    exception_services.NOT_FOUND: "Not found in this run",
}
OUTCOMES_SHOWN = 500
CSV_HEADER = [
    "id",
    "code",
    "payer",
    "member_id",
    "month",
    "message",
    "status",
    "resolved_by",
    "resolved_at",
    "resolution",
]


def _filters(source) -> tuple[str, str]:
    """(status, code) of the list from a query string or a posted form."""
    status = (source.get("status") or "OPEN").upper()
    code = (source.get("code") or "").strip().upper()
    return (status if status in STATUSES else "OPEN"), code


def _member_url(run: BillingRun, exc: RunException) -> str:
    # MEMBER LINK: helper bmember adds `billing:member` (the member's page, by member pk). Until
    # it is on this branch the link opens the member's decisions in this run.
    try:
        return reverse("billing:member", args=[exc.member_id])
    except NoReverseMatch:
        query = urlencode({"tab": "decisions", "member": exc.member.external_id})
        return f"{reverse('billing:run', args=[run.pk])}?{query}"


def _with_links(request: HttpRequest, run: BillingRun, rows: list[RunException]) -> None:
    """Attach the member's link and the id of the member's decision in the run to each row."""
    members = {e.member_id for e in rows if e.member_id}
    decisions = {
        (payer, member, month): pk
        for pk, payer, member, month in selectors.decision_list(request.actor, run)
        .filter(member_id__in=members)
        .values_list("id", "payer_id", "member_id", "month")
    }
    for e in rows:
        e.member_url = _member_url(run, e) if e.member_id else ""
        e.decision_id = decisions.get((e.payer_id, e.member_id, e.month))


def _closed_note(newer: BillingRun | None) -> str:
    if newer is None:
        return "Closed by supersession"
    return f"Closed by supersession (run {newer.pk} replaced this one)"


def exceptions_context(
    request: HttpRequest,
    run: BillingRun,
    *,
    status: str | None = None,
    code: str | None = None,
    form: dict | None = None,
) -> dict:
    """The Exceptions tab: groups per code, the filtered list, the last bulk outcome."""
    actor = request.actor
    got_status, got_code = _filters(request.GET)
    status, code = status or got_status, got_code if code is None else code
    closed = run.status == BillingRun.Status.SUPERSEDED
    newer = selectors.replacing_run(run) if closed else None
    items = selectors.exception_list_read(
        actor, run, status="" if status == "ALL" else status, code=code
    ).order_by("id")
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    _with_links(request, run, rows)
    groups = selectors.exception_groups(actor, run)
    outcome = request.session.get(OUTCOME_KEY)
    if outcome and outcome.get("run") == run.pk:
        del request.session[OUTCOME_KEY]
        outcome["rows"] = [(pk, c, OUTCOME_LABELS[o], o) for pk, c, o in outcome["items"]]
    else:
        outcome = None
    return {
        "exc_rows": rows,
        "exc_page": page,
        "exc_status": status,
        "exc_code": code,
        "exc_query": urlencode({k: v for k, v in (("status", status), ("code", code)) if v}),
        "exc_groups": groups,
        "exc_open": sum(g["open"] for g in groups),
        "exc_resolved": sum(g["resolved"] for g in groups),
        "exc_closed": closed,
        "exc_closed_note": _closed_note(newer) if closed else "",
        "exc_newer": newer,
        "exc_can_resolve": actor.has(S.BILLING_EXCEPTION_RESOLVE) and not closed,
        "exc_outcome": outcome,
        "exc_form": form or {},
    }


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.strip().isdigit()]


@tenant_view(S.BILLING_EXCEPTION_RESOLVE)
@require_POST
def run_exceptions_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve all open exceptions of one code, or the ticked ones, with one note."""
    actor, p = request.actor, request.POST
    code, ids = p.get("code", "").strip().upper(), _ids(p.getlist("ids"))
    status, code_filter = _filters({"status": p.get("status"), "code": p.get("filter")})
    back = f"{reverse('billing:run', args=[pk])}?tab=exceptions"
    try:
        run = selectors.run_get(actor, pk)
        result = exception_services.run_exceptions_resolve(
            actor=actor, run_id=pk, resolution=p.get("resolution", ""), code=code, ids=ids
        )
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    except Conflict as err:
        messages.error(request, err.message)
        return redirect(back)
    except DomainError as err:
        from billing.views.runs import run_page_context

        field = (err.details or {}).get("field", "resolution")
        form = {
            "which": code or "selection",
            "ids": set(ids),
            "resolution": p.get("resolution", ""),
            "field": field,
            "error": capfirst(err.message.split(": ", 1)[-1]),
        }
        context = run_page_context(request, run, "exceptions")
        context.update(exceptions_context(request, run, status=status, code=code_filter, form=form))
        return render(request, "billing/run_detail.html", context, status=400)
    counts = result.counts
    request.session[OUTCOME_KEY] = {
        "run": pk,
        "what": f"all open {code}" if code else "the selected exceptions",
        "counts": counts,
        "total": len(result.items),
        "items": [(i.id, i.code, i.outcome) for i in result.items[:OUTCOMES_SHOWN]],
    }
    summary = ", ".join(
        f"{n} {OUTCOME_LABELS[o].split(' (')[0].lower()}" for o, n in counts.items() if n
    )
    messages.success(
        request, f"Run {pk}: {summary}. The run is {result.run.get_status_display().lower()}."
    )
    query = urlencode({k: v for k, v in (("status", status), ("code", code_filter)) if v})
    return redirect(f"{back}&{query}")


@tenant_view(S.BILLING_EXCEPTION_RESOLVE)
@require_POST
def exception_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve one exception with a note."""
    try:
        exc = selectors.exception_get(request.actor, pk)
    except NotFound:
        return not_found(request, f"Exception {pk}")
    try:
        exception_services.run_exception_resolve(
            actor=request.actor, exception_id=pk, resolution=request.POST.get("resolution", "")
        )
        messages.success(request, f"Exception {pk} resolved.")
    except NotFound:
        return not_found(request, f"Exception {pk}")
    except DomainError as err:
        messages.error(request, err.message)
    return redirect(f"{reverse('billing:run', args=[exc.run_id])}?tab=exceptions")


@tenant_view(S.BILLING_RUN_VIEW)
def run_exceptions_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The exceptions list as shown (status and code filters from the URL), as CSV."""
    actor = request.actor
    try:
        run = selectors.run_get(actor, pk)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    status, code = _filters(request.GET)
    items = exception_services.exception_export(
        actor=actor, run=run, status="" if status == "ALL" else status, code=code
    )
    closed = run.status == BillingRun.Status.SUPERSEDED
    note = _closed_note(selectors.replacing_run(run)) if closed else ""

    def rows():
        for e in items.iterator(chunk_size=2000):
            shut = closed and e.status == RunException.Status.OPEN
            yield [
                e.pk,
                e.code,
                e.payer.code if e.payer_id else "",
                e.member.external_id if e.member_id else "",
                month_text(e.month) if e.month else "",
                e.message,
                "CLOSED_BY_SUPERSESSION" if shut else e.status,
                e.resolved_by.username if e.resolved_by_id else "",
                when(e.resolved_at),
                note if shut else e.resolution,
            ]

    return csv_response(
        f"exceptions-run{run.pk}-{run.month:%Y-%m}-v{run.version}.csv", CSV_HEADER, rows()
    )
