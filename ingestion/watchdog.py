"""Ingestion batches under the job watchdog (core.watchdog): a batch a dead worker left
PROCESSING has its pending chunks queued again, and is failed through its state machine after
the watchdog's last try."""

from __future__ import annotations

from datetime import datetime

from core.watchdog import Stale, register_watchdog
from ingestion.models import Batch
from ingestion.services import batch_chunks, batch_enqueue, batch_stuck_fail

CHUNK_TASK = "ingestion.tasks.process_batch_chunk"


def stale_batches(cutoff: datetime) -> list[Stale]:
    """Processing batches whose last sign of progress (start, a chunk done, a retry) is older
    than the cutoff, with the chunk tasks that would finish each."""
    batches = Batch.objects.filter(status=Batch.Status.PROCESSING).order_by("pk")
    found = []
    for batch in batches:
        moments = (batch.created_at, batch.started_at, batch.progress_at)
        progress = max(t for t in moments if t)
        if progress >= cutoff:
            continue
        tasks = tuple(
            (CHUNK_TASK, (batch.pk, first, last)) for first, last in batch_chunks(batch_id=batch.pk)
        )
        found.append(Stale(batch.pk, batch.tenant_id, progress, tasks))
    return found


def batch_requeue(pk: int) -> int:
    """Queue the pending chunks again (a record already processed is not touched twice); a
    batch with nothing pending is completed."""
    return batch_enqueue(batch_id=pk)


def batch_fail(pk: int, reason: str) -> Batch:
    """Fail a stuck batch with the watchdog's reason (audited); records already loaded stay, and
    the pending ones stay PENDING for a new file."""
    return batch_stuck_fail(batch_id=pk, reason=reason)


def register() -> None:
    register_watchdog(
        "ingestion.batch",
        "ingestion batch",
        candidates=stale_batches,
        requeue=batch_requeue,
        fail=batch_fail,
    )
