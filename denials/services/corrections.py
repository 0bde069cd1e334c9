"""Auto-correction of denials (issue 14 items 3, 8, 9): run a handler, keep the attempt, rebill.

`correction_run` gathers the facts the handler reads, fingerprints them and runs the handler
once per fingerprint: the same (denial, handler, fingerprint) returns the stored attempt
(`reused`), without a second claim or audit entry. A SUCCESS builds a replacement claim
(frequency 7, REF*F8 = the payer's control number of the denied claim) that the next 837P
export sends, and puts an OPEN denial IN_PROGRESS. `correction_force_retry` runs regardless of
the stored attempt, as an override (dual control when the tenant lists its scope).

Balance: the denied claim keeps its balance and its denial until the payer adjudicates the
replacement; the replacement is the same money asked again (linked both ways: `original` /
`replacements`). Aging counts it once: the original while the replacement is BUILT, the
replacement once it went out (`denials.reporting_sql.open_select`).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from core.overrides import OverrideAction, override_people, override_perform, register_override
from core.selectors import granted_ids
from core.transitions import transition_apply
from denials import corrections as rules
from denials.models import Charge, Claim, ClaimLine, CorrectionAttempt, Denial
from denials.services.claims import NUMBER_FORMAT, claims_settings_for_update

log = logging.getLogger(__name__)

FORCE_RETRY = "denials.correction_force_retry"
FORCE_RETRY_REASONS = {
    "rebill_denied": "Prior SUCCESS's rebill itself denied",
    "stale_rule": "Engine ran with a stale rule",
    "stale_skip": "Engine SKIPPED for a stale reason",
}


def denial_for_correction(actor: Actor, denial_id) -> Denial:
    """A denial of the actor's tenant on a payer they may see, or NotFound."""
    qs = Denial.objects.filter(pk=denial_id, tenant=actor.tenant)
    payer_ids = granted_ids(actor, Payer)
    if payer_ids is not None:
        qs = qs.filter(claim__payer_id__in=payer_ids)
    denial = qs.select_related("claim", "claim__payer", "remittance_claim").first()
    if denial is None:
        raise NotFound(f"Denial {denial_id} does not exist.")
    return denial


def handler_choose(denial: Denial, handler: str | None) -> str:
    """The named handler (it must correct the denial's CARC), else the first for the CARC."""
    names = rules.handlers_for(denial.carc)
    if handler:
        try:
            rules.handler_get(handler)
        except KeyError:
            known = ", ".join(h.name for h in rules.handlers())
            raise DomainError(
                f"handler: unknown handler '{handler[:40]}'; known: {known}.",
                code="invalid",
                details={"handler": [f"one of {known}"]},
            ) from None
        if handler not in names:
            raise DomainError(
                f"handler: {handler} does not correct CARC {denial.carc}.",
                code="handler_not_for_carc",
                details={"handler": [f"for CARC {denial.carc}: {', '.join(names) or 'none'}"]},
            )
        return handler
    if not names:
        raise DomainError(
            f"No auto-correction handles CARC {denial.carc}; supported CARCs: "
            f"{', '.join(rules.supported_carcs())}.",
            code="carc_not_supported",
            details={"carc": denial.carc, "supported": rules.supported_carcs()},
        )
    return names[0]


# --- inputs ---------------------------------------------------------------------------------


def _root_charge(line: ClaimLine) -> Charge | None:
    seen = 0
    while line.charge_id is None and line.source_line_id is not None and seen < 50:
        line, seen = line.source_line, seen + 1
    return line.charge


def _resent_authorization(claim: Claim, line: ClaimLine) -> str:
    """An authorization a later CHARGES upload sent for the same service (new charge id, same
    member, payer, date and code): charge ids are never reloaded, so a fix comes as a new row."""
    found = (
        Charge.objects.filter(
            tenant_id=claim.tenant_id,
            member_id=claim.member_id,
            payer_id=claim.payer_id,
            service_date=line.service_date,
            code=line.code,
        )
        .exclude(authorization="")
        .order_by("-pk")
        .values_list("authorization", flat=True)
        .first()
    )
    return found or ""


def _first_claim(claim: Claim) -> Claim:
    seen = 0
    while claim.original_id is not None and seen < 50:
        claim, seen = claim.original, seen + 1
    return claim


def inputs_gather(denial: Denial) -> dict:
    """Every fact a handler may read about the denied claim (JSON values)."""
    claim = denial.claim
    lines = list(claim.lines.select_related("charge", "source_line").order_by("line_number"))
    rows = []
    for line in lines:
        charge = _root_charge(line)
        auth = (charge.authorization if charge else "") or _resent_authorization(claim, line)
        rows.append(
            {
                "line": line.line_number,
                "code": line.code,
                "service_date": line.service_date.isoformat(),
                "modifier": line.modifier,
                "current_modifier": charge.modifier if charge else line.modifier,
                "authorization": auth,
            }
        )
    first = _first_claim(claim)
    return {
        "claim_authorization": claim.authorization,
        "lines": rows,
        "sent_member_id": claim.subscriber_id or denial.remittance_claim.member_code,
        "current_member_id": claim.member.external_id,
        "first_service_date": claim.service_date.isoformat(),
        "original_submitted_on": first.submitted_at.date().isoformat()
        if first.submitted_at
        else None,
        "original_interchange": first.interchange_control_number,
        "filing_days": claim.payer.timely_filing_days,
    }


