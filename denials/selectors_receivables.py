"""Reads of remittances, the receivables queue and denials: tenant first, then payer grants."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from billing.selectors import visible_payers
from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from denials.models import Denial, Remittance, RemittanceClaim

MatchState = RemittanceClaim.MatchState


def _payer_ids(actor: Actor):
    return visible_payers(actor).values("id")


def remittance_list(actor: Actor, *, trace: str = "", payer: str = "") -> QuerySet[Remittance]:
    """Remittances of visible payers, newest first, with their claim counts by match state."""
    actor.require(S.CLAIMS_VIEW)
    qs = Remittance.objects.filter(tenant=actor.tenant, payer_id__in=_payer_ids(actor))
    if trace:
        qs = qs.filter(trace_number=trace.strip())
    if payer:
        qs = qs.filter(payer__code__iexact=payer.strip())
    return qs.select_related("payer").annotate(
        claim_count=Count("claims"),
        matched_auto_count=Count("claims", filter=Q(claims__match_state=MatchState.MATCHED_AUTO)),
        matched_forced_count=Count(
            "claims", filter=Q(claims__match_state=MatchState.MATCHED_FORCED)
        ),
        unmatched_count=Count("claims", filter=Q(claims__match_state=MatchState.UNMATCHED)),
    )


def remittance_get(actor: Actor, remittance_id: int) -> Remittance:
    """One remittance of a visible payer (404 otherwise)."""
    found = remittance_list(actor).filter(pk=remittance_id).first()
    if found is None:
        raise NotFound(f"Remittance {remittance_id} does not exist.")
    return found


def remittance_claims(actor: Actor, remittance: Remittance) -> QuerySet[RemittanceClaim]:
    """The claim payments of a remittance, in file order, with their matched claims."""
    actor.require(S.CLAIMS_VIEW)
    return (
        RemittanceClaim.objects.filter(tenant=actor.tenant, remittance=remittance)
        .select_related("claim", "matched_by")
        .order_by("row_number", "id")
    )


def queue_list(actor: Actor, *, payer: str = "") -> QuerySet[RemittanceClaim]:
    """Claim payments waiting for a person (UNMATCHED), oldest first, of visible payers."""
    actor.require(S.CLAIMS_VIEW)
    qs = RemittanceClaim.objects.filter(
        tenant=actor.tenant,
        match_state=MatchState.UNMATCHED,
        remittance__payer_id__in=_payer_ids(actor),
    )
    if payer:
        qs = qs.filter(remittance__payer__code__iexact=payer.strip())
    return qs.select_related("remittance__payer").order_by("created_at", "id")


def queue_get(actor: Actor, remittance_claim_id: int) -> RemittanceClaim:
    """One claim payment of a visible payer, whatever its state (404 otherwise)."""
    actor.require(S.CLAIMS_VIEW)
    found = (
        RemittanceClaim.objects.filter(
            tenant=actor.tenant,
            pk=remittance_claim_id,
            remittance__payer_id__in=_payer_ids(actor),
        )
        .select_related("remittance__payer", "claim", "matched_by")
        .first()
    )
    if found is None:
        raise NotFound(f"Remittance claim {remittance_claim_id} does not exist.")
    return found


def denial_list(actor: Actor, *, claim_number: str = "", status: str = "") -> QuerySet[Denial]:
    """Denials on claims of visible payers, newest first."""
    actor.require(S.CLAIMS_VIEW)
    qs = Denial.objects.filter(tenant=actor.tenant, claim__payer_id__in=_payer_ids(actor))
    if claim_number:
        qs = qs.filter(claim__number=claim_number.strip())
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("claim", "remittance_claim")
