"""The receivables part of the demo (issue 13, item 13): the shared 835 posted, one line queued."""

from __future__ import annotations

from decimal import Decimal

import pytest

from denials.balances import with_amounts
from denials.demo_claims import load_claims_demo
from denials.demo_remit import load_remittance_demo
from denials.demo_x837 import load_export_demo
from denials.models import Claim, Denial, JobRun, PaymentApplication, RemittanceClaim
from tests.denials.charge_builders import payer


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_demo_posts_the_835_sample_and_leaves_one_line_in_the_queue(world):
    from billing.demo import load_billing_demo

    # given billing's demo, the claims built and exported
    load_billing_demo(world.tenant)
    payer(world.tenant, "NORTHWIND")
    load_claims_demo(world.tenant)
    load_export_demo(world.tenant)

    # when the receivables demo loads (twice)
    first = load_remittance_demo(world.tenant)
    second = load_remittance_demo(world.tenant)

    # then the sample's three claims carry the payer's figures, to the cent
    sample = with_amounts(Claim.objects.filter(patient_control_number="PATIENT ACCOUNT NUMBER"))
    by_member = {c.member.external_id: c for c in sample}
    assert {m: (c.status, c.balance) for m, c in by_member.items()} == {
        "LL99999L": ("PAID", Decimal("0.00")),
        "LL88888L": ("DENIED", Decimal("34.00")),
        "LL77777L": ("PARTIALLY_PAID", Decimal("22.75")),
    }
    paid = PaymentApplication.objects.filter(kind="PAYMENT", claim__in=sample)
    assert sum(a.amount for a in paid) == Decimal("45.75")  # the BPR total
    assert sorted(Denial.objects.values_list("group_code", "carc", "amount", "rarcs")) == [
        ("CO", "251", Decimal("22.75"), ["N206"]),
        ("CO", "29", Decimal("34.00"), []),
    ]
    # and the NORTHWIND line waits in the queue with the claim it resembles as a candidate
    (waiting,) = RemittanceClaim.objects.filter(match_state="UNMATCHED")
    assert waiting.remittance.payer.code == "NORTHWIND"
    assert waiting.candidates and waiting.candidates[0]["claim"] is not None
    # and the nightly jobs ran once, at the first load; the second load added nothing
    assert RemittanceClaim.objects.count() == 4
    assert "COMPLETED, 3 claim payments" in first and "already loaded" in second
    assert JobRun.objects.filter(job="refresh_reporting_views", status="SUCCEEDED").count() == 1
