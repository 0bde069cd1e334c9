"""Auto-correction service: run once per set of facts, rebill a replacement, force-retry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import AuditEntry
from core.exceptions import Conflict, DomainError, ScopeDenied
from core.models import OverrideRequest, TenantPolicy
from core.overrides import override_request_approve, override_requests_expire
from denials.models import Charge, Claim, CorrectionAttempt, Denial, RemittanceClaim
from denials.services.corrections import correction_force_retry, correction_run
from denials.services.reporting import aging, reporting_views_refresh
from denials.services.x12_export import claims_export_837
from tests.denials import rec_builders as rb
from tests.denials.corr_builders import denied, resend_charge
from tests.fixtures import add_user

pytestmark = pytest.mark.django_db


def _audits(action: str, denial: Denial) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, object_id=str(denial.pk)).order_by("pk"))


def test_missing_authorization_skips_then_runs_once_the_charge_carries_one(world):
    actor = world.actor(S.Role.OPERATIONS)
    d = denied(world.tenant, carc="197")
    # no authorization anywhere: SKIPPED, nothing built, the denial stays OPEN
    first = correction_run(actor=actor, denial_id=d.pk)
    assert (first.outcome, first.reused, first.corrected_claim) == ("SKIPPED", False, None)
    assert first.result["message"] == "no authorization on file yet"
    # the same facts again: the stored attempt comes back, no second attempt or audit entry
    again = correction_run(actor=actor, denial_id=d.pk)
    assert again.pk == first.pk and again.reused is True
    assert CorrectionAttempt.objects.filter(denial=d).count() == 1
    assert len(_audits("CORRECTION_RUN", d)) == 1
    # the authorization arrives on the charge: a new fingerprint, SUCCESS, one replacement
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-9")
    done = correction_run(actor=actor, denial_id=d.pk)
    assert done.pk != first.pk and done.fingerprint != first.fingerprint
    assert done.outcome == "SUCCESS" and done.reused is False
    new = done.corrected_claim
    assert new.frequency_code == "7" and new.original_id == d.claim_id
    assert new.original_reference == d.remittance_claim.payer_claim_control_number
    assert new.authorization == "AUTH-9" and new.status == Claim.Status.BUILT
    assert new.patient_control_number == d.claim.patient_control_number
    assert new.number != d.claim.number and new.correction_attempt_id == done.pk
    line = new.lines.get()
    assert line.charge_id is None and line.source_line == d.claim.lines.get()
    assert new.billed_amount == d.claim.billed_amount
    d.refresh_from_db()
    assert d.status == Denial.Status.IN_PROGRESS
    assert len(_audits("DENIAL_WORKED", d)) == 1
    run = _audits("CORRECTION_RUN", d)[-1]
    assert run.payload["outcome"] == "SUCCESS" and run.payload["payer"] == "CORRPAY"
    assert run.payload["fingerprint"] == done.fingerprint
    # and a third run with those facts builds nothing more
    assert correction_run(actor=actor, denial_id=d.pk).reused is True
    assert Claim.objects.filter(original=d.claim).count() == 1


def test_authorization_from_a_resent_charge_row(world):
    d = denied(world.tenant, carc="15")
    resend_charge(world.tenant, d, authorization="AUTH-NEW")
    got = correction_run(actor=world.actor(), denial_id=d.pk)
    assert got.outcome == "SUCCESS" and got.corrected_claim.authorization == "AUTH-NEW"


def test_replacement_goes_out_in_the_next_837_with_frequency_7_and_ref_f8(world):
    d = denied(world.tenant, carc="197")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-77")
    attempt = correction_run(actor=world.actor(), denial_id=d.pk)
    x = claims_export_837(actor=Actor.system_for(world.tenant), tenant=world.tenant, all_built=True)
    segs = [s.split("*") for s in x.content.split("~") if s]
    clm = next(s for s in segs if s[0] == "CLM")
    assert clm[1] == d.claim.patient_control_number and clm[5] == "11:B:7"
    assert ["REF", "F8", d.remittance_claim.payer_claim_control_number] in segs
    assert ["REF", "G1", "AUTH-77"] in segs
    attempt.corrected_claim.refresh_from_db()
    assert attempt.corrected_claim.status == Claim.Status.SUBMITTED


def test_member_id_mismatch_rebills_under_the_current_id_without_naming_it(world):
    d = denied(world.tenant, carc="31", member_id="OLD-ID-1")
    same = correction_run(actor=world.actor(), denial_id=d.pk)
    assert same.outcome == "SKIPPED"
    member = d.claim.member
    member.external_id = "NEW-ID-1"
    member.save()
    got = correction_run(actor=world.actor(), denial_id=d.pk)
    assert got.outcome == "SUCCESS" and got.corrected_claim.subscriber_id == "NEW-ID-1"
    assert "NEW-ID-1" not in str(got.result) and "OLD-ID-1" not in str(got.result)
    audit = _audits("CORRECTION_RUN", d)[-1]
    assert "NEW-ID-1" not in str(audit.payload)


def test_timely_filing_fails_past_the_limit(world):
    d = denied(world.tenant, carc="29")
    Claim.objects.filter(pk=d.claim_id).update(submitted_at=timezone.now() + timedelta(days=400))
    got = correction_run(actor=world.actor(), denial_id=d.pk)
    assert got.outcome == "FAILED" and "write off" in got.result["message"]
    assert got.corrected_claim is None
    d.refresh_from_db()
    assert d.status == Denial.Status.OPEN


def test_refusals_scope_carc_and_state(world):
    d = denied(world.tenant, carc="45")
    with pytest.raises(ScopeDenied):
        correction_run(actor=world.actor(S.Role.VIEWER), denial_id=d.pk)
    with pytest.raises(DomainError, match="supported CARCs: 4, 15, 29, 31"):
        correction_run(actor=world.actor(), denial_id=d.pk)
    d2 = denied(world.tenant, carc="197")
    with pytest.raises(DomainError, match="does not correct CARC 197"):
        correction_run(actor=world.actor(), denial_id=d2.pk, handler="timely_filing")
    Denial.objects.filter(pk=d2.pk).update(status=Denial.Status.RESOLVED)
    with pytest.raises(Conflict):
        correction_run(actor=world.actor(), denial_id=d2.pk)


def test_force_retry_needs_the_override_scope_and_a_reason(world):
    d = denied(world.tenant, carc="197")
    first = correction_run(actor=world.actor(S.Role.OPERATIONS), denial_id=d.pk)
    with pytest.raises(ScopeDenied):
        correction_force_retry(
            actor=world.actor(S.Role.OPERATIONS), denial_id=d.pk, handler=None,
            reason="x", reason_code="stale_skip",
        )  # fmt: skip
    with pytest.raises(DomainError):
        correction_force_retry(
            actor=world.actor(), denial_id=d.pk, handler=None, reason=" ", reason_code="stale_skip"
        )
    with pytest.raises(DomainError):
        correction_force_retry(
            actor=world.actor(), denial_id=d.pk, handler=None, reason="x", reason_code="nope"
        )
    forced = correction_force_retry(
        actor=world.actor(), denial_id=d.pk, handler=None, reason="payer portal shows auth",
        reason_code="stale_skip",
    )  # fmt: skip
    assert isinstance(forced, CorrectionAttempt)
    assert forced.forced and forced.pk != first.pk and forced.fingerprint == first.fingerprint
    assert forced.reason == "Engine SKIPPED for a stale reason: payer portal shows auth"
    audit = _audits("CORRECTION_FORCE_RETRIED", d)[-1]
    assert audit.payload["requested_by"] == world.users[S.Role.OWNER].username
    assert audit.payload["approved_by"] is None and audit.payload["payer"] == "CORRPAY"
    assert audit.payload["handler"] == "missing_authorization"


def _dual(world):
    policy, _ = TenantPolicy.objects.get_or_create(tenant=world.tenant)
    policy.dual_control_scopes = [S.BILLING_AUTOCORRECTION_OVERRIDE]
    policy.save()


def test_force_retry_under_dual_control_waits_for_a_second_person(world):
    _dual(world)
    d = denied(world.tenant, carc="197")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-DC")
    manager = add_user(world.tenant, "second-manager", S.Role.BILLING_MANAGER)
    req = correction_force_retry(
        actor=world.actor(), denial_id=d.pk, handler="missing_authorization",
        reason="rebill was denied", reason_code="rebill_denied",
    )  # fmt: skip
    assert isinstance(req, OverrideRequest) and req.status == OverrideRequest.Status.PENDING
    assert not CorrectionAttempt.objects.filter(denial=d).exists()
    with pytest.raises(ScopeDenied):  # the requester cannot approve their own request
        override_request_approve(actor=world.actor(), request_id=req.pk)
    override_request_approve(actor=Actor(tenant=world.tenant, user=manager), request_id=req.pk)
    forced = CorrectionAttempt.objects.get(denial=d)
    assert forced.forced and forced.outcome == "SUCCESS" and forced.approved_by == manager
    assert forced.created_by == world.users[S.Role.OWNER]
    audit = _audits("CORRECTION_FORCE_RETRIED", d)[-1]
    assert audit.payload["approved_by"] == "second-manager"
    assert audit.payload["requested_by"] == world.users[S.Role.OWNER].username


def test_force_retry_request_expires_unexecuted(world):
    _dual(world)
    d = denied(world.tenant, carc="197")
    req = correction_force_retry(
        actor=world.actor(), denial_id=d.pk, handler=None, reason="stale", reason_code="stale_rule"
    )
    OverrideRequest.objects.filter(pk=req.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    manager = add_user(world.tenant, "late-manager", S.Role.BILLING_MANAGER)
    with pytest.raises(Conflict, match="expired"):
        override_request_approve(actor=Actor(tenant=world.tenant, user=manager), request_id=req.pk)
    assert override_requests_expire(tenant=world.tenant) == 0  # already expired by the approve
    req.refresh_from_db()
    assert req.status == OverrideRequest.Status.EXPIRED
    assert not CorrectionAttempt.objects.filter(denial=d).exists()


def test_aging_counts_the_receivable_once_when_the_replacement_goes_out(world):
    # the open-AR view is the one migration 0006 defines (on PostgreSQL)
    d = denied(world.tenant, carc="197")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-AR")
    correction_run(actor=world.actor(), denial_id=d.pk)
    owner = world.actor()

    def open_total() -> Decimal:
        reporting_views_refresh()
        rows = aging(owner, as_of=timezone.localdate() + timedelta(days=1), payer="CORRPAY")
        return sum((sum(r.buckets.values(), Decimal("0")) for r in rows), Decimal("0"))

    billed = d.claim.billed_amount
    assert open_total() == billed  # the replacement is BUILT: the original counts
    claims_export_837(actor=Actor.system_for(world.tenant), tenant=world.tenant, all_built=True)
    assert open_total() == billed  # the replacement went out: it counts, the original not


def test_missing_modifier_rebills_the_line_with_the_default_and_fails_without_one(world):
    d = denied(world.tenant, carc="4", code="97110")
    got = correction_run(actor=world.actor(), denial_id=d.pk)
    assert got.outcome == "SUCCESS" and got.result["modifiers"] == {"1": "GP"}
    assert got.corrected_claim.lines.get().modifier == "GP"
    x = claims_export_837(actor=Actor.system_for(world.tenant), tenant=world.tenant, all_built=True)
    assert "SV1*HC:97110:GP*" in x.content
    side = denied(world.tenant, carc="4", code="73030")
    failed = correction_run(actor=world.actor(), denial_id=side.pk)
    assert failed.outcome == "FAILED" and failed.corrected_claim is None
    assert failed.result["lines"] == ["line 1 (73030) needs one of RT, LT"]
    Charge.objects.filter(claim_line__claim=side.claim).update(modifier="LT")
    fixed = correction_run(actor=world.actor(), denial_id=side.pk)
    assert fixed.outcome == "SUCCESS" and fixed.corrected_claim.lines.get().modifier == "LT"


def test_timely_filing_inside_the_limit_rebills_with_the_proof(world):
    d = denied(world.tenant, carc="29")
    got = correction_run(actor=world.actor(), denial_id=d.pk)
    assert got.outcome == "SUCCESS"
    assert got.result["interchange"] == d.claim.interchange_control_number
    assert got.result["submitted_on"] == d.claim.submitted_at.date().isoformat()
    assert got.corrected_claim.frequency_code == "7"
    # the replacement goes out later and is denied CO-29 too: the proof is still the first
    # claim's submission (the earliest in the replacement chain)
    claims_export_837(actor=Actor.system_for(world.tenant), tenant=world.tenant, all_built=True)
    replacement = Claim.objects.get(pk=got.corrected_claim_id)
    assert replacement.interchange_control_number != d.claim.interchange_control_number
    r = rb.remittance(world.tenant, replacement.payer)
    rc = rb.remit_claim(
        r, pcn=replacement.patient_control_number, member_code="x", paid="0.00",
        state=RemittanceClaim.MatchState.MATCHED_AUTO, matched=replacement,
    )  # fmt: skip
    again = Denial.objects.create(
        tenant=world.tenant, claim=replacement, remittance_claim=rc, group_code="CO", carc="29",
        amount=replacement.billed_amount,
    )  # fmt: skip
    second = correction_run(actor=world.actor(), denial_id=again.pk)
    assert second.outcome == "SUCCESS"
    assert second.result["interchange"] == d.claim.interchange_control_number
    assert second.corrected_claim.original_id == replacement.pk
    assert second.corrected_claim.original_reference == rc.payer_claim_control_number


def test_no_second_replacement_while_the_first_has_not_gone_out(world):
    # given a SUCCESS whose replacement claim waits for the 837P export
    d = denied(world.tenant, carc="197")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-1")
    first = correction_run(actor=world.actor(), denial_id=d.pk)
    assert first.outcome == "SUCCESS"
    # when a force-retry would rebill again
    with pytest.raises(Conflict, match=first.corrected_claim.number) as refused:
        correction_force_retry(
            actor=world.actor(), denial_id=d.pk, handler=None, reason="stale rule fixed",
            reason_code="stale_rule",
        )  # fmt: skip
    # then it is refused: one replacement, one attempt, the same money is not billed twice
    assert refused.value.code == "replacement_pending"
    assert Claim.objects.filter(original=d.claim).count() == 1
    assert CorrectionAttempt.objects.filter(denial=d).count() == 1
    # and once the replacement went out, a force-retry may build the next one
    claims_export_837(actor=Actor.system_for(world.tenant), tenant=world.tenant, all_built=True)
    again = correction_force_retry(
        actor=world.actor(), denial_id=d.pk, handler=None, reason="its rebill was denied",
        reason_code="rebill_denied",
    )  # fmt: skip
    assert again.outcome == "SUCCESS" and again.corrected_claim != first.corrected_claim
