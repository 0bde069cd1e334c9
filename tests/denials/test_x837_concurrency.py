"""Two exports at once never send a claim twice nor reuse a control number (PostgreSQL)."""

from __future__ import annotations

import pytest

from core.actors import Actor
from core.exceptions import DomainError
from denials.models import Claim, Interchange837
from denials.services.x12_export import claims_export_837
from tests.concurrency import race
from tests.denials.builders_x837 import claim


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_exports_send_each_claim_once(world):
    # given 30 BUILT claims
    for _ in range(30):
        claim(world.tenant)
    system = Actor.system_for(world.tenant)

    # when three "export all" run at the same moment
    results = race(
        3, lambda i: claims_export_837(actor=system, tenant=world.tenant, all_built=True)
    )

    # then one interchange carries the 30 claims; the others found nothing left to export
    made = [r for r in results if isinstance(r, Interchange837)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(made) == 1 and len(refused) == 2, results
    assert made[0].claim_count == 30
    assert all(e.code == "nothing_to_export" for e in refused)
    assert set(Claim.objects.values_list("status", flat=True)) == {"SUBMITTED"}
    assert Interchange837.objects.count() == 1