# --- the replacement claim --------------------------------------------------------------------


def _replacement_build(actor: Actor, denial: Denial, decision, attempt) -> Claim:
    """A frequency-7 copy of the denied claim with the decision's changes, BUILT."""
    claim = denial.claim
    changes = decision.changes
    modifiers = {str(k): v for k, v in (changes.get("modifiers") or {}).items()}
    settings_row = claims_settings_for_update(actor.tenant)
    settings_row.claim_counter += 1
    settings_row.save(update_fields=["claim_counter", "updated_at"])
    lines = list(claim.lines.order_by("line_number"))
    replacement = Claim.objects.create(
        tenant=actor.tenant,
        number=NUMBER_FORMAT.format(settings_row.claim_counter),
        patient_control_number=claim.patient_control_number,
        payer_id=claim.payer_id,
        member_id=claim.member_id,
        service_date=claim.service_date,
        service_date_to=claim.service_date_to,
        billed_amount=sum((ln.amount for ln in lines), Decimal("0.00")),
        built_by=actor.user,
        frequency_code="7",
        original=claim,
        original_reference=denial.remittance_claim.payer_claim_control_number,
        payer_sequence=claim.payer_sequence,
        primary_claim=claim.primary_claim,
        prior_payer_paid=claim.prior_payer_paid,
        prior_adjustments=claim.prior_adjustments,
        subscriber_id=changes.get("subscriber_id", claim.subscriber_id),
        authorization=changes.get("authorization", claim.authorization),
        correction_attempt=attempt,
    )
    ClaimLine.objects.bulk_create(
        [
            ClaimLine(
                tenant=actor.tenant,
                claim=replacement,
                charge=None,
                source_line=ln,
                line_number=ln.line_number,
                service_date=ln.service_date,
                code=ln.code,
                modifier=modifiers.get(str(ln.line_number), ln.modifier),
                units=ln.units,
                amount=ln.amount,
            )
            for ln in lines
        ]
    )
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="Claim.build",
        obj=replacement,
        payload={
            "number": replacement.number,
            "billed_amount": str(replacement.billed_amount),
            "replaces": claim.number,
            "attempt": attempt.pk,
            "changed": sorted(changes),
        },
    )
    return replacement


def _refuse_second_replacement(denial: Denial) -> None:
    """One replacement of a claim waits for the 837P export at a time: a second one built
    before the first went out would bill the same money twice."""
    waiting = (
        Claim.objects.filter(original_id=denial.claim_id, status=Claim.Status.BUILT)
        .values_list("number", flat=True)
        .first()
    )
    if waiting:
        raise Conflict(
            f"Replacement claim {waiting} of claim {denial.claim.number} has not gone out yet; "
            "export it (or wait for its 835) before another replacement is built.",
            code="replacement_pending",
            details={"replacement": waiting},
        )


def _attempt_run(
    actor: Actor,
    denial: Denial,
    name: str,
    inputs: dict,
    fp: str,
    *,
    forced: bool = False,
    reason: str = "",
    requested_by=None,
    approved_by=None,
    scope: str = S.BILLING_AUTOCORRECTION_RUN,
) -> CorrectionAttempt:
    """Run the handler, store the attempt, rebill on SUCCESS, move an OPEN denial, audit."""
    handler = rules.handler_get(name)
    decision = rules.run(name, inputs)
    result = dict(decision.result)
    result["changed"] = sorted(decision.changes)  # names only: values may be PHI
    if decision.outcome == rules.SUCCESS:
        _refuse_second_replacement(denial)
    attempt = CorrectionAttempt.objects.create(
        tenant=actor.tenant,
        denial=denial,
        handler=name,
        handler_version=handler.version,
        fingerprint=fp,
        inputs=rules.inputs_read(name, inputs),
        outcome=decision.outcome,
        result=result,
        forced=forced,
        reason=reason,
        created_by=requested_by or actor.user,
        approved_by=approved_by,
    )
    if decision.outcome == rules.SUCCESS:
        attempt.corrected_claim = _replacement_build(actor, denial, decision, attempt)
        attempt.save(update_fields=["corrected_claim"])
        if denial.status == Denial.Status.OPEN:
            transition_apply(
                actor=actor,
                model=Denial,
                pk=denial.pk,
                name="work",
                scope=scope,
                action="DENIAL_WORKED",
                payload={"payer": denial.claim.payer.code, "by": "auto-correction"},
            )
    payload = {
        "attempt": attempt.pk,
        "handler": name,
        "outcome": attempt.outcome,
        "fingerprint": fp,
        "payer": denial.claim.payer.code,
        "corrected_claim": attempt.corrected_claim.number if attempt.corrected_claim else None,
    }
    if forced:
        payload.update(override_people(requested_by, approved_by))
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="CORRECTION_FORCE_RETRIED" if forced else "CORRECTION_RUN",
        obj=denial,
        reason=reason,
        payload=payload,
    )
    log.info(
        "correction_run tenant=%s denial=%s handler=%s outcome=%s forced=%s",
        actor.tenant.slug,
        denial.pk,
        name,
        attempt.outcome,
        forced,
    )
    return attempt


