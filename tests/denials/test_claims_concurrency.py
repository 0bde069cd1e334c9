"""Claim builds at the same moment (PostgreSQL): distinct numbers, no charge on two claims."""

from __future__ import annotations

import pytest

from core.actors import Actor
from core.exceptions import DomainError
from denials.models import Claim, ClaimLine
from denials.services.claims import claims_build
from tests.concurrency import race
from tests.denials.charge_builders import charge, member, payer


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_builds_get_distinct_numbers_and_claim_a_charge_once(world):
    # given four members with a valid charge each, and one charge both builds name
    payer(world.tenant)
    for n in range(1, 5):
        member(world.tenant, f"M-{n}")
        charge(world.tenant, f"C-{n}", member_id=f"M-{n}")
    actor = Actor.system_for(world.tenant)
    # when two builds run at once: C-1 + C-2, and C-3 + C-4 (apart) then both C-1 (shared)
    apart = race(
        2,
        lambda i: claims_build(
            actor=actor, tenant=world.tenant, charge_ids=[["C-1", "C-2"], ["C-3", "C-4"]][i]
        ),
    )
    # then four claims with four distinct numbers
    assert all(isinstance(r, list) for r in apart), apart
    numbers = sorted(Claim.objects.values_list("number", flat=True))
    assert numbers == ["CLM-000001", "CLM-000002", "CLM-000003", "CLM-000004"]

    member(world.tenant, "M-9")
    charge(world.tenant, "C-9", member_id="M-9")
    shared = race(2, lambda i: claims_build(actor=actor, tenant=world.tenant, charge_ids=["C-9"]))
    # then one build wins, the other is refused naming the claim, and the charge has one line
    wins = [r for r in shared if isinstance(r, list)]
    refused = [r for r in shared if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(refused) == 1, shared
    assert refused[0].details["charges"]["C-9"] == [f"already on claim {wins[0][0].number}"]
    assert ClaimLine.objects.filter(charge__charge_id="C-9").count() == 1
