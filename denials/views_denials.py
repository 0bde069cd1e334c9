"""The denials work queue (issue 14 item 7): filters, counters and a chart, assign to me, bulk
work / write-off applied one by one with each outcome reported, and the CSV of the filtered list.

The state services come from the denial-flow part (`denials.services.denial_work`); they are
imported when an action runs. The screen checks the scope for a friendly 403; the services
check it again and own every rule."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import selectors as billing_selectors
from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.listexport import csv_response
from core.phi_reads import PHI_EXPORT, PHI_SEARCH, record_phi_access
from core.views import tenant_view
from denials import selectors_denials as sel
from denials.models import Denial
from denials.views_rec_common import back, not_found

SUBNAV = "denials/_subnav.html"
REASON_MAX = 1000
BULK_MAX = 200
BULK_ACTIONS = {"work": "Work", "write_off": "Write off"}
FILTERS = ("payer", "carc", "group", "age", "status", "assignee")
STATUS_BADGE = {
    Denial.Status.OPEN: "red",
    Denial.Status.IN_PROGRESS: "amber",
    Denial.Status.RESOLVED: "green",
    Denial.Status.WRITTEN_OFF: "blue",
    Denial.Status.VOIDED: "",
}


def queue_filters(query) -> dict:
    """The list filters from a query string, unknown values dropped (never an error)."""
    f = {k: (query.get(k) or "").strip()[:40] for k in FILTERS}
    f["status"] = f["status"].upper() if f["status"].upper() in Denial.Status.values else ""
    f["age"] = f["age"] if f["age"] in sel.AGE_BUCKETS else ""
    f["group"] = f["group"].upper()[:2]
    return f


def _bars(pairs: list[tuple[str, int]]) -> dict:
    """Horizontal bars (label, count) scaled to the largest count."""
    return {"rows": pairs, "max": max([n for _, n in pairs] or [0]) or 1}


@tenant_view(S.CLAIMS_VIEW)
def denial_queue(request: HttpRequest) -> HttpResponse:
    """Denials to work, filterable by payer, CARC, group, age bucket, status and assignee."""
    actor = request.actor
    f = queue_filters(request.GET)
    qs = sel.denial_list(actor, **f)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = list(page.object_list)
    for d in rows:
        d.age = sel.age_days(d, today)
        d.carc_text = sel.carc_label(d.carc)
        d.badge = STATUS_BADGE.get(d.status, "")
        d.workable = d.status in Denial.WORKABLE
    record_phi_access(actor, PHI_SEARCH, object_type="denials.Denial", shown=len(rows))
    counts = sel.denial_counts(actor, qs, today)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "denials/denials.html",
        {
            "subnav": SUBNAV,
            "page": page,
            "rows": rows,
            "f": f,
            "statuses": Denial.Status.choices,
            "ages": sel.AGE_BUCKETS,
            "payers": billing_selectors.visible_payers(actor).order_by("code"),
            "assignees": sel.assignees(actor),
            "counts": counts,
            "age_chart": _bars(counts["age"]),
            "carc_chart": _bars(counts["carc"]),
            "can_write": actor.has(S.BILLING_DENIAL_WRITE),
            "bulk_actions": BULK_ACTIONS,
            "filter_query": query.urlencode(),
        },
    )


CSV_HEADER = [
    "denial",
    "claim",
    "payer",
    "group",
    "carc",
    "carc_text",
    "rarcs",
    "amount",
    "open_amount",
    "opened",
    "age_days",
    "status",
    "assignee",
    "remittance_trace",
]


def _cents(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


@tenant_view(S.CLAIMS_VIEW)
def denial_queue_csv(request: HttpRequest) -> HttpResponse:
    """The work queue as CSV with its filters (core's streamed, formula-safe writer)."""
    actor = request.actor
    qs = sel.denial_list(actor, **queue_filters(request.GET))
    record_phi_access(actor, PHI_EXPORT, object_type="denials.Denial", rows=qs.count())
    today = timezone.localdate()

    def rows():
        for d in qs.iterator(chunk_size=2000):
            yield [
                d.pk,
                d.claim.number,
                d.claim.payer.code,
                d.group_code,
                d.carc,
                sel.carc_label(d.carc),
                " ".join(d.rarcs or []),
                _cents(d.amount),
                _cents(d.open_amount),
                timezone.localdate(d.created_at).isoformat(),
                sel.age_days(d, today),
                d.status,
                d.assignee.username if d.assignee_id else "",
                d.remittance_claim.remittance.trace_number,
            ]

    return csv_response(f"denials-{today:%Y-%m-%d}.csv", CSV_HEADER, rows())


@tenant_view(S.BILLING_DENIAL_WRITE)
@require_POST
def denial_assign_me(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign one denial to the signed-in person (no state change)."""
    actor = request.actor
    try:
        denial = sel.denial_get(actor, pk)
    except NotFound:
        return not_found(request, f"Denial {pk}")
    from denials.services.denial_work import denial_assign

    try:
        denial_assign(actor=actor, denial_id=denial.pk, user_id=request.user.pk)
    except DomainError as exc:
        messages.error(request, f"Denial {pk}: {exc.message}")
    else:
        messages.success(request, f"Denial {pk} ({denial.claim.number}) is assigned to you.")
    return back(request, "denials:denials")


def _ids(request: HttpRequest) -> list[int]:
    out = []
    for text in request.POST.getlist("denial"):
        text = text.strip()
        if text.isdigit() and len(text) <= 18 and int(text) not in out:
            out.append(int(text))
    return out


@tenant_view(S.BILLING_DENIAL_WRITE)
@require_POST
def denial_bulk(request: HttpRequest) -> HttpResponse:
    """Work or write off the ticked denials one by one; each outcome is reported."""
    actor = request.actor
    action = request.POST.get("action") or ""
    ids = _ids(request)
    reason = (request.POST.get("reason") or "").strip()
    error = ""
    if action not in BULK_ACTIONS:
        error = "action: choose Work or Write off."
    elif not ids:
        error = "Tick at least one denial."
    elif len(ids) > BULK_MAX:
        error = f"At most {BULK_MAX} denials at once."
    elif action == "write_off" and not reason:
        error = "reason: a write-off needs a reason (one reason for every denial ticked)."
    elif len(reason) > REASON_MAX:
        error = f"reason: at most {REASON_MAX} characters."
    if error:
        messages.error(request, error)
        return back(request, "denials:denials")
    from denials.services.denial_work import denials_bulk

    outcomes = denials_bulk(actor=actor, denial_ids=ids, action=action, reason=reason)
    done = [o for o in outcomes if o.get("ok")]
    verb = BULK_ACTIONS[action]
    summary = f"{verb}: {len(done)} of {len(outcomes)} denials done"
    failed = len(outcomes) - len(done)
    (messages.success if not failed else messages.warning)(
        request, summary + (f", {failed} refused." if failed else ".")
    )
    for o in outcomes:
        status = Denial.Status(o["status"]).label if o.get("status") in Denial.Status.values else ""
        if o.get("ok"):
            messages.success(request, f"Denial {o['denial']}: {status.lower()}.")
        else:
            messages.error(request, f"Denial {o['denial']}: refused: {o.get('error') or status}")
    return back(request, "denials:denials")


def status_badge(denial: Denial) -> str:
    """The badge colour class of a denial's status."""
    return STATUS_BADGE.get(denial.status, "")
