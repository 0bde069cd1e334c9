"""Charges and claims screens (issue 13, item 12): charges with their validation errors (validate,
build), the claims list and a claim's page (lines, applications, balance over time)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.phi_reads import PHI_SEARCH, PHI_VIEW, record_phi_access
from core.views import tenant_view
from denials import selectors_claims as selectors
from denials.charts_claims import balance_steps
from denials.models import Charge, Claim, PaymentApplication
from denials.services.charges import charges_validate
from denials.services.claims import claims_build, claims_build_all_valid

MAX_ERRORS_SHOWN = 20


def _not_found(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "core/not_found.html", {"what": what}, status=404)


@tenant_view(S.CLAIMS_VIEW)
def charge_list(request: HttpRequest) -> HttpResponse:
    """Charges with their status and every validation error; validate and build from here."""
    actor = request.actor
    status = (request.GET.get("status") or "").upper()
    status = status if status in Charge.Status.values else ""
    claimed = {"yes": True, "no": False}.get(request.GET.get("claimed", ""))
    qs = selectors.charge_list(actor, status=status, claimed=claimed)
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
            "counts": selectors.charge_counts(actor),
        },
    )


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
    f = {k: (request.GET.get(k) or "").strip() for k in ("number", "member", "payer", "status")}
    f["status"] = f["status"].upper() if f["status"].upper() in Claim.Status.values else ""
    page = Paginator(selectors.claim_list(actor, **f), 50).get_page(request.GET.get("page"))
    record_phi_access(
        actor, PHI_SEARCH, object_type="denials.Claim", shown=len(page), filtered=bool(f["member"])
    )
    return render(
        request,
        "denials/claims.html",
        {"page": page, "f": f, "statuses": Claim.Status.choices},
    )


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
