"""Claims and denials events (issue 19): remittance posted, receivables waiting, denials
opened, written off and reopened; ids, codes and amounts only."""

from __future__ import annotations

import pytest
from django.db import transaction

from core import scopes as S
from core.models import Event
from denials.models import Denial, Remittance, RemittanceClaim
from denials.services.denial_work import denial_flip, denial_reopen, denial_write_off
from denials.services.receivables import remittance_claim_unmatch
from tests.core.event_helpers import events_of, phi_found, the_event
from tests.denials.remit_builders import PCN, _base, load, sample_claims, sample_rows

PHI = ["LL99999L", "LL88888L", "LL77777L", "ZZ00000Z", "Test", "Person", "1980-01-01", PCN]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def posted(world) -> dict:
    claims = sample_claims(world.tenant)
    load(world.actor(S.Role.OWNER), sample_rows())
    return claims


def test_remittance_posted_and_its_denials_opened(world, posted):
    remittance = Remittance.objects.get(tenant=world.tenant)

    event = the_event(world.tenant, "claims.remittance.posted")
    assert (event.object_type, event.object_id) == ("denials.Remittance", str(remittance.pk))
    assert event.payload == {
        "remittance": remittance.pk,
        "payer": remittance.payer_id,
        "batch": remittance.batch_id,
        "trace_number": "10100000000",
        "payment_amount": "45.75",
        "payment_method": "ACH",
        "payment_date": "2010-01-01",
        "claims": 3,
        "matched_auto": 3,
        "unmatched": 0,
    }
    opened = events_of(world.tenant, "denials.denial.opened")
    denied = Denial.objects.get(claim=posted["denied"])
    partial = Denial.objects.get(claim=posted["partial"])
    assert [e.payload for e in opened] == [
        {
            "denial": denied.pk,
            "claim": posted["denied"].pk,
            "remittance_claim": denied.remittance_claim_id,
            "status": "OPEN",
            "group_code": "CO",
            "carc": "29",
            "amount": "34.00",
        },
        {
            "denial": partial.pk,
            "claim": posted["partial"].pk,
            "remittance_claim": partial.remittance_claim_id,
            "status": "OPEN",
            "group_code": "CO",
            "carc": "251",
            "amount": "22.75",
        },
    ]
    assert [e.object_id for e in opened] == [str(denied.pk), str(partial.pk)]
    assert events_of(world.tenant, "claims.receivable.unmatched") == []
    for e in [event, *opened]:
        assert phi_found(e.payload, PHI) == []


def test_a_line_no_claim_matches_waits_as_unmatched(world):
    sample_claims(world.tenant)
    stray = _base(
        status_code="1",
        charge_amount="80",
        paid_amount="60",
        payer_claim_control_number="9999990000000001",
        member_id="ZZ00000Z",
        patient_control_number="NO SUCH ACCOUNT",
    )
    load(world.actor(S.Role.OWNER), [*sample_rows(), stray])

    line = RemittanceClaim.objects.get(payer_claim_control_number="9999990000000001")
    assert line.match_state == RemittanceClaim.MatchState.UNMATCHED
    event = the_event(world.tenant, "claims.receivable.unmatched")
    assert (event.object_type, event.object_id) == ("denials.RemittanceClaim", str(line.pk))
    assert event.payload == {
        "remittance_claim": line.pk,
        "remittance": line.remittance_id,
        "match_state": "UNMATCHED",
        "status_code": "1",
        "charge_amount": "80.00",
        "paid_amount": "60.00",
        "candidates": len(line.candidates),
    }
    assert phi_found(event.payload, [*PHI, "NO SUCH ACCOUNT"]) == []
    assert the_event(world.tenant, "claims.remittance.posted").payload["unmatched"] == 1


def test_a_manual_unmatch_puts_the_line_back_as_unmatched(world, posted):
    line = RemittanceClaim.objects.get(claim=posted["paid"])
    remittance_claim_unmatch(
        actor=world.actor(S.Role.OWNER), remittance_claim_id=line.pk, reason="wrong claim"
    )

    event = the_event(world.tenant, "claims.receivable.unmatched")
    assert event.payload["remittance_claim"] == line.pk
    assert event.payload["match_state"] == "UNMATCHED"
    assert "wrong claim" not in str(event.payload)


def test_denial_written_off_then_reopened(world, posted):
    owner = world.actor(S.Role.OWNER)
    denial = Denial.objects.get(claim=posted["denied"])

    denial_write_off(actor=owner, denial_id=denial.pk, reason="timely filing: Test Person")
    off = the_event(world.tenant, "denials.denial.written_off")
    assert off.payload == {
        "denial": denial.pk,
        "claim": posted["denied"].pk,
        "status": "WRITTEN_OFF",
        "group_code": "CO",
        "carc": "29",
        "denied_amount": "34.00",
        "amount": "34.00",
        "manual_flip": False,
    }

    denial_reopen(actor=owner, denial_id=denial.pk, reason="appeal won")
    back = the_event(world.tenant, "denials.denial.reopened")
    assert back.payload["status"] == "OPEN"
    assert back.payload["amount"] == "34.00"
    assert back.sequence > off.sequence
    for e in (off, back):
        assert phi_found(e.payload, [*PHI, "timely", "appeal"]) == []


def test_a_manual_flip_to_written_off_is_written_off_without_money(world, posted):
    denial = Denial.objects.get(claim=posted["partial"])
    denial_flip(
        actor=world.actor(S.Role.OWNER), denial_id=denial.pk, to="WRITTEN_OFF", reason="paper EOB"
    )

    event = the_event(world.tenant, "denials.denial.written_off")
    assert (event.payload["status"], event.payload["amount"], event.payload["manual_flip"]) == (
        "WRITTEN_OFF",
        "0.00",
        True,
    )
    assert events_of(world.tenant, "denials.denial.reopened") == []


def test_posting_rolled_back_leaves_no_event(world):
    sample_claims(world.tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        load(world.actor(S.Role.OWNER), sample_rows())
        assert len(events_of(world.tenant, "denials.denial.opened")) == 2
        raise RuntimeError("forced rollback")
    assert not Event.objects.filter(tenant=world.tenant).exists()
