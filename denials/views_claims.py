"""Charges and claims screens (issue 13, item 12): charges with their validation errors (validate,
build), the claims list and a claim's page (lines, applications, balance over time)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.listexport import csv_response
from core.phi_reads import PHI_EXPORT, PHI_SEARCH, PHI_VIEW, record_phi_access
from core.views import tenant_view
from denials import selectors_claims as selectors
from denials.charts_claims import balance_steps
from denials.ingest_charges import COLUMNS as CHARGE_COLUMNS
from denials.models import Charge, Claim, PaymentApplication
from denials.services.charges import charges_validate
from denials.services.claims import claims_build, claims_build_all_valid

MAX_ERRORS_SHOWN = 20


def _filter_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _not_found(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "core/not_found.html", {"what": what}, status=404)


@tenant_view(S.CLAIMS_VIEW)
def charge_list(request: HttpRequest) -> HttpResponse:
    """Charges with their status and every validation error; validate and build from here."""
    actor = request.actor
    f = _charge_filters(request.GET)
    status = f["status"]
    qs = selectors.charge_list(actor, **f)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    record_phi_access(actor, PHI_SEARCH, object_type="denials.Charge", shown=len(page))
    return render(
        request,
        "denials/charges.html",
        {
            "page": page,
            "status": status,
            "claimed": request.GET.get("claimed", ""),
            "statuses": Charge.Status.choices,
            "filter_query": _filter_query(request),
            "counts": selectors.charge_counts(actor),
        },
    )


def _charge_filters(query) -> dict:
    status = (query.get("status") or "").upper()
    return {
        "status": status if status in Charge.Status.values else "",
        "claimed": {"yes": True, "no": False}.get(query.get("claimed", "")),
    }


CHARGE_HEADER = [*CHARGE_COLUMNS, "status", "errors", "claim"]


@tenant_view(S.CLAIMS_VIEW)
def charge_list_csv(request: HttpRequest) -> HttpResponse:
    """The charges list as CSV with its filters (core's streamed, formula-safe writer)."""
    qs = selectors.charge_list(request.actor, **_charge_filters(request.GET))
    record_phi_access(request.actor, PHI_EXPORT, object_type="denials.Charge", rows=qs.count())

    def rows():
        for c in qs.iterator(chunk_size=2000):
            line = getattr(c, "claim_line", None)
            yield [
                c.charge_id,
                c.claim_number,
                c.member_code,
                c.payer_code,
                c.service_date.isoformat(),
                c.code,
                c.modifier,
                c.units,
                c.amount,
                c.authorization,
                c.status,
                "; ".join(c.errors),
                line.claim.number if line is not None else "",
            ]

    return csv_response(f"charges-{timezone.localdate():%Y-%m-%d}.csv", CHARGE_HEADER, rows())


@tenant_view(S.CLAIMS_WRITE)
@require_POST
def charges_validate_view(request: HttpRequest) -> HttpResponse:
    """Validate every PENDING or INVALID charge again (after upstream fixes)."""
    counts = charges_validate(actor=request.actor, tenant=request.actor.tenant)
    messages.success(
        request,
        f"Validated {counts['checked']} charges: {counts['valid']} valid, "
        f"{counts['invalid']} invalid.",
    )
    return redirect("denials:charges")


@tenant_view(S.CLAIMS_WRITE)
@require_POST
def claims_build_view(request: HttpRequest) -> HttpResponse:
    """Build claims from the charges ticked, or from every unclaimed valid charge."""
    actor = request.actor
    try:
        if request.POST.get("all_valid"):
            claims = claims_build_all_valid(actor=actor, tenant=actor.tenant)
        else:
            claims = claims_build(
                actor=actor, tenant=actor.tenant, charge_ids=request.POST.getlist("charge")
            )
    except DomainError as exc:
        messages.error(request, exc.message)
        problems = (exc.details or {}).get("charges", {}) if isinstance(exc.details, dict) else {}
        for cid, errors in list(problems.items())[:MAX_ERRORS_SHOWN]:
            messages.error(request, f"{cid}: {'; '.join(errors)}")
        return redirect("denials:charges")
    if not claims:
        messages.info(request, "No valid charge waits for a claim: nothing was built.")
        return redirect("denials:charges")
    first, last = claims[0].number, claims[-1].number
    span = first if first == last else f"{first} to {last}"
    messages.success(request, f"Built {len(claims)} claims ({span}).")
    return redirect("denials:claims")


@tenant_view(S.CLAIMS_VIEW)
def claim_list(request: HttpRequest) -> HttpResponse:
    """Claims with billed, paid and balance (find by number, member id, payer code, status)."""
    actor = request.actor
    f = _claim_filters(request.GET)
    page = Paginator(selectors.claim_list(actor, **f), 50).get_page(request.GET.get("page"))
    record_phi_access(
        actor, PHI_SEARCH, object_type="denials.Claim", shown=len(page), filtered=bool(f["member"])
    )
    return render(
        request,
        "denials/claims.html",
        {
            "page": page,
            "f": f,
            "statuses": Claim.Status.choices,
            "filter_query": _filter_query(request),
        },
    )


CLAIM_HEADER = [
    "number",
    "patient_control_number",
    "status",
    "payer_code",
    "member_id",
    "service_date",
    "service_date_to",
    "billed_amount",
    "paid_amount",
    "adjusted_amount",
    "patient_amount",
    "written_off_amount",
    "reversed_amount",
    "balance",
    "submitted_at",
]


def _cents(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _claim_filters(query) -> dict:
    f = {k: (query.get(k) or "").strip() for k in ("number", "member", "payer", "status")}
    f["status"] = f["status"].upper() if f["status"].upper() in Claim.Status.values else ""
    return f


@tenant_view(S.CLAIMS_VIEW)
def claim_list_csv(request: HttpRequest) -> HttpResponse:
    """The claims list as CSV with its filters: amounts and balance as the list shows them."""
    qs = selectors.claim_list(request.actor, **_claim_filters(request.GET)).prefetch_related(None)
    record_phi_access(request.actor, PHI_EXPORT, object_type="denials.Claim", rows=qs.count())

    def rows():
        for c in qs.iterator(chunk_size=2000):
            yield [
                c.number,
                c.patient_control_number,
                c.status,
                c.payer.code,
                c.member.external_id,
                c.service_date.isoformat(),
                c.service_date_to.isoformat(),
                *(
                    _cents(v)
                    for v in (
                        c.billed_amount,
                        c.paid_amount,
                        c.adjusted_amount,
                        c.patient_amount,
                        c.written_off_amount,
                        c.reversed_amount,
                        c.balance,
                    )
                ),
                c.submitted_at.isoformat() if c.submitted_at else "",
            ]

    return csv_response(f"claims-{timezone.localdate():%Y-%m-%d}.csv", CLAIM_HEADER, rows())


def _balance_points(claim: Claim) -> list[tuple[str, object, str]]:
    balance = claim.billed_amount
    points = [(claim.built_at.date().isoformat(), balance, "built")]
    for app in claim.applications.all():
        balance += app.signed_amount
        what = PaymentApplication.Kind(app.kind).label
        if app.carc:
            what += f" {app.group_code}-{app.carc}"
        points.append((app.created_at.date().isoformat(), balance, what))
    return points


@tenant_view(S.CLAIMS_VIEW)
def claim_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One claim: amounts and balance, its lines, its applications and the balance over time."""
    try:
        claim = selectors.claim_get(request.actor, number)
    except NotFound:
        return _not_found(request, f"Claim {number}")
    record_phi_access(request.actor, PHI_VIEW, claim)
    points = _balance_points(claim)
    return render(
        request,
        "denials/claim.html",
        {"claim": claim, "chart": balance_steps(points), "points": points},
    )
