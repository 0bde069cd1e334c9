"""Receivables actions: force-match a waiting remittance claim, unmatch a matched one.

Force-match (`billing.receivable.override`, a reason) goes through core's dual control: when
the tenant lists the scope, it becomes an OverrideRequest and runs when a second person
approves it. Unmatch (same scope, a reason) reverses everything the match posted: each
application gets a REVERSAL, the denials it opened are voided, the claim's status is set again
and the line waits in the queue.
"""

from __future__ import annotations

from django.db import transaction

from core import scopes as S
from core.actors import Actor
from core.exceptions import Conflict, DomainError, NotFound
from core.overrides import OverrideAction, override_people, override_perform, register_override
from core.transitions import transition_apply
from denials import matching
from denials.models import Claim, PaymentApplication, RemittanceClaim
from denials.services.post_apply import (
    APP_FIELDS,
    Posting,
    claims_settle,
    denials_void,
    post_many,
    row_of,
)
from denials.services.posting import remit_of

FORCE_MATCH = "denials.remittance_claim_force_match"
Kind = PaymentApplication.Kind


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason: a reason is required.", code="reason_required")
    return reason


def _remittance_claim(actor: Actor, pk) -> RemittanceClaim:
    rc = (
        RemittanceClaim.objects.select_related("remittance")
        .filter(pk=pk, tenant=actor.tenant)
        .first()
    )
    if rc is None:
        raise NotFound(f"Remittance claim {pk} does not exist.")
    return rc


def _claim_for(actor: Actor, rc: RemittanceClaim, claim_id) -> Claim:
    claim = Claim.objects.select_related("member").filter(pk=claim_id, tenant=actor.tenant).first()
    if claim is None:
        raise NotFound(f"claim: claim {claim_id} does not exist.")
    if claim.payer_id != rc.remittance.payer_id:
        raise DomainError("claim: the claim is billed to another payer than the remittance's.")
    if claim.status == Claim.Status.CLOSED:
        raise Conflict(f"claim: claim {claim.number} is CLOSED; nothing can be posted on it.")
    return claim


def _check_waiting(rc: RemittanceClaim) -> None:
    if rc.match_state != RemittanceClaim.MatchState.UNMATCHED:
        raise Conflict(
            f"Remittance claim {rc.pk} is {rc.match_state}; only a waiting line can be "
            "force-matched (unmatch it first).",
            details={"current": rc.match_state, "allowed": [RemittanceClaim.MatchState.UNMATCHED]},
        )


def _evidence(rc: RemittanceClaim, claim: Claim) -> matching.Scored:
    cand = matching.Candidate(
        claim.pk,
        claim.patient_control_number,
        claim.member.external_id,
        claim.billed_amount,
        claim.service_date,
        claim.service_date_to,
    )
    return matching.score(remit_of(row_of(rc)), cand)


def _execute(*, actor: Actor, payload: dict, reason: str, requested_by, approved_by) -> dict:
    """Run a force-match (at once, or when a second person approved it)."""
    rc = _remittance_claim(actor, payload.get("remittance_claim"))
    _check_waiting(rc)
    claim = _claim_for(actor, rc, payload.get("claim"))
    payer_code = rc.remittance.payer.code
    scored = _evidence(rc, claim)
    rc = transition_apply(
        actor=actor,
        model=RemittanceClaim,
        pk=rc.pk,
        name="match_forced",
        scope=S.BILLING_RECEIVABLE_OVERRIDE,
        reason=reason,
        reason_required=True,
        action="REMITTANCE_CLAIM_FORCE_MATCHED",
        payload={  # payer and requester: the override report counts by them (issue 14)
            "claim": claim.number,
            "overridden_score": str(scored.score),
            "payer": payer_code,
            **override_people(requested_by, approved_by),
        },
        kwargs={
            "claim": claim,
            "user": requested_by,
            "reason": reason,
            "score": scored.score,
            "evidence": scored.evidence(),
        },
    )
    notes = post_many(
        actor=actor, postings=[Posting(rc.pk, claim.pk, row_of(rc))], user=requested_by
    )
    return {"remittance_claim": rc.pk, "claim": claim.pk, "notes": [n for _, n in notes]}


