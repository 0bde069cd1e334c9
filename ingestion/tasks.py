"""django-q2 entry points of ingestion: ids in, one service call, idempotent."""

from ingestion import services


def process_batch_chunk(batch_id: int, first_row: int, last_row: int) -> int:
    """Process one chunk, then complete the batch if nothing is left pending."""
    done = services.batch_process_chunk(batch_id=batch_id, first_row=first_row, last_row=last_row)
    services.batch_finalize(batch_id=batch_id)
    return done
