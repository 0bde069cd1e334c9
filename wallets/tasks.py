"""django-q2 entry points of prepaid runs: ids in, one service call each, idempotent."""

from core import queue
from wallets.services import chunks, finalize, runs


def prepaid_run_start(run_id: int) -> int:
    """Start a draft run (or a scheduled successor) and queue its chunks."""
    chunk_ids = runs.prepaid_run_start(run_id=run_id)
    for chunk_id in chunk_ids:
        queue.enqueue("wallets.tasks.prepaid_run_chunk", chunk_id)
    if not chunk_ids:
        finalize.prepaid_run_finalize(run_id=run_id)
    return len(chunk_ids)


def prepaid_run_chunk(chunk_id: int) -> int:
    """Rate and debit one chunk (once), then complete the run if it was the last."""
    try:
        done = chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    except Exception as exc:
        failed = finalize.prepaid_run_chunk_failed(chunk_id=chunk_id, error=type(exc).__name__)
        if failed is None and finalize.prepaid_chunk_retryable(chunk_id=chunk_id):
            # the queue acknowledges failed tasks (ack_failures): the retry is queued here, or
            # the run would wait in IDENTIFICATION_AND_RATING for a chunk nobody runs again
            queue.enqueue("wallets.tasks.prepaid_run_chunk", chunk_id)
        raise
    from wallets.models import PrepaidRunChunk

    run_id = PrepaidRunChunk.objects.filter(pk=chunk_id).values_list("run_id", flat=True).first()
    if run_id:
        finalize.prepaid_run_finalize(run_id=run_id)
    return done
