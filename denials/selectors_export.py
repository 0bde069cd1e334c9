"""Reads for the 837P export: BUILT claims waiting to go out, and past interchanges.

Narrowed by tenant and per-payer grants: an interchange holding any claim of a payer the member
may not see is not shown to them (the file carries that payer's members).
"""

from __future__ import annotations

from django.db.models import QuerySet

from billing.models import Payer
from billing.selectors import visible_payers
from core.actors import Actor
from core.exceptions import NotFound
from core.selectors import granted_ids
from denials.models import Claim, Interchange837


def built_claim_list(actor: Actor) -> QuerySet[Claim]:
    """BUILT claims of visible payers, oldest first (the order they would be exported)."""
    return (
        Claim.objects.filter(
            tenant=actor.tenant, status=Claim.Status.BUILT, payer__in=visible_payers(actor)
        )
        .select_related("payer")
        .order_by("pk")
    )


def interchange_list(actor: Actor) -> QuerySet[Interchange837]:
    """The tenant's 837P interchanges, newest first, without those holding hidden payers."""
    qs = Interchange837.objects.filter(tenant=actor.tenant).select_related("created_by")
    if granted_ids(actor, Payer) is not None:
        hidden = (
            Claim.objects.filter(tenant=actor.tenant)
            .exclude(interchange_control_number="")
            .exclude(payer__in=visible_payers(actor))
            .values("interchange_control_number")
        )
        qs = qs.exclude(interchange_control_number__in=hidden)
    return qs.order_by("-created_at", "-id")


def interchange_get(actor: Actor, pk: int) -> Interchange837:
    """One interchange the actor may see, or NotFound."""
    found = interchange_list(actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"837P interchange {pk} does not exist.")
    return found


def interchange_filename(x: Interchange837) -> str:
    """The download name of an interchange's file."""
    return f"837P-{x.interchange_control_number}.x12"
