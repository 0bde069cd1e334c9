"""The member's COB tab (coverages, computed order and why, the override with its form) and the
claim page's "Build secondary claim" button (issue 14, cob part). Thin: services decide."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.models import OverrideRequest
from core.phi_reads import PHI_VIEW, record_phi_access
from core.views import tenant_view
from denials import selectors_claims
from denials.models import Coverage
from denials.services import cob
from denials.services.secondary import secondary_claim_build
from denials.views_rec_common import not_found

REASON_MAX = 2000
SET, REMOVE = cob.OVERRIDE_SET, cob.OVERRIDE_REMOVE


def _pending(actor, member) -> list[OverrideRequest]:
    return [
        r
        for r in OverrideRequest.objects.filter(
            tenant=actor.tenant, action__in=[SET, REMOVE], status=OverrideRequest.Status.PENDING
        ).select_related("requested_by")
        if (r.payload or {}).get("member") == member.pk
    ]


def _page(request: HttpRequest, member, *, error: str = "", status: int = 200) -> HttpResponse:
    actor = request.actor
    today = timezone.localdate()
    got = cob.cob_resolve(member, today)
    coverages = list(
        Coverage.objects.filter(member=member).select_related("payer").order_by("effective", "id")
    )
    for c in coverages:
        c.is_active = c.effective <= today and (c.termination is None or today <= c.termination)
    payers = sorted({c.payer.code for c in coverages})
    positions = max(len(payers), 2)
    record_phi_access(actor, PHI_VIEW, member)
    context = {
        "member": member,
        "today": today,
        "coverages": coverages,
        "order": got["order"],
        "ladder": got["ladder"],
        "reasons": got["reasons"],
        "override": got["override"],
        "pending": _pending(actor, member),
        "payers": payers,
        "positions": [
            (i, got["order"][i] if i < len(got["order"]) else "") for i in range(positions)
        ],
        "can_override": actor.has(S.BILLING_COB_OVERRIDE),
        "error": error,
    }
    return render(request, "denials/cob.html", context, status=status)


def _member(request: HttpRequest, pk: int):
    return cob.member_visible(request.actor, pk)


@tenant_view(S.CLAIMS_VIEW)
def member_cob(request: HttpRequest, pk: int) -> HttpResponse:
    """The member's COB tab."""
    try:
        member = _member(request, pk)
    except NotFound:
        return not_found(request, f"Member {pk}")
    return _page(request, member)


def _reason(request: HttpRequest) -> str:
    return (request.POST.get("reason") or "").strip()


def _done(request: HttpRequest, result, what: str, member_pk: int) -> HttpResponse:
    if isinstance(result, OverrideRequest):
        messages.success(
            request,
            f"The {what} waits for a second person's approval (override request {result.pk}).",
        )
    else:
        messages.success(request, f"COB override {what.split()[-1]}.")
    return redirect("denials:member-cob", pk=member_pk)


@tenant_view(S.BILLING_COB_OVERRIDE)
@require_POST
def member_cob_override(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the member's paying order by hand (one payer per position, a reason)."""
    try:
        member = _member(request, pk)
    except NotFound:
        return not_found(request, f"Member {pk}")
    reason = _reason(request)
    if not reason or len(reason) > REASON_MAX:
        return _page(request, member, error="reason: a COB override needs a reason.", status=400)
    ordering = [c.strip() for c in request.POST.getlist("ordering") if c.strip()][:20]
    try:
        result = cob.cob_override_set(
            actor=request.actor, member=member, ordering=ordering, reason=reason
        )
    except DomainError as exc:
        return _page(request, member, error=exc.message, status=exc.http_status)
    return _done(request, result, "override set", member.pk)


@tenant_view(S.BILLING_COB_OVERRIDE)
@require_POST
def member_cob_override_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove the member's override (a reason): the ladder decides again."""
    try:
        member = _member(request, pk)
    except NotFound:
        return not_found(request, f"Member {pk}")
    reason = _reason(request)
    if not reason or len(reason) > REASON_MAX:
        return _page(request, member, error="reason: removing needs a reason.", status=400)
    try:
        result = cob.cob_override_remove(actor=request.actor, member=member, reason=reason)
    except DomainError as exc:
        return _page(request, member, error=exc.message, status=exc.http_status)
    return _done(request, result, "override removed", member.pk)


@tenant_view(S.CLAIMS_WRITE)
@require_POST
def claim_secondary(request: HttpRequest, number: str) -> HttpResponse:
    """The claim page's "Build secondary claim" button."""
    try:
        claim = selectors_claims.claim_get(request.actor, number)
    except NotFound:
        return not_found(request, f"Claim {number[:20]}")
    try:
        secondary = secondary_claim_build(actor=request.actor, claim_id=claim.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("denials:claim", number=claim.number)
    messages.success(
        request,
        f"Secondary claim {secondary.number} built for {secondary.payer.code} "
        f"(prior payer paid {secondary.prior_payer_paid}).",
    )
    return redirect("denials:claim", number=secondary.number)