def _check_workable(denial: Denial) -> None:
    if denial.status not in Denial.WORKABLE:
        raise Conflict(
            f"Denial {denial.pk} is {denial.status}; only OPEN or IN_PROGRESS denials are "
            "corrected.",
            details={"current": denial.status, "allowed": list(Denial.WORKABLE)},
        )


def _locked(actor: Actor, denial_id) -> Denial:
    # one correction of a denial at a time: the second waits, then finds the stored attempt
    Denial.objects.select_for_update().filter(pk=denial_id, tenant=actor.tenant).first()
    return denial_for_correction(actor, denial_id)


def correction_run(*, actor: Actor, denial_id, handler: str | None = None) -> CorrectionAttempt:
    """Run a correction handler on a denial once per set of facts; `attempt.reused` says whether
    the stored attempt for the same fingerprint was returned instead."""
    actor.require(S.BILLING_AUTOCORRECTION_RUN)
    denial = denial_for_correction(actor, denial_id)
    name = handler_choose(denial, handler)
    with transaction.atomic():
        denial = _locked(actor, denial_id)
        inputs = inputs_gather(denial)
        fp = rules.fingerprint(name, inputs)
        stored = CorrectionAttempt.objects.filter(
            denial=denial, handler=name, fingerprint=fp, forced=False
        ).first()
        if stored is not None:
            stored.reused = True
            return stored
        _check_workable(denial)
        attempt = _attempt_run(actor, denial, name, inputs, fp)
    attempt.reused = False
    return attempt


# --- force-retry (override) -------------------------------------------------------------------


def _execute(*, actor: Actor, payload: dict, reason: str, requested_by, approved_by) -> dict:
    """Run a forced attempt (at once, or when a second person approved it)."""
    denial = _locked(actor, payload.get("denial"))
    _check_workable(denial)
    name = handler_choose(denial, payload.get("handler"))
    inputs = inputs_gather(denial)
    attempt = _attempt_run(
        actor,
        denial,
        name,
        inputs,
        rules.fingerprint(name, inputs),
        forced=True,
        reason=reason,
        requested_by=requested_by,
        approved_by=approved_by,
        scope=S.BILLING_AUTOCORRECTION_OVERRIDE,
    )
    return {"attempt": attempt.pk, "handler": name, "outcome": attempt.outcome}


def _describe(payload: dict) -> str:
    return (
        f"Force-retry auto-correction {payload.get('handler') or '(default handler)'} on "
        f"denial #{payload.get('denial')}"
    )


def register() -> None:
    """Offer force-retry to core's dual-control machinery."""
    register_override(
        OverrideAction(
            name=FORCE_RETRY,
            scope=S.BILLING_AUTOCORRECTION_OVERRIDE,
            execute=_execute,
            describe=_describe,
        )
    )


def force_retry_reason(reason_code: str, reason: str) -> str:
    """The override's reason: the picklist label and the person's text (both required)."""
    code = (reason_code or "").strip()
    if code not in FORCE_RETRY_REASONS:
        raise DomainError(
            f"reason_code: one of {', '.join(FORCE_RETRY_REASONS)}.",
            code="invalid",
            details={"reason_code": [f"one of {', '.join(FORCE_RETRY_REASONS)}"]},
        )
    text = (reason or "").strip()
    if not text:
        raise DomainError(
            "reason: say why the engine must run again.",
            code="reason_required",
            details={"reason": ["a reason is required"]},
        )
    return f"{FORCE_RETRY_REASONS[code]}: {text}"


def correction_force_retry(
    *,
    actor: Actor,
    denial_id,
    handler: str | None,
    reason: str,
    reason_code: str = "stale_rule",
):
    """Run a handler again whatever the stored attempt says (override, reason required);
    returns the forced CorrectionAttempt, or the pending OverrideRequest under dual control."""
    actor.require(S.BILLING_AUTOCORRECTION_OVERRIDE)
    full_reason = force_retry_reason(reason_code, reason)
    denial = denial_for_correction(actor, denial_id)
    _check_workable(denial)
    name = handler_choose(denial, handler)
    payload = {
        "denial": denial.pk,
        "handler": name,
        "reason_code": reason_code,
        "payer": denial.claim.payer.code,
        "requested_by": actor.user.get_username() if actor.user else None,
    }
    with transaction.atomic():
        outcome = override_perform(
            actor=actor, action=FORCE_RETRY, payload=payload, reason=full_reason
        )
    if not outcome.executed:
        return outcome.request
    return CorrectionAttempt.objects.get(pk=outcome.result["attempt"])


def attempts_of(denial: Denial) -> list[CorrectionAttempt]:
    """A denial's correction attempts, newest first, with their corrected claims."""
    return list(
        CorrectionAttempt.objects.filter(denial=denial).select_related(
            "corrected_claim", "created_by", "approved_by"
        )
    )
