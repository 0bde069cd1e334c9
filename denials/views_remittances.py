"""Remittance screens: the list (filters by trace, payer, waiting lines) and a remittance's page
with each CLP, its match state and the evidence behind it (issue 13 item 12)."""

from __future__ import annotations

from decimal import Decimal

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing import selectors as billing_selectors
from core import scopes as S
from core.exceptions import NotFound
from core.listexport import csv_response
from core.phi_reads import PHI_VIEW, record_phi_access
from core.views import tenant_view
from denials import selectors_screens_rec as rec
from denials.models import ClaimsSettings, RemittanceClaim
from denials.views_rec_common import SUBNAV, claim_url, not_found

STATES = ("", "WAITING")
# CLP02 claim status codes as people read them
CLP_STATUS = {
    "1": "Processed as primary",
    "2": "Processed as secondary",
    "3": "Processed as tertiary",
    "4": "Denied",
    "19": "Processed as primary, forwarded",
    "20": "Processed as secondary, forwarded",
    "21": "Processed as tertiary, forwarded",
    "22": "Reversal of a previous payment",
    "23": "Not our claim, forwarded",
    "25": "Predetermination pricing only",
}


def _filters(q) -> dict:
    state = (q.get("state") or "").strip().upper()
    return {
        "trace": (q.get("trace") or "").strip()[:50],
        "payer": (q.get("payer") or "").strip()[:30],
        "state": state if state in STATES else "",
    }


@tenant_view(S.CLAIMS_VIEW)
def remittance_list(request: HttpRequest) -> HttpResponse:
    """Every visible remittance, newest first: payment, trace, claims and how many still wait."""
    actor = request.actor
    f = _filters(request.GET)
    page = Paginator(rec.remittance_screen_list(actor, **f), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "denials/remittances.html",
        {
            "subnav": SUBNAV,
            "page": page,
            "f": f,
            "payers": billing_selectors.visible_payers(actor).order_by("code"),
            "filter_query": query.urlencode(),
        },
    )


CENT = Decimal("0.01")
EXPORT_HEADER = [
    "trace_number",
    "payer",
    "payment_amount",
    "payment_method",
    "payment_date",
    "claims",
    "waiting",
    "forced",
    "paid_on_claims",
    "warnings",
    "received_at",
]


@tenant_view(S.CLAIMS_VIEW)
def remittance_list_csv(request: HttpRequest) -> HttpResponse:
    """The remittance list as CSV with the list's filters (core's streamed, formula-safe writer)."""
    qs = rec.remittance_screen_list(request.actor, **_filters(request.GET))

    def rows():
        for r in qs.iterator(chunk_size=2000):
            yield [
                r.trace_number,
                r.payer.code,
                str(r.payment_amount),
                r.payment_method,
                r.payment_date.isoformat() if r.payment_date else "",
                r.claim_count,
                r.waiting_count,
                r.forced_count,
                str(Decimal(r.paid_total or 0).quantize(CENT)),
                len(r.warnings or []),
                r.received_at.isoformat(),
            ]

    return csv_response("remittances.csv", EXPORT_HEADER, rows())


def threshold_of(tenant):
    """The tenant's automatic-match threshold (the default until settings are saved)."""
    found = ClaimsSettings.objects.filter(tenant=tenant).values_list("match_threshold", flat=True)
    return found.first() or ClaimsSettings._meta.get_field("match_threshold").default


def line_view(line: RemittanceClaim) -> dict:
    """What the page shows of one CLP: the line, its matched claim link and evidence signals."""
    evidence = line.evidence if isinstance(line.evidence, dict) else {}
    signals = [s for s in evidence.get("signals") or [] if isinstance(s, dict)]
    return {
        "line": line,
        "status_label": CLP_STATUS.get(line.status_code, line.status_code),
        "claim_url": claim_url(line.claim.number) if line.claim_id else "",
        "signals": signals,
        "adjustments": [a for a in line.adjustments or [] if isinstance(a, dict)],
        "service_lines": [s for s in line.lines or [] if isinstance(s, dict)],
    }


@tenant_view(S.CLAIMS_VIEW)
def remittance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One remittance: payment, trace, warnings, and each CLP with its match and evidence."""
    actor = request.actor
    try:
        remittance = rec.remittance_screen_get(actor, pk)
    except NotFound:
        return not_found(request, f"Remittance {pk}")
    lines = rec.remittance_claim_rows(actor, remittance)
    record_phi_access(actor, PHI_VIEW, remittance, screen="remittance", lines=len(lines))
    return render(
        request,
        "denials/remittance_detail.html",
        {
            "subnav": SUBNAV,
            "r": remittance,
            "rows": [line_view(x) for x in lines],
            "threshold": threshold_of(actor.tenant),
            "can_override": actor.has(S.BILLING_RECEIVABLE_OVERRIDE),
            "errors": {},
        },
    )
