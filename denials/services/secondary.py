"""Secondary claims (SPEC 6): after the primary payer's 835, bill the next payer in COB order.

The next payer is the one after the claim's payer in the member's order on the service date
(an active COB override wins over the ladder). The secondary claim copies the primary's lines
and carries what the primary payer paid and its adjustments (CAS group, CARC, amount) for the
837P's 2320 loop.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, NotFound
from core.selectors import granted_ids
from denials.models import Claim, ClaimLine, PaymentApplication, RemittanceClaim
from denials.services.claims import NUMBER_FORMAT, claims_settings_for_update
from denials.services.cob import cob_resolve

Kind = PaymentApplication.Kind
POSTED = (Claim.Status.PAID, Claim.Status.PARTIALLY_PAID, Claim.Status.DENIED)


def _claim(actor: Actor, claim_id) -> Claim:
    qs = Claim.objects.select_related("payer", "member").filter(tenant=actor.tenant, pk=claim_id)
    payer_ids = granted_ids(actor, Payer)
    if payer_ids is not None:
        qs = qs.filter(payer_id__in=payer_ids)
    claim = qs.first()
    if claim is None:
        raise NotFound(f"Claim {claim_id} does not exist.")
    return claim


def primary_paid(claim: Claim) -> tuple[Decimal, list[dict]]:
    """What the payer paid on a claim (net of reversals) and its CAS adjustments summed by
    group and CARC (denied money included: the 835's CAS, not only what was posted)."""
    apps = list(
        PaymentApplication.objects.filter(claim=claim, remittance_claim__isnull=False).values(
            "pk", "kind", "amount", "reverses_id"
        )
    )
    reversed_ids = {a["reverses_id"] for a in apps if a["kind"] == Kind.REVERSAL}
    paid = sum(
        (a["amount"] for a in apps if a["kind"] == Kind.PAYMENT and a["pk"] not in reversed_ids),
        Decimal("0.00"),
    )
    adjustments: dict[tuple[str, str], Decimal] = defaultdict(lambda: Decimal("0.00"))
    # a reversing 835 (CLP02 22) carries the CAS amounts negated: summing nets them out
    for rc_adjustments in RemittanceClaim.objects.filter(claim=claim).values_list(
        "adjustments", flat=True
    ):
        for adj in rc_adjustments or []:
            adjustments[(adj.get("group", ""), adj.get("carc", ""))] += Decimal(
                str(adj.get("amount") or "0")
            )
    triples = [
        {"group": g, "carc": c, "amount": str(amount.quantize(Decimal("0.01")))}
        for (g, c), amount in sorted(adjustments.items())
        if amount
    ]
    return paid, triples


def next_payer(claim: Claim) -> Payer:
    """The payer after the claim's in the member's COB order on the service date, or a refusal."""
    order = cob_resolve(claim.member, claim.service_date)["order"]
    code = claim.payer.code
    if not order or order[0] != code:
        first = order[0] if order else "no payer (no active coverage)"
        raise Conflict(
            f"claim: {code} is not the member's primary payer on "
            f"{claim.service_date.isoformat()} (COB order starts with {first}); a secondary "
            "claim follows the primary payer's claim.",
            code="not_primary",
            details={"order": order},
        )
    if len(order) < 2:
        raise Conflict(
            f"claim: the member has no payer after {code} on {claim.service_date.isoformat()}.",
            code="no_next_payer",
            details={"order": order},
        )
    payer = Payer.objects.filter(tenant=claim.tenant, code=order[1]).first()
    if payer is None:  # pragma: no cover - coverages point at payers of the tenant
        raise Conflict(f"claim: payer {order[1]} is not known.", code="no_next_payer")
    return payer


def secondary_claim_build(*, actor: Actor, claim_id) -> Claim:
    """Build the next payer's claim after a primary claim's 835 was posted; returns it."""
    actor.require(S.CLAIMS_WRITE)
    claim = _claim(actor, claim_id)
    if claim.payer_sequence != "P":
        raise Conflict(
            f"claim: claim {claim.number} is not a primary claim (sequence "
            f"{claim.payer_sequence}).",
            code="not_primary",
        )
    if claim.status not in POSTED or not RemittanceClaim.objects.filter(claim=claim).exists():
        raise Conflict(
            f"claim: claim {claim.number} is {claim.status}; a secondary claim is built once the "
            "primary payer's 835 is posted on it (PAID, PARTIALLY_PAID or DENIED).",
            code="not_adjudicated",
            details={"current": claim.status, "allowed": list(POSTED)},
        )
    payer = next_payer(claim)
    with transaction.atomic():
        Claim.objects.select_for_update().filter(pk=claim.pk).first()  # one build at a time
        existing = Claim.objects.filter(primary_claim=claim, payer=payer).first()
        if existing is not None:
            raise Conflict(
                f"claim: claim {claim.number} already has a secondary claim to {payer.code}: "
                f"{existing.number}.",
                code="secondary_exists",
                details={"secondary": existing.number},
            )
        paid, adjustments = primary_paid(claim)
        settings_row = claims_settings_for_update(actor.tenant)
        settings_row.claim_counter += 1
        settings_row.save(update_fields=["claim_counter", "updated_at"])
        number = NUMBER_FORMAT.format(settings_row.claim_counter)
        secondary = Claim.objects.create(
            tenant=actor.tenant,
            number=number,
            patient_control_number=claim.patient_control_number,
            payer=payer,
            member=claim.member,
            service_date=claim.service_date,
            service_date_to=claim.service_date_to,
            billed_amount=claim.billed_amount,
            built_at=timezone.now(),
            built_by=actor.user,
            payer_sequence="S",
            primary_claim=claim,
            prior_payer_paid=paid,
            prior_adjustments=adjustments,
            subscriber_id=claim.member.external_id,
            authorization=claim.authorization,
        )
        ClaimLine.objects.bulk_create(
            [
                ClaimLine(
                    tenant=actor.tenant,
                    claim=secondary,
                    source_line=line,
                    line_number=line.line_number,
                    service_date=line.service_date,
                    code=line.code,
                    modifier=line.modifier,
                    units=line.units,
                    amount=line.amount,
                )
                for line in claim.lines.order_by("line_number")
            ]
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="CLAIM_SECONDARY_BUILT",
            obj=secondary,
            payload={
                "number": number,
                "primary": claim.number,
                "payer": payer.code,
                "prior_payer": claim.payer.code,
                "billed_amount": str(secondary.billed_amount),
                "prior_payer_paid": str(paid),
                "prior_adjustments": adjustments,
            },
        )
    return secondary
