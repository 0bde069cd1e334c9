"""Two remittances posting on one claim at the same moment (PostgreSQL): each is posted once and
the claim's status counts both."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from denials.remit_rows import read_row
from denials.services.posting import remittance_rows_load
from tests.concurrency import race
from tests.denials.remit_builders import claim, payer, sample_rows
from tests.denials.test_posting import amounts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_remittances_paying_one_claim_at_once_both_count(world):
    # given a claim of 100.00
    p = payer(world.tenant)
    c = claim(world.tenant, "CLM-1", payer_obj=p, member_id="M1", billed="100.00", pcn="PCN-1")
    base = sample_rows()[0] | {
        "patient_control_number": "PCN-1",
        "member_id": "M1",
        "charge_amount": "100.00",
        "paid_amount": "50.00",
        "adjustments": "",
    }
    rows = [
        [(1, read_row(base | {"trace_number": f"T{i}", "payer_claim_control_number": f"X{i}"})[0])]
        for i in range(2)
    ]

    # when two remittances each paying 50.00 are posted at the same moment
    def post(i):
        with transaction.atomic():
            return remittance_rows_load(tenant_id=world.tenant.pk, rows=rows[i])

    results = race(2, post)

    # then both posted, and the claim is PAID at balance 0 (neither status read missed the other)
    assert results == [{}, {}], results
    after = amounts(c)
    assert (after["paid"], after["balance"], after["status"]) == (
        Decimal("100.00"),
        Decimal("0.00"),
        "PAID",
    )
