"""Two exports at once never send a claim twice nor reuse a control number (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from core.actors import Actor
from core.exceptions import DomainError
from denials.models import Claim, Interchange837
from denials.services.x12_export import claims_export_837
from tests.denials.builders_x837 import claim


def _race(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the error is the result under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_exports_send_each_claim_once(world):
    # given 30 BUILT claims
    for _ in range(30):
        claim(world.tenant)
    system = Actor.system_for(world.tenant)

    # when three "export all" run at the same moment
    results = _race(
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
