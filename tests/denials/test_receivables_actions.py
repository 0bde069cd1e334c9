"""Force-match, unmatch and reversals (issue 13 items 7, 8): what a person does with the
receivables queue, and what a payer's CLP02 22 takes back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import scopes as S
from core.exceptions import Conflict, DomainError, ScopeDenied
from core.models import AuditEntry, OverrideRequest, TenantPolicy
from core.overrides import override_request_approve
from denials.models import Denial, PaymentApplication
from denials.models import RemittanceClaim as RC
from denials.services.receivables import (
    remittance_claim_force_match,
    remittance_claim_unmatch,
)
from tests.denials.remit_builders import claim, load, payer, sample_claims, sample_rows
from tests.denials.test_posting import amounts

D = Decimal


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def queued(world, owner):
    """A payment waiting in the queue: two claims share its number, neither has its member."""
    p = payer(world.tenant)
    c1 = claim(world.tenant, "CLM-1", payer_obj=p, member_id="OTHER1", billed="34.25")
    c2 = claim(world.tenant, "CLM-2", payer_obj=p, member_id="OTHER2", billed="34.25")
    load(owner, sample_rows()[:1])
    rc = RC.objects.get()
    assert rc.match_state == RC.MatchState.UNMATCHED
    return rc, c1, c2


def test_force_match_posts_the_payment_with_who_why_and_the_score_it_overrode(world, queued):
    rc, c1, c2 = queued
    manager = world.actor(S.Role.BILLING_MANAGER)
    # when a billing manager force-matches the line to the second claim with a reason
    got = remittance_claim_force_match(
        actor=manager, remittance_claim_id=rc.pk, claim_id=c2.pk, reason="member id typo at payer"
    )
    # then the line is MATCHED_FORCED by that person, with the reason and the overridden score
    assert got.match_state == RC.MatchState.MATCHED_FORCED
    assert (got.claim, got.matched_by, got.match_reason) == (
        c2,
        manager.user,
        "member id typo at payer",
    )
    assert got.overridden_score == D("0.65")
    assert "member_id" in got.evidence["disagreed"]
    # and the claim is paid; the other claim untouched
    assert (amounts(c2)["status"], amounts(c2)["balance"]) == ("PAID", D("0"))
    assert amounts(c1)["balance"] == D("34.25")
    assert AuditEntry.objects.filter(action="REMITTANCE_CLAIM_FORCE_MATCHED").count() == 1


def test_force_match_without_scope_is_refused(world, queued):
    rc, _, c2 = queued
    with pytest.raises(ScopeDenied):
        remittance_claim_force_match(
            actor=world.actor(S.Role.OPERATIONS),
            remittance_claim_id=rc.pk,
            claim_id=c2.pk,
            reason="x",
        )
    assert PaymentApplication.objects.count() == 0


def test_force_match_without_reason_is_refused(world, owner, queued):
    rc, _, c2 = queued
    with pytest.raises(DomainError) as exc:
        remittance_claim_force_match(
            actor=owner, remittance_claim_id=rc.pk, claim_id=c2.pk, reason="  "
        )
    assert exc.value.http_status == 400
    assert "reason" in exc.value.message
    assert RC.objects.get().match_state == RC.MatchState.UNMATCHED


def test_force_match_to_another_payers_claim_is_refused(world, owner, queued):
    rc, _, _ = queued
    other = claim(
        world.tenant, "CLM-9", payer_obj=payer(world.tenant, "ACME"), member_id="Z", billed="1"
    )
    with pytest.raises(DomainError, match="another payer"):
        remittance_claim_force_match(
            actor=owner, remittance_claim_id=rc.pk, claim_id=other.pk, reason="r"
        )


def test_force_match_under_dual_control_waits_for_a_second_person(world, owner, queued):
    rc, _, c2 = queued
    TenantPolicy.objects.update_or_create(
        tenant=world.tenant, defaults={"dual_control_scopes": [S.BILLING_RECEIVABLE_OVERRIDE]}
    )
    # when the owner force-matches
    request = remittance_claim_force_match(
        actor=owner, remittance_claim_id=rc.pk, claim_id=c2.pk, reason="confirmed by phone"
    )
    # then it waits as a request; nothing posted
    assert isinstance(request, OverrideRequest)
    assert request.status == OverrideRequest.Status.PENDING
    assert RC.objects.get().match_state == RC.MatchState.UNMATCHED
    assert PaymentApplication.objects.count() == 0
    # and the requester cannot approve it
    with pytest.raises(ScopeDenied):
        override_request_approve(actor=owner, request_id=request.pk)
    # when a second person approves, it runs: matched by the requester, claim paid
    override_request_approve(actor=world.actor(S.Role.ADMIN), request_id=request.pk)
    got = RC.objects.get()
    assert (got.match_state, got.claim, got.matched_by) == (
        RC.MatchState.MATCHED_FORCED,
        c2,
        owner.user,
    )
    assert amounts(c2)["balance"] == D("0")


def test_force_match_of_a_matched_line_is_a_conflict(world, owner, queued):
    rc, c1, c2 = queued
    remittance_claim_force_match(actor=owner, remittance_claim_id=rc.pk, claim_id=c1.pk, reason="r")
    with pytest.raises(Conflict):
        remittance_claim_force_match(
            actor=owner, remittance_claim_id=rc.pk, claim_id=c2.pk, reason="r"
        )


def test_unmatch_reverses_everything_posted_and_requeues(world, owner):
    # given the sample posted automatically
    claims = sample_claims(world.tenant)
    load(owner, sample_rows())
    partial = RC.objects.get(claim=claims["partial"])
    # when the partly paid line is unmatched with a reason
    got = remittance_claim_unmatch(
        actor=owner, remittance_claim_id=partial.pk, reason="wrong patient"
    )
    # then it waits again, its payment is reversed, its denial voided, the claim is back open
    assert (got.match_state, got.claim_id) == (RC.MatchState.UNMATCHED, None)
    after = amounts(claims["partial"])
    assert (after["balance"], after["reversed"], after["status"]) == (
        D("34.25"),
        D("11.50"),
        "SUBMITTED",
    )
    assert Denial.objects.get(claim=claims["partial"]).status == Denial.Status.VOIDED
    # and it can be force-matched again, opening a fresh denial
    remittance_claim_force_match(
        actor=owner, remittance_claim_id=partial.pk, claim_id=claims["partial"].pk, reason="ok"
    )
    assert amounts(claims["partial"])["balance"] == D("22.75")
    assert Denial.objects.filter(claim=claims["partial"], status="OPEN").count() == 1
    # and unmatching again takes back only the second posting
    remittance_claim_unmatch(actor=owner, remittance_claim_id=partial.pk, reason="again")
    assert amounts(claims["partial"])["balance"] == D("34.25")


def test_unmatch_needs_scope_and_reason_and_a_matched_line(world, owner, queued):
    rc, _, _ = queued
    with pytest.raises(Conflict):
        remittance_claim_unmatch(actor=owner, remittance_claim_id=rc.pk, reason="r")
    with pytest.raises(DomainError, match="reason"):
        remittance_claim_unmatch(actor=owner, remittance_claim_id=rc.pk, reason="")
    with pytest.raises(ScopeDenied):
        remittance_claim_unmatch(
            actor=world.actor(S.Role.VIEWER), remittance_claim_id=rc.pk, reason="r"
        )


def reversal_of(row: dict, trace: str) -> dict:
    return row | {
        "trace_number": trace,
        "status_code": "22",
        "charge_amount": "-" + row["charge_amount"],
        "paid_amount": "-" + row["paid_amount"] if row["paid_amount"] != "0" else "0",
        "adjustments": "",
        "remarks": "",
        "lines": "",
    }


def test_reversal_takes_back_the_earlier_payment(world, owner):
    # given the sample posted
    claims = sample_claims(world.tenant)
    load(owner, sample_rows())
    payment = PaymentApplication.objects.get(claim=claims["partial"], kind="PAYMENT")
    # when the payer reverses the partly paid claim in a later 835
    load(owner, [reversal_of(sample_rows()[2], "TRN-REV")])
    # then a REVERSAL of the payment is posted against it, the denial is voided, balance back
    reversal = PaymentApplication.objects.get(claim=claims["partial"], kind="REVERSAL")
    assert (reversal.reverses, reversal.amount) == (payment, D("11.50"))
    after = amounts(claims["partial"])
    assert (after["balance"], after["status"]) == (D("34.25"), "SUBMITTED")
    assert Denial.objects.get(claim=claims["partial"]).status == Denial.Status.VOIDED
    # and the other claims did not move
    assert amounts(claims["paid"])["balance"] == D("0")


def test_reversal_then_corrected_payment_in_one_file(world, owner):
    # given the paid claim posted
    claims = sample_claims(world.tenant)
    load(owner, sample_rows()[:1])
    # when one file reverses it and pays 30.00 with CO-45 4.25 under a new control number
    corrected = sample_rows()[0] | {
        "trace_number": "TRN-2",
        "payer_claim_control_number": "NEWPCCN",
        "paid_amount": "30.00",
        "adjustments": "CO-45:4.25",
    }
    load(owner, [reversal_of(sample_rows()[0], "TRN-2"), corrected])
    # then the first payment is reversed and the new one posted: balance 0, PAID
    after = amounts(claims["paid"])
    assert (after["paid"], after["reversed"], after["adjusted"], after["balance"]) == (
        D("64.25"),
        D("34.25"),
        D("4.25"),
        D("0.00"),
    )
    assert after["status"] == "PAID"


def test_unmatching_a_reversal_restores_the_payment(world, owner):
    claims = sample_claims(world.tenant)
    load(owner, sample_rows()[:1])
    load(owner, [reversal_of(sample_rows()[0], "TRN-REV")])
    assert amounts(claims["paid"])["balance"] == D("34.25")
    rev = RC.objects.get(status_code="22")
    remittance_claim_unmatch(actor=owner, remittance_claim_id=rev.pk, reason="payer error")
    after = amounts(claims["paid"])
    assert (after["balance"], after["status"]) == (D("0.00"), "PAID")
