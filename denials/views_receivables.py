"""Receivables screens: the queue of remittance claims waiting for a person (ranked candidates side
by side with the signals that agree and disagree), force-match with a reason, unmatch, and the
forced-match report with its chart (issue 13 items 7 and 12).

The force-match and unmatch services come from the posting part
(`denials.services.receivables`); they are imported when an action runs."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import selectors as billing_selectors
from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.models import OverrideRequest
from core.months import MonthError, parse_month
from core.phi_reads import PHI_VIEW, record_phi_access
from core.views import tenant_view
from denials import charts_rec
from denials import selectors_screens_rec as rec
from denials.balances import with_amounts
from denials.models import Claim, RemittanceClaim
from denials.views_rec_common import SUBNAV, back, claim_url, not_found
from denials.views_remittances import line_view, threshold_of

MatchState = RemittanceClaim.MatchState
REASON_MAX = 1000


# --- the queue ----------------------------------------------------------------------------------


def _queue_page(request: HttpRequest, *, errors: dict | None = None, status: int = 200):
    actor = request.actor
    payer = (request.GET.get("payer") or "").strip()[:30]
    page = Paginator(rec.queue_screen_list(actor, payer=payer), 20).get_page(
        request.GET.get("page")
    )
    rows = rec.queue_rows(actor, list(page.object_list))
    for row in rows:
        for cand in row.candidates:
            cand.url = claim_url(cand.claim.number) if cand.claim else ""
    record_phi_access(
        actor,
        PHI_VIEW,
        object_type="denials.RemittanceClaim",
        screen="receivables queue",
        shown=len(rows),
        page=page.number,
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "denials/queue.html",
        {
            "subnav": SUBNAV,
            "page": page,
            "rows": rows,
            "payer": payer,
            "payers": billing_selectors.visible_payers(actor).order_by("code"),
            "threshold": threshold_of(actor.tenant),
            "can_override": actor.has(S.BILLING_RECEIVABLE_OVERRIDE),
            "errors": errors or {},
            "filter_query": query.urlencode(),
        },
        status=status,
    )


@tenant_view(S.CLAIMS_VIEW)
def queue(request: HttpRequest) -> HttpResponse:
    """Remittance claims waiting for a person, each with its ranked candidates side by side."""
    return _queue_page(request)


# --- force-match and unmatch --------------------------------------------------------------------


def _reason(request: HttpRequest) -> str:
    return (request.POST.get("reason") or "").strip()


def _refuse(request: HttpRequest, line_pk: int, field: str, message: str, status: int):
    """Show the refusal: back to ?next= with a message, else the queue with it beside the line."""
    if request.POST.get("next"):
        messages.error(request, message)
        return back(request, "denials:queue")
    return _queue_page(request, errors={line_pk: {field: message}}, status=status)


def _balance_text(claim_id: int) -> str:
    from core.templatetags.present import money

    found = with_amounts(Claim.objects.filter(pk=claim_id)).values_list("number", "balance")
    number, balance = found.get()
    return f"claim {number} balance is now {money(balance)}"


def _chosen_claim(request: HttpRequest, line: RemittanceClaim) -> int:
    """The claim id picked on a candidate card, or the claim number typed (NotFound/ValueError):
    a visible claim of the line's payer either way."""
    payer_id = line.remittance.payer_id
    number = (request.POST.get("claim_number") or "").strip()
    if number:
        return rec.claim_for_force_match(request.actor, payer_id, number=number[:40]).pk
    text = (request.POST.get("claim") or "").strip()
    if not text.isdigit() or len(text) > 18:
        raise ValueError("claim: choose a candidate claim or type a claim number.")
    return rec.claim_for_force_match(request.actor, payer_id, pk=int(text)).pk


