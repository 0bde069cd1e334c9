"""Write-off and reopen (issue 14 item 1): the WRITEOFF application, its REVERSAL, the claim
balance to the cent, the claim status, and the audit chain."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import scopes as S
from core.audit import verify_chain
from core.exceptions import DomainError, ScopeDenied, TransitionRefused
from core.models import AuditEntry
from denials.models import Denial, PaymentApplication
from denials.services.denial_work import (
    denial_open_amount,
    denial_reopen,
    denial_write_off,
)
from tests.denials.flow_builders import posted
from tests.denials.test_posting import amounts

D = Decimal


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def sample(world):
    return posted(world)


def test_write_off_adds_the_open_amount_and_the_claim_balance_drops_by_it(world, sample):
    denial, claim = sample["partial"], sample["claims"]["partial"]
    before = amounts(claim)
    assert (before["balance"], before["status"]) == (D("22.75"), "PARTIALLY_PAID")
    # when an operations user writes the denial off
    got = denial_write_off(
        actor=world.actor(S.Role.OPERATIONS), denial_id=denial.pk, reason="not worth an appeal"
    )
    # then the denial is WRITTEN_OFF, a WRITEOFF of 22.75 names it, the claim is PAID at 0.00
    assert got.status == Denial.Status.WRITTEN_OFF
    app = PaymentApplication.objects.get(kind="WRITEOFF")
    assert (app.amount, app.denial_id, app.claim_id, app.carc) == (
        D("22.75"),
        denial.pk,
        claim.pk,
        "251",
    )
    after = amounts(claim)
    assert (after["balance"], after["status"]) == (D("0.00"), "PAID")
    assert denial_open_amount(got) == D("0.00")
    entry = AuditEntry.objects.get(action="DENIAL_WRITTEN_OFF")
    assert entry.payload["payer"] == "NYSDOH"
    assert entry.payload["amount"] == "22.75"
    assert entry.reason == "not worth an appeal"


def test_write_off_needs_a_reason_and_the_scope(world, sample):
    denial = sample["denied"]
    with pytest.raises(DomainError):
        denial_write_off(actor=world.actor(S.Role.OWNER), denial_id=denial.pk, reason="  ")
    with pytest.raises(ScopeDenied):
        denial_write_off(actor=world.actor(S.Role.VIEWER), denial_id=denial.pk, reason="r")
    assert Denial.objects.get(pk=denial.pk).status == Denial.Status.OPEN
    assert not PaymentApplication.objects.filter(kind="WRITEOFF").exists()


def test_write_off_then_reopen_restores_the_balance_to_the_cent_and_the_chain_verifies(
    world, sample
):
    denial, claim = sample["denied"], sample["claims"]["denied"]
    before = amounts(claim)
    assert (before["balance"], before["status"]) == (D("34.00"), "DENIED")
    owner = world.actor(S.Role.OWNER)
    denial_write_off(actor=owner, denial_id=denial.pk, reason="timely filing lost")
    assert amounts(claim)["balance"] == D("0.00")
    # when it is reopened with a reason
    got = denial_reopen(actor=owner, denial_id=denial.pk, reason="found proof of timely filing")
    # then the denial is OPEN, the write-off is reversed, balance and status are as before
    assert got.status == Denial.Status.OPEN
    writeoff = PaymentApplication.objects.get(kind="WRITEOFF")
    reversal = PaymentApplication.objects.get(kind="REVERSAL")
    assert (reversal.reverses, reversal.amount, reversal.denial_id) == (
        writeoff,
        D("34.00"),
        denial.pk,
    )
    after = amounts(claim)
    assert (after["balance"], after["status"]) == (D("34.00"), "DENIED")
    assert denial_open_amount(got) == D("34.00")
    entry = AuditEntry.objects.get(action="DENIAL_REOPENED")
    assert entry.object_id == str(denial.pk)
    assert entry.payload["payer"] == "NYSDOH"
    assert entry.payload["requested_by"] == "alpha-owner"
    assert entry.payload["approved_by"] is None
    assert entry.payload["from"] == "WRITTEN_OFF" and entry.payload["to"] == "OPEN"
    assert verify_chain(world.tenant).ok
    # and a second write-off takes the whole amount again
    denial_write_off(actor=owner, denial_id=denial.pk, reason="again")
    assert amounts(claim)["balance"] == D("0.00")
    assert verify_chain(world.tenant).ok


def test_reopen_needs_a_reason_and_a_written_off_denial(world, sample):
    owner = world.actor(S.Role.OWNER)
    denial = sample["denied"]
    with pytest.raises(TransitionRefused) as refused:
        denial_reopen(actor=owner, denial_id=denial.pk, reason="r")
    assert refused.value.details["current"] == "OPEN"
    denial_write_off(actor=owner, denial_id=denial.pk, reason="r")
    with pytest.raises(DomainError):
        denial_reopen(actor=owner, denial_id=denial.pk, reason="")
    assert Denial.objects.get(pk=denial.pk).status == Denial.Status.WRITTEN_OFF


def test_a_reversing_835_resolves_a_written_off_denial_and_reverses_the_write_off(world, sample):
    from tests.denials.remit_builders import load, sample_rows
    from tests.denials.test_receivables_actions import reversal_of

    denial, claim = sample["partial"], sample["claims"]["partial"]
    owner = world.actor(S.Role.OWNER)
    denial_write_off(actor=owner, denial_id=denial.pk, reason="small balance")
    assert amounts(claim)["balance"] == D("0.00")
    writeoff = PaymentApplication.objects.get(kind="WRITEOFF")
    # when the payer reverses the claim's adjudication in a later 835 (CLP02 22)
    load(owner, [reversal_of(sample_rows()[2], "TRN-REV")])
    # then the denial is RESOLVED by the system, its write-off and the payment are reversed
    got = Denial.objects.get(pk=denial.pk)
    assert got.status == Denial.Status.RESOLVED
    reversal = PaymentApplication.objects.get(kind="REVERSAL", reverses=writeoff)
    assert (reversal.amount, reversal.denial_id) == (D("22.75"), denial.pk)
    assert PaymentApplication.objects.filter(kind="REVERSAL").count() == 2
    after = amounts(claim)
    assert (after["balance"], after["status"]) == (D("34.25"), "SUBMITTED")
    entry = AuditEntry.objects.get(action="DENIAL_RESOLVED_BY_REVERSAL")
    assert (entry.object_id, entry.payload["from"], entry.payload["to"]) == (
        str(denial.pk),
        "WRITTEN_OFF",
        "RESOLVED",
    )
    assert entry.payload["payer"] == "NYSDOH"
    assert verify_chain(world.tenant).ok


def test_a_reversing_835_for_a_fully_denied_written_off_claim(world, sample):
    from tests.denials.remit_builders import load, sample_rows
    from tests.denials.test_receivables_actions import reversal_of

    denial, claim = sample["denied"], sample["claims"]["denied"]
    owner = world.actor(S.Role.OWNER)
    denial_write_off(actor=owner, denial_id=denial.pk, reason="timely filing")
    # nothing but the denial was posted on it (paid 0.00); the reversal still finds it
    load(owner, [reversal_of(sample_rows()[1], "TRN-REV2")])
    assert Denial.objects.get(pk=denial.pk).status == Denial.Status.RESOLVED
    assert amounts(claim)["balance"] == D("34.00")


def test_a_reversing_835_still_voids_an_open_denial(world, sample):
    from tests.denials.remit_builders import load, sample_rows
    from tests.denials.test_receivables_actions import reversal_of

    denial = sample["partial"]
    load(world.actor(S.Role.OWNER), [reversal_of(sample_rows()[2], "TRN-REV3")])
    assert Denial.objects.get(pk=denial.pk).status == Denial.Status.VOIDED
    assert not AuditEntry.objects.filter(action="DENIAL_RESOLVED_BY_REVERSAL").exists()


def test_no_write_off_or_reopen_on_a_closed_claim(world, sample):
    from core.exceptions import Conflict
    from denials.models import Claim

    denial, claim = sample["denied"], sample["claims"]["denied"]
    owner = world.actor(S.Role.OWNER)
    Claim.objects.filter(pk=claim.pk).update(status=Claim.Status.CLOSED)  # test setup only
    with pytest.raises(Conflict, match="CLOSED"):
        denial_write_off(actor=owner, denial_id=denial.pk, reason="r")
    assert Denial.objects.get(pk=denial.pk).status == Denial.Status.OPEN
    assert not PaymentApplication.objects.filter(kind="WRITEOFF").exists()
