"""Ingestion's event types (issue 19): a batch completed or failed.

Written by the audit entries of the batch's transitions (`BATCH_COMPLETED`, `BATCH_FAILED`).
Payloads carry the batch's id, kind, state and record counters; never a record, and not the
failure text (it can quote a file's content).
"""

from __future__ import annotations

from core.event_types import object_link, user_of
from core.events import EventContext, EventType, event_types_register

BATCH = "ingestion.Batch"


def _batch(ctx: EventContext):
    from ingestion.models import Batch

    if isinstance(ctx.obj, Batch):
        return ctx.obj
    return Batch.objects.get(pk=ctx.object_id)


def batch_payload(ctx: EventContext) -> dict:
    """The batch's kind, format, state and counters."""
    b = _batch(ctx)
    return {
        "batch": b.pk,
        "kind": b.kind,
        "format": b.format,
        "status": b.status,
        "artifact": b.artifact_id,
        "total": b.total,
        "success": b.success,
        "error": b.error,
        "skipped": b.skipped,
        "updated": b.updated,
    }


def failed_title(event) -> str:
    p = event.payload
    return f"Ingestion batch #{p.get('batch')} ({p.get('kind', '').lower()}) failed"


TYPES = [
    EventType(
        name="ingestion.batch.completed",
        description="A batch finished: every record processed (status COMPLETED, or "
        "COMPLETED_WITH_ERRORS when some records were refused).",
        object_type=BATCH,
        actions=("BATCH_COMPLETED",),
        payload=batch_payload,
        sample={
            "batch": 17,
            "kind": "ELIGIBILITY",
            "format": "CSV",
            "status": "COMPLETED_WITH_ERRORS",
            "artifact": 9,
            "total": 5000,
            "success": 4990,
            "error": 10,
            "skipped": 0,
            "updated": 120,
        },
    ),
    EventType(
        name="ingestion.batch.failed",
        description="A batch loaded nothing: the file was refused (empty, wrong encoding, "
        "missing columns) or its records could not be stored.",
        object_type=BATCH,
        actions=("BATCH_FAILED",),
        payload=batch_payload,
        recipients=user_of(
            "ingestion.Batch", "created_by", "The user who created (uploaded) the batch."
        ),
        title=failed_title,
        link=object_link("ingestion:batch"),
        sample={
            "batch": 18,
            "kind": "ELIGIBILITY",
            "format": "CSV",
            "status": "FAILED",
            "artifact": 10,
            "total": 0,
            "success": 0,
            "error": 0,
            "skipped": 0,
            "updated": 0,
        },
    ),
]


def register() -> None:
    """Add ingestion's types to the event catalogue."""
    event_types_register("ingestion", TYPES)
