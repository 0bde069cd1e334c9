"""Demo charges and claims (issue 13, item 13)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from denials.demo_claims import load_claims_demo
from denials.models import Charge, Claim
from tests.denials.charge_builders import payer


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_demo_loads_charges_some_invalid_and_builds_claims_once(world):
    from billing.demo import load_billing_demo

    # given billing's demo payers and members
    load_billing_demo(world.tenant)
    payer(world.tenant, "NORTHWIND")
    # when the claims demo loads (twice)
    first = load_claims_demo(world.tenant)
    second = load_claims_demo(world.tenant)
    # then four charges are invalid, every valid one is on a claim, and the reload changed nothing
    assert Charge.objects.filter(status="INVALID").count() == 4
    assert not Charge.objects.filter(status="VALID", claim_line__isnull=True).exists()
    assert "claims built" in first and second == "charges already loaded; 0 claims built"
    # and the 835 sample's three claims exist with its billed amounts
    sample = Claim.objects.filter(patient_control_number="PATIENT ACCOUNT NUMBER")
    assert sorted((c.member.external_id, c.billed_amount) for c in sample) == [
        ("LL77777L", Decimal("34.25")),
        ("LL88888L", Decimal("34.00")),
        ("LL99999L", Decimal("34.25")),
    ]
