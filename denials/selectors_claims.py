"""Reads of charges and claims, filtered by tenant and by the member's per-payer grants.

A member whose grants narrow their payers (SPEC 2) sees only those payers' claims; charges are
narrowed by the payer code they name (a charge's payer may not be resolved yet).
"""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.selectors import granted_ids
from denials.balances import with_amounts
from denials.models import Charge, Claim, ClaimLine, Denial, PaymentApplication


def _granted_payer_codes(actor: Actor) -> list[str] | None:
    ids = granted_ids(actor, Payer)
    if ids is None:
        return None
    return list(
        Payer.objects.filter(tenant=actor.tenant, pk__in=ids).values_list("code", flat=True)
    )


def charge_list(
    actor: Actor, *, status: str = "", claimed: bool | None = None, charge_id: str = ""
) -> QuerySet[Charge]:
    """Charges the actor may see, newest first (filter status, claimed, charge id)."""
    actor.require(S.CLAIMS_VIEW)
    qs = Charge.objects.filter(tenant=actor.tenant)
    codes = _granted_payer_codes(actor)
    if codes is not None:
        qs = qs.filter(payer_code__in=[c.upper() for c in codes])
    if status:
        qs = qs.filter(status=status.upper())
    if claimed is not None:
        qs = qs.filter(claim_line__isnull=not claimed)
    if charge_id:
        qs = qs.filter(charge_id=charge_id)
    return qs.select_related("claim_line__claim").order_by("-created_at", "-id")


def charge_counts(actor: Actor) -> dict[str, int]:
    """How many visible charges are in each status, and how many valid ones wait for a claim."""
    qs = charge_list(actor)
    counts = dict.fromkeys(Charge.Status.values, 0)
    for row in qs.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    counts["unclaimed_valid"] = qs.filter(
        status=Charge.Status.VALID, claim_line__isnull=True
    ).count()
    return counts


def claim_list(
    actor: Actor, *, number: str = "", member: str = "", payer: str = "", status: str = ""
) -> QuerySet[Claim]:
    """Claims the actor may see, with their amounts and balance (filter number, member id,
    payer code, status), newest first."""
    actor.require(S.CLAIMS_VIEW)
    qs = Claim.objects.filter(tenant=actor.tenant)
    payer_ids = granted_ids(actor, Payer)
    if payer_ids is not None:
        qs = qs.filter(payer_id__in=payer_ids)
    if number:
        qs = qs.filter(number=number)
    if member:
        qs = qs.filter(member__external_id=member)
    if payer:
        qs = qs.filter(payer__code__iexact=payer)
    if status:
        qs = qs.filter(status=status.upper())
    apps = PaymentApplication.objects.select_related("remittance_claim__remittance").order_by(
        "created_at", "id"
    )
    denials = Denial.objects.order_by("group_code", "carc", "id")
    return (
        with_amounts(qs)
        .select_related("payer", "member")
        .prefetch_related(
            Prefetch("applications", queryset=apps), Prefetch("denials", queryset=denials)
        )
        .order_by("-built_at", "-id")
    )


def claim_get(actor: Actor, number: str) -> Claim:
    """One visible claim by number, with its lines and applications, or 404."""
    claim = (
        claim_list(actor, number=number)
        .prefetch_related(
            Prefetch("lines", queryset=ClaimLine.objects.select_related("charge")),
        )
        .first()
    )
    if claim is None:
        raise NotFound(f"Claim {number[:40]} does not exist.")
    return claim
