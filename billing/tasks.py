"""django-q2 entry points of billing: ids in, one service call each, idempotent."""

from django.conf import settings

from billing.services import chunks, finalize, runs
from core import queue


def run_start(run_id: int) -> int:
    """Start a queued run and queue its chunks."""
    chunk_ids = runs.billing_run_start(run_id=run_id)
    for chunk_id in chunk_ids:
        queue.enqueue("billing.tasks.run_chunk", chunk_id)
    if not chunk_ids:
        finalize.billing_run_finalize(run_id=run_id)
    return len(chunk_ids)


def run_chunk(chunk_id: int) -> int:
    """Evaluate one chunk (once), then complete the run if it was the last."""
    try:
        done = chunks.billing_run_process_chunk(chunk_id=chunk_id)
    except Exception as exc:
        chunks.billing_run_chunk_failed(chunk_id=chunk_id, error=f"{type(exc).__name__}")
        raise
    from billing.models import RunChunk

    run_id = RunChunk.objects.filter(pk=chunk_id).values_list("run_id", flat=True).first()
    if run_id:
        finalize.billing_run_finalize(run_id=run_id)
    return done


def write_decision_page_marks(run_id: int) -> int:
    """Store where each page of a completed run's decision lists starts (once; idempotent)."""
    from billing.models import BillingRun
    from billing.pages import decision_page_marks_write

    run = BillingRun.objects.filter(pk=run_id).first()
    return decision_page_marks_write(run) if run is not None else 0


def build_audit_package(run_id: int) -> str:
    """Build a run's audit package (a PDF and the decisions CSV, zipped)."""
    from billing.services.package import audit_package_build

    package = audit_package_build(run_id=run_id)
    return package.status if package else "none"


def purge_simulations() -> int:
    """Simulation results are kept for viewing for a week."""
    return runs.simulations_purge(older_than_days=getattr(settings, "SIMULATION_KEEP_DAYS", 7))