def _describe(payload: dict) -> str:
    number = Claim.objects.filter(pk=payload.get("claim")).values_list("number", flat=True).first()
    return (
        f"Force-match remittance line #{payload.get('remittance_claim')} to claim "
        f"{number or '#' + str(payload.get('claim'))}"
    )


def register() -> None:
    """Offer force-match to core's dual-control machinery."""
    register_override(
        OverrideAction(
            name=FORCE_MATCH,
            scope=S.BILLING_RECEIVABLE_OVERRIDE,
            execute=_execute,
            describe=_describe,
        )
    )


def remittance_claim_force_match(
    *, actor: Actor, remittance_claim_id: int, claim_id: int, reason: str
):
    """Match a waiting line to a claim a person chose; returns the RemittanceClaim, or the
    pending OverrideRequest when the tenant puts force-match under dual control."""
    actor.require(S.BILLING_RECEIVABLE_OVERRIDE)
    reason = _reason(reason)
    rc = _remittance_claim(actor, remittance_claim_id)
    _check_waiting(rc)
    claim = _claim_for(actor, rc, claim_id)
    with transaction.atomic():
        outcome = override_perform(
            actor=actor,
            action=FORCE_MATCH,
            payload={"remittance_claim": rc.pk, "claim": claim.pk},
            reason=reason,
        )
    if not outcome.executed:
        return outcome.request
    return RemittanceClaim.objects.get(pk=rc.pk)


def remittance_claim_unmatch(*, actor: Actor, remittance_claim_id: int, reason: str):
    """Reverse what a match posted and put the line back in the queue; returns it."""
    actor.require(S.BILLING_RECEIVABLE_OVERRIDE)
    reason = _reason(reason)
    rc = _remittance_claim(actor, remittance_claim_id)
    if rc.claim_id is None:
        raise Conflict(
            f"Remittance claim {rc.pk} is {rc.match_state}; only a matched line can be unmatched.",
            details={"current": rc.match_state},
        )
    claim_id, matched_at = rc.claim_id, rc.matched_at
    with transaction.atomic():
        rc = transition_apply(
            actor=actor,
            model=RemittanceClaim,
            pk=rc.pk,
            name="unmatch",
            scope=S.BILLING_RECEIVABLE_OVERRIDE,
            reason=reason,
            reason_required=True,
            action="REMITTANCE_CLAIM_UNMATCHED",
            payload={"claim": claim_id},
            kwargs={"reason": reason},
        )
        _undo_applications(actor, rc.pk, claim_id, matched_at)
        denials_void(actor=actor, remittance_claim_ids=[rc.pk], reason=f"unmatched: {reason}")
        claims_settle(actor=actor, claim_ids={claim_id})
    return rc


def _undo_applications(actor: Actor, rc_id: int, claim_id: int, matched_at) -> None:
    """Each application the line's match posted, not yet reversed, is taken back.

    A payment, adjustment or patient responsibility gets a REVERSAL; a REVERSAL the line
    posted (it was a CLP02 22) is undone by posting the reversed amount again, in its kind.
    """
    from django.utils import timezone

    from core.bulk import insert_rows

    now = timezone.now()
    user = actor.user.pk if actor.user else None
    rows = []
    apps = PaymentApplication.objects.select_related("reverses").filter(
        remittance_claim_id=rc_id, reversed_by__isnull=True, created_at__gte=matched_at
    )
    for app in apps:
        if app.kind == Kind.REVERSAL:
            kind, reverses = app.reverses.kind if app.reverses else Kind.PAYMENT, None
        else:
            kind, reverses = Kind.REVERSAL, app.pk
        rows.append(
            (
                actor.tenant.pk,
                claim_id,
                kind,
                app.amount,
                app.group_code,
                app.carc,
                reverses,
                rc_id,
                app.line_number,
                None,
                now,
                user,
            )
        )
    insert_rows(PaymentApplication, APP_FIELDS, rows)
