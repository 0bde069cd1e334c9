"""Ingestion batches under the job watchdog (issue 17): a batch a dead worker left PROCESSING
has its pending chunks queued again and completes; one whose workers keep dying is FAILED with
the reason; a batch that is moving is left alone.

Five service records in chunks of two. Tasks run inline (Q_SYNC); a worker that dies holding a
task is simulated by a queue that drops the task.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import ServiceDeliveryEvent
from core import queue
from core.models import AuditEntry
from core.watchdog import watchdog_pass
from ingestion import services
from ingestion.models import Batch, BatchRecord
from tests.ingestion.factories import eligibility_csv, eligibility_row, make_payers, service_row

STALE = 900
SERVICE = "SERVICE_DELIVERY"


@pytest.fixture(autouse=True)
def _setup(settings, world):
    settings.WATCHDOG_STALE_SECONDS = STALE
    settings.WATCHDOG_MAX_REQUEUES = 2
    settings.INGESTION_CHUNK_SIZE = 2
    make_payers(world.tenant, "ACME")


def _later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def _left_processing(world) -> Batch:
    """A batch of five service records: stored, one chunk done, the worker holding the rest gone."""
    actor = world.actor()
    members = [f"M{n}" for n in range(1, 6)]
    eligible = services.batch_ingest_file(
        actor=actor,
        kind="ELIGIBILITY",
        filename="e.csv",
        content=eligibility_csv([eligibility_row(m) for m in members]),
        inline=True,
    )
    assert eligible.status == Batch.Status.COMPLETED
    batch = services.batch_create(
        actor=actor,
        kind=SERVICE,
        records=[
            {"rowNumber": n, "data": service_row(m, service_code="99213")}
            for n, m in enumerate(members, start=1)
        ],
        enqueue=False,
    )
    services.batch_process_chunk(batch_id=batch.pk, first_row=1, last_row=2)
    batch.refresh_from_db()
    assert (batch.status, batch.processed, batch.total) == (Batch.Status.PROCESSING, 2, 5)
    return batch


def test_watchdog_requeues_a_batch_left_processing_and_it_completes(world):
    # given a batch whose worker died after one chunk of three
    batch = _left_processing(world)

    # when the watchdog passes before the bound, then the batch is left alone
    assert watchdog_pass(now=_later(STALE - 60)).requeued == 0
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PROCESSING

    # when it passes after the bound (tasks run inline here)
    done = watchdog_pass(now=_later(STALE + 1))

    # then the two pending chunks were queued again and every record has exactly one outcome
    assert (done.requeued, done.failed) == (1, 0)
    assert done.actions[0]["job"] == "ingestion batch" and done.actions[0]["tasks"] == 2
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert (batch.total, batch.processed, batch.success, batch.error) == (5, 5, 5, 0)
    statuses = BatchRecord.objects.filter(batch=batch).values_list("status", flat=True)
    assert sorted(statuses) == ["SUCCESS"] * 5
    assert ServiceDeliveryEvent.objects.filter(tenant=world.tenant).count() == 5
    assert AuditEntry.objects.filter(action="BATCH_COMPLETED", object_id=str(batch.pk)).count() == 1


def test_watchdog_fails_a_batch_whose_workers_keep_dying_with_the_reason(world, monkeypatch):
    # given a batch left processing, and every worker dying with what it is given
    batch = _left_processing(world)
    lost = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: lost.append((func, args)))

    # when the watchdog passes after the bound, again after the bound, and once more
    passes = [watchdog_pass(now=_later(k * STALE + k)) for k in (1, 2, 3)]

    # then it re-queued the same two chunks twice, then failed the batch with the reason
    assert [(p.requeued, p.failed) for p in passes] == [(1, 0), (1, 0), (0, 1)]
    assert sorted(args for _, args in lost) == sorted([(batch.pk, 3, 4), (batch.pk, 5, 5)] * 2)
    batch.refresh_from_db()
    reason = "no progress for 900 s after 2 re-queue(s) by the watchdog"
    assert batch.status == Batch.Status.FAILED
    assert batch.failure.startswith(reason)
    # the records loaded before stay loaded, the rest stay pending; the failure is audited
    assert (batch.processed, batch.success) == (2, 2)
    assert BatchRecord.objects.filter(batch=batch, status="PENDING").count() == 3
    failed = AuditEntry.objects.get(action="BATCH_FAILED", object_id=str(batch.pk))
    assert failed.reason.startswith(reason)


def test_watchdog_leaves_a_batch_alone_while_its_chunks_finish(world, monkeypatch):
    # given a batch left processing whose next chunk finishes late (a slow worker, not a dead one)
    batch = _left_processing(world)
    Batch.objects.filter(pk=batch.pk).update(progress_at=_later(STALE))
    lost = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: lost.append((func, args)))

    # when the watchdog passes a bound after the start but within a bound of that chunk
    done = watchdog_pass(now=_later(STALE + 60))

    # then nothing is queued or failed
    assert (done.requeued, done.failed, lost) == (0, 0, [])
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PROCESSING
