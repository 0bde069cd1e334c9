"""An ingestion batch survives workers SIGKILLed at random points (issue 17): a fresh cluster
finishes it, every record ends with exactly one outcome, nothing is loaded twice, the counters
tie out and the tenant's audit chain verifies."""

from __future__ import annotations

import random

import pytest

from billing.models import EligibilityAssertion, Member
from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry
from ingestion import services
from ingestion.models import Batch, BatchRecord
from tests.crash.conftest import kill_and_restart
from tests.ingestion.factories import eligibility_csv, eligibility_row, make_payers

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

ROWS = 2000  # 40 chunks of 50 (INGESTION_CHUNK_SIZE in the clusters fixture)
FINISHED = {Batch.Status.COMPLETED, Batch.Status.COMPLETED_WITH_ERRORS, Batch.Status.FAILED}


def _batch(pk: int) -> Batch:
    return Batch.objects.get(pk=pk)


@pytest.mark.parametrize("seed", [1, 2])
def test_ingestion_batch_survives_a_killed_cluster(world, clusters, seed):
    rng = random.Random(seed)
    owner = world.actor(S.Role.OWNER)
    make_payers(world.tenant, "ACME")
    content = eligibility_csv([eligibility_row(f"E{n:05d}") for n in range(ROWS)])

    # given a batch of an eligibility file queued for a running cluster
    batch = services.batch_ingest_file(
        actor=owner, kind="ELIGIBILITY", filename="eligibility.csv", content=content
    )
    assert batch.total == ROWS
    first = clusters()

    # when the cluster is SIGKILLed after a seeded number of records (plus a seeded moment)
    # and a fresh cluster is started
    kill_after = rng.randint(0, 30) * 50
    at_kill, finished = kill_and_restart(
        clusters,
        first,
        rng=rng,
        seed=seed,
        job=lambda: _batch(batch.pk),
        reached=lambda b: b.processed >= kill_after,
        finished=lambda b: b.status in FINISHED,
        jitter=0.2,
        what=f"batch reaching record {kill_after}",
        show=lambda b: f"{b.status} {b.processed}/{b.total}",
    )
    assert at_kill.status == Batch.Status.PROCESSING

    # then every record has exactly one outcome (all loaded) and nothing was loaded twice
    assert finished.status == Batch.Status.COMPLETED, finished.failure
    records = BatchRecord.objects.filter(batch=batch)
    assert records.count() == ROWS
    assert set(records.values_list("status", flat=True)) == {BatchRecord.Status.SUCCESS}
    assert EligibilityAssertion.objects.filter(batch=batch).count() == ROWS
    assert Member.objects.filter(tenant=world.tenant).count() == ROWS
    # and the counters tie out
    assert (finished.total, finished.processed, finished.success) == (ROWS, ROWS, ROWS)
    assert (finished.error, finished.skipped, finished.updated) == (0, 0, 0)
    # and the audit chain verifies, with the batch completed once
    report = verify_chain(world.tenant)
    assert report.ok, report.problem
    completed = AuditEntry.objects.filter(action="BATCH_COMPLETED", object_id=str(batch.pk))
    assert completed.count() == 1
