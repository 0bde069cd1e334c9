"""Two deliveries of one file processed at the same moment load each key once (PostgreSQL).

Issue 10, defect 9 ("Ingestion keys race"): each chunk checks the loaded keys at its start, so
two workers could both find a key unloaded and both load it. A partial unique index on loaded
keys now lets one commit; the other's chunk runs again and its records are SKIPPED.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading

import pytest
from django.apps import apps
from django.db import connection

from billing.models import Payer, ServiceDeliveryEvent
from core.actors import Actor
from ingestion import registry, services
from ingestion.models import Batch, BatchRecord
from tests.concurrency import race
from tests.ingestion.factories import service_csv, service_row
from tests.ingestion.test_batches import assert_ties_out

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _both_in_the_chunk_at_once(monkeypatch) -> None:
    """The first run of each worker's chunk waits, after writing its facts and before marking
    its records loaded, until the other worker is at the same point: both have found the keys
    unloaded. Runs again (after losing the race) do not wait."""
    barrier = threading.Barrier(2)
    local = threading.local()
    handler = registry.get_handler("SERVICE_DELIVERY")

    def process(ctx, records):
        errors = handler.process(ctx, records)
        if not getattr(local, "waited", False):
            local.waited = True
            barrier.wait(timeout=30)
        return errors

    monkeypatch.setitem(
        registry._HANDLERS, "SERVICE_DELIVERY", dataclasses.replace(handler, process=process)
    )


def test_two_batches_of_one_file_at_the_same_moment_load_each_key_once(facts, monkeypatch):
    # given one service file of three rows delivered twice: two batches, records stored
    system = Actor.system_for(facts.tenant)
    content = service_csv([service_row(f"M00{n}", service_date=f"2025-01-1{n}") for n in (1, 2, 3)])
    batches = [
        services.batch_ingest_file(
            actor=system,
            kind="SERVICE_DELIVERY",
            filename=f"d{i}.csv",
            content=content,
            enqueue=False,
        )
        for i in (1, 2)
    ]
    assert Payer.objects.filter(tenant=facts.tenant, code="ACME").exists()
    _both_in_the_chunk_at_once(monkeypatch)

    # when two workers process them at the same moment
    results = race(2, lambda i: services.batch_run_inline(batch_id=batches[i].pk), join_timeout=90)

    # then both batches completed
    assert all(isinstance(r, Batch) for r in results), results
    assert {r.status for r in results} == {Batch.Status.COMPLETED}
    # and each key was loaded exactly once: one batch loaded it, the other skipped it
    loaded = BatchRecord.objects.filter(tenant=facts.tenant, status="SUCCESS")
    keys = list(loaded.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 3
    assert ServiceDeliveryEvent.objects.filter(tenant=facts.tenant).count() == 3
    counts = sorted((b.success, b.skipped) for b in Batch.objects.filter(tenant=facts.tenant))
    assert counts == [(0, 3), (3, 0)]
    winner = loaded.first().batch_id
    skipped = BatchRecord.objects.filter(tenant=facts.tenant, status="SKIPPED")
    assert set(skipped.values_list("error_detail", flat=True)) == {
        f"already loaded by batch {winner}"
    }
    # and the counters tie out for both
    for batch in Batch.objects.filter(tenant=facts.tenant):
        assert_ties_out(batch)


@pytest.mark.django_db  # one transaction, rolled back: the dropped index comes back
def test_migration_skips_keys_loaded_twice_before_the_index_existed(facts):
    # given the same file loaded by two batches while no unique index guarded the keys
    system = Actor.system_for(facts.tenant)
    content = service_csv([service_row(f"M00{n}", service_date=f"2025-01-1{n}") for n in (1, 2)])
    first, second = (
        services.batch_run_inline(
            batch_id=services.batch_ingest_file(
                actor=system,
                kind="SERVICE_DELIVERY",
                filename="d.csv",
                content=content,
                enqueue=False,
            ).pk
        )
        for _ in range(2)
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX uniq_record_loaded_key")
    BatchRecord.objects.filter(batch=second).update(status="SUCCESS", error_detail="")
    Batch.objects.filter(pk=second.pk).update(success=2, skipped=0)

    # when the migration that adds the index runs its clean-up
    migration = importlib.import_module(
        "ingestion.migrations.0002_loaded_key_unique_updated_counter"
    )
    migration.skip_duplicate_loads(apps, None)

    # then the later loads are SKIPPED, naming the first batch, and the counters tie out
    assert set(BatchRecord.objects.filter(batch=second).values_list("status", "error_detail")) == {
        ("SKIPPED", f"already loaded by batch {first.pk}")
    }
    for batch, expected in ((first, (2, 0)), (second, (0, 2))):
        batch.refresh_from_db()
        assert (batch.success, batch.skipped) == expected
        assert_ties_out(batch)


def test_inline_load_racing_a_queued_chunk_loads_each_key_once(facts, monkeypatch):
    # given one service file stored as a queued batch (PENDING records) and delivered again
    system = Actor.system_for(facts.tenant)
    content = service_csv([service_row(f"M00{n}", service_date=f"2025-01-1{n}") for n in (1, 2, 3)])
    queued = services.batch_ingest_file(
        actor=system, kind="SERVICE_DELIVERY", filename="d1.csv", content=content, enqueue=False
    )
    _both_in_the_chunk_at_once(monkeypatch)

    # when its chunk runs at the same moment as an inline load of the same file (records stored
    # with their final status): both find the keys unloaded
    def work(i: int):
        if i == 0:
            return services.batch_run_inline(batch_id=queued.pk)
        return services.batch_ingest_file(
            actor=system, kind="SERVICE_DELIVERY", filename="d2.csv", content=content, inline=True
        )

    results = race(2, work, join_timeout=90)

    # then both batches completed and each key was loaded exactly once
    assert all(isinstance(r, Batch) for r in results), results
    assert {r.status for r in results} == {Batch.Status.COMPLETED}
    loaded = BatchRecord.objects.filter(tenant=facts.tenant, status="SUCCESS")
    keys = list(loaded.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 3
    assert ServiceDeliveryEvent.objects.filter(tenant=facts.tenant).count() == 3
    counts = sorted((b.success, b.skipped) for b in Batch.objects.filter(tenant=facts.tenant))
    assert counts == [(0, 3), (3, 0)]
    for batch in Batch.objects.filter(tenant=facts.tenant):
        assert_ties_out(batch)