@tenant_view(S.BILLING_RECEIVABLE_OVERRIDE)
@require_POST
def force_match(request: HttpRequest, pk: int) -> HttpResponse:
    """Match a waiting line to a claim the matcher did not choose, with a reason (dual control)."""
    actor = request.actor
    try:
        line = rec.remittance_claim_screen_get(actor, pk)
    except NotFound:
        return not_found(request, f"Remittance line {pk}")
    reason = _reason(request)
    if not reason:
        return _refuse(request, pk, "reason", "reason: a force-match needs a reason.", 400)
    if len(reason) > REASON_MAX:
        return _refuse(request, pk, "reason", f"reason: at most {REASON_MAX} characters.", 400)
    try:
        claim_id = _chosen_claim(request, line)
    except (NotFound, ValueError) as exc:
        text = exc.message if isinstance(exc, NotFound) else str(exc)
        return _refuse(request, pk, "claim", text, 400)
    from denials.services.receivables import remittance_claim_force_match

    try:
        result = remittance_claim_force_match(
            actor=actor, remittance_claim_id=pk, claim_id=claim_id, reason=reason
        )
    except DomainError as exc:
        return _refuse(request, pk, "general", exc.message, exc.http_status)
    what = f"Remittance line {line.payer_claim_control_number}"
    if isinstance(result, OverrideRequest):
        messages.success(
            request,
            f"{what}: the force-match waits for a second person's approval "
            f"(override request {result.pk}).",
        )
    else:
        messages.success(request, f"{what} force-matched; {_balance_text(claim_id)}.")
    return back(request, "denials:queue")


@tenant_view(S.BILLING_RECEIVABLE_OVERRIDE)
@require_POST
def unmatch(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a match with a reason: what was posted is reversed and the line waits again."""
    actor = request.actor
    try:
        line = rec.remittance_claim_screen_get(actor, pk)
    except NotFound:
        return not_found(request, f"Remittance line {pk}")
    reason = _reason(request)
    error = ""
    status = 400
    if not reason:
        error = "reason: unmatching needs a reason."
    elif len(reason) > REASON_MAX:
        error = f"reason: at most {REASON_MAX} characters."
    else:
        from denials.services.receivables import remittance_claim_unmatch

        try:
            remittance_claim_unmatch(actor=actor, remittance_claim_id=pk, reason=reason)
        except DomainError as exc:
            error, status = exc.message, exc.http_status
    if error:
        return _remittance_with_error(request, line, error, status)
    number = line.claim.number if line.claim_id else ""
    messages.success(
        request,
        f"Remittance line {line.payer_claim_control_number} unmatched from claim {number}; "
        "what was posted is reversed and the line waits in the queue.",
    )
    return back(request, "denials:remittance", pk=line.remittance_id)


def _remittance_with_error(request: HttpRequest, line: RemittanceClaim, error: str, status: int):
    actor = request.actor
    lines = rec.remittance_claim_rows(actor, line.remittance)
    return render(
        request,
        "denials/remittance_detail.html",
        {
            "subnav": SUBNAV,
            "r": line.remittance,
            "rows": [line_view(x) for x in lines],
            "threshold": threshold_of(actor.tenant),
            "can_override": actor.has(S.BILLING_RECEIVABLE_OVERRIDE),
            "errors": {line.pk: error},
        },
        status=status,
    )


# --- forced-match report ------------------------------------------------------------------------


def _percent(rate) -> str:
    return f"{rate * 100:.1f} %"


@tenant_view(S.CLAIMS_VIEW)
def forced_report(request: HttpRequest) -> HttpResponse:
    """Forced-match rate per month (last 12 months, or one month), by user and by payer."""
    actor = request.actor
    text = (request.GET.get("month") or "").strip()
    month, error = None, ""
    if text:
        try:
            month = parse_month(text)
        except MonthError as exc:
            error = f"month: {exc}"
    since = rec.months_back(timezone.localdate(), 12)
    months = [] if error else rec.forced_match_report(actor, month=month, since=since)
    for m in months:
        m["percent"] = _percent(m["rate"])
        for entry in m["by_user"] + m["by_payer"]:
            entry["percent"] = _percent(entry["rate"])
    chart = charts_rec.rate_columns(
        [m["month"].strftime("%Y-%m") for m in reversed(months)],
        [m["rate"] for m in reversed(months)],
        [(m["forced"], m["matched"]) for m in reversed(months)],
    )
    return render(
        request,
        "denials/forced_report.html",
        {
            "subnav": SUBNAV,
            "months": months,
            "chart": chart,
            "month_text": text,
            "error": error,
        },
        status=400 if error else 200,
    )
