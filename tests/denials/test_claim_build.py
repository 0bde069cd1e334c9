"""Claim build (SPEC 6, seed 003; issue 13, item 2): all or nothing, grouped, numbered."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError, ScopeDenied
from core.models import AuditEntry
from denials.models import Claim, ClaimLine, ClaimsSettings
from denials.services.claims import claims_build, claims_build_all_valid
from tests.denials.charge_builders import DAY, charge, member, payer, payers_and_members


@pytest.fixture
def known(world):
    payers_and_members(world.tenant, "NORTHWIND", "SOUTHWIND")
    return world


def _lines(claim: Claim) -> list[tuple]:
    return list(
        claim.lines.order_by("line_number").values_list(
            "line_number", "charge__charge_id", "service_date", "amount"
        )
    )


def test_one_claim_per_payer_member_and_service_date_without_claim_numbers(known):
    t = known.tenant
    day2 = DAY - timedelta(days=1)
    charge(t, "A", amount="100.00")
    charge(t, "B", amount="20.50")  # same payer, member, day as A: same claim
    charge(t, "C", service_date=day2)  # another day
    charge(t, "D", member_id="M-2")  # another member
    charge(t, "E", payer_code="SOUTHWIND")  # another payer
    # when the five charges are built
    claims = claims_build(actor=known.actor(), tenant=t, charge_ids=["A", "B", "C", "D", "E"])
    # then four claims exist, numbered in order, A and B on one claim of 120.50
    assert [c.number for c in claims] == ["CLM-000001", "CLM-000002", "CLM-000003", "CLM-000004"]
    first = Claim.objects.get(number="CLM-000001")
    assert first.billed_amount == Decimal("120.50")
    assert first.status == "BUILT"
    assert first.patient_control_number == "CLM-000001"
    assert (first.service_date, first.service_date_to) == (DAY, DAY)
    assert _lines(first) == [
        (1, "A", DAY, Decimal("100.00")),
        (2, "B", DAY, Decimal("20.50")),
    ]
    assert Claim.objects.get(number="CLM-000002").service_date == day2
    assert ClaimsSettings.objects.get(tenant=t).claim_counter == 4
    # and each build is in the audit trail with its charges
    entry = AuditEntry.objects.get(action="Claim.build", object_id=str(first.pk))
    assert entry.payload["charges"] == ["A", "B"]
    assert entry.payload["billed_amount"] == "120.50"


def test_charges_with_a_claim_number_share_one_claim_spanning_their_dates(known):
    t = known.tenant
    day0 = DAY - timedelta(days=3)
    charge(t, "A", claim_number="PCN-7", service_date=DAY, amount="10.00")
    charge(t, "B", claim_number="PCN-7", service_date=day0, amount="5.00")
    charge(t, "C", claim_number="PCN-8", service_date=DAY, amount="1.00")
    claims = claims_build(actor=known.actor(), tenant=t, charge_ids=["A", "B", "C"])
    assert len(claims) == 2
    claim = Claim.objects.get(patient_control_number="PCN-7")
    # the lines keep their own dates (oldest first), the claim spans them
    assert (claim.service_date, claim.service_date_to) == (day0, DAY)
    assert claim.billed_amount == Decimal("15.00")
    assert _lines(claim) == [(1, "B", day0, Decimal("5.00")), (2, "A", DAY, Decimal("10.00"))]


def test_any_bad_charge_refuses_the_build_with_per_charge_errors_and_builds_nothing(known):
    t = known.tenant
    charge(t, "GOOD")
    charge(t, "BAD", amount="0")
    charge(t, "NEW", validate=False)
    charge(t, "DONE")
    claims_build(actor=known.actor(), tenant=t, charge_ids=["DONE"])
    # when the build names a good, an invalid, a pending, an unknown and a claimed charge
    with pytest.raises(DomainError) as exc:
        claims_build(
            actor=known.actor(), tenant=t, charge_ids=["GOOD", "BAD", "NEW", "NOPE", "DONE"]
        )
    # then every problem charge is named, and nothing was built
    errors = exc.value.details["charges"]
    assert list(errors) == ["BAD", "NEW", "NOPE", "DONE"]
    assert errors["BAD"] == ["the charge is INVALID", "amount: must be more than 0, found 0.00"]
    assert errors["NEW"] == ["not validated yet (PENDING): validate the charges first"]
    assert errors["NOPE"] == ["unknown charge id"]
    assert errors["DONE"] == ["already on claim CLM-000001"]
    assert exc.value.message == "4 of 5 charges cannot be claimed; nothing was built."
    assert Claim.objects.count() == 1
    assert ClaimsSettings.objects.get(tenant=t).claim_counter == 1
    assert not ClaimLine.objects.filter(charge__charge_id="GOOD").exists()


def test_an_empty_list_is_refused(known):
    with pytest.raises(DomainError, match="chargeIds"):
        claims_build(actor=known.actor(), tenant=known.tenant, charge_ids=[])


def test_build_needs_claims_write(known):
    charge(known.tenant, "A")
    with pytest.raises(ScopeDenied):
        claims_build(actor=known.actor(S.Role.VIEWER), tenant=known.tenant, charge_ids=["A"])
    assert not Claim.objects.exists()


def test_another_tenants_charge_is_unknown(known):
    payer(known.other_tenant)
    member(known.other_tenant)
    charge(known.other_tenant, "THEIRS")
    with pytest.raises(DomainError) as exc:
        claims_build(actor=known.actor(), tenant=known.tenant, charge_ids=["THEIRS"])
    assert exc.value.details["charges"] == {"THEIRS": ["unknown charge id"]}


def test_build_all_valid_takes_every_unclaimed_valid_charge_and_numbers_continue(known):
    t = known.tenant
    charge(t, "A")
    claims_build(actor=known.actor(), tenant=t, charge_ids=["A"])
    charge(t, "B", member_id="M-2")
    charge(t, "C", amount="-1")  # invalid: left out
    charge(t, "D", payer_code="SOUTHWIND")
    claims = claims_build_all_valid(actor=Actor.system_for(t), tenant=t)
    assert [c.number for c in claims] == ["CLM-000002", "CLM-000003"]
    assert sorted(ClaimLine.objects.values_list("charge__charge_id", flat=True)) == ["A", "B", "D"]
    # nothing left: an empty list, no number used
    assert claims_build_all_valid(actor=Actor.system_for(t), tenant=t) == []
    assert ClaimsSettings.objects.get(tenant=t).claim_counter == 3


def test_claim_numbers_are_per_tenant(known):
    payer(known.other_tenant)
    member(known.other_tenant)
    charge(known.tenant, "A")
    charge(known.other_tenant, "B")
    a = claims_build(actor=known.actor(), tenant=known.tenant, charge_ids=["A"])
    b = claims_build(
        actor=Actor.system_for(known.other_tenant), tenant=known.other_tenant, charge_ids=["B"]
    )
    assert a[0].number == b[0].number == "CLM-000001"


def test_a_member_limited_to_some_payers_cannot_build_another_payers_charges(known):
    from guardian.shortcuts import assign_perm

    charge(known.tenant, "NORTH")
    charge(known.tenant, "SOUTH", payer_code="SOUTHWIND")
    ops = known.users[S.Role.OPERATIONS]
    assign_perm("billing.view_payer", ops, payer(known.tenant, "SOUTHWIND"))
    actor = Actor(tenant=known.tenant, user=ops)
    # the other payer's charge is unknown to them; their own payer's builds
    with pytest.raises(DomainError) as exc:
        claims_build(actor=actor, tenant=known.tenant, charge_ids=["NORTH"])
    assert exc.value.details["charges"] == {"NORTH": ["unknown charge id"]}
    claims = claims_build_all_valid(actor=actor, tenant=known.tenant)
    assert [c.payer.code for c in claims] == ["SOUTHWIND"]
