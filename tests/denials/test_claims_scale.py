"""Claim build and validation query charge ids in chunks (a query binds a limited number of
parameters: SQLite 32,766, PostgreSQL 65,535); chunks made tiny here so a few charges span many."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core.actors import Actor
from core.exceptions import DomainError
from denials.models import Claim, ClaimLine
from denials.services import charges as charge_services
from denials.services import claims as claim_services
from tests.denials.charge_builders import DAY, charge, member, payer


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(charge_services, "_CHUNK", 3)
    monkeypatch.setattr(claim_services, "_CHUNK", 3)


def test_build_and_validate_across_chunks(world, tiny_chunks):
    t = world.tenant
    payer(t)
    for n in range(3):
        member(t, f"M-{n}")
    ids = [f"S-{n:02d}" for n in range(20)]
    for n, cid in enumerate(ids):
        charge(t, cid, member_id=f"M-{n % 3}", service_date=DAY - timedelta(days=n % 2))
    actor = Actor.system_for(t)
    # validation by id across 7 chunks counts every charge, and the unknown one
    counts = charge_services.charges_validate(
        actor=actor, tenant=t, charge_ids=[*ids, "NOPE"], today=DAY
    )
    assert counts == {"checked": 20, "valid": 20, "invalid": 0, "unknown": 1, "claimed": 0}
    # a build naming a claimed charge in a later chunk is refused whole
    claim_services.claims_build(actor=actor, tenant=t, charge_ids=["S-19"])
    with pytest.raises(DomainError) as exc:
        claim_services.claims_build(actor=actor, tenant=t, charge_ids=ids)
    assert exc.value.details["charges"] == {"S-19": ["already on claim CLM-000001"]}
    # every other charge builds: 3 members x 2 days
    claims = claim_services.claims_build_all_valid(actor=actor, tenant=t)
    assert len(claims) == 6
    assert ClaimLine.objects.count() == 20
    assert sum(c.billed_amount for c in Claim.objects.all()) == Decimal("2000.00")
