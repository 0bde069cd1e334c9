"""Processing one chunk of a batch: load new keys, skip or revisit loaded ones; one transaction.

Two workers may process records with the same key at the same moment (two deliveries of one
file). The partial unique index on loaded keys lets only one of them commit it; the other's
transaction fails as a whole and is run again, when the key is seen as loaded and SKIPPED.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F

from core.exceptions import DomainError
from ingestion.models import LOADED_KEY_CONSTRAINT, Batch, BatchRecord
from ingestion.registry import ChunkContext, RecordHandler, RecordIn, get_handler, handlers

log = logging.getLogger("healthbill.ingestion")
SHAPE_PROBLEM = "_problem"  # kept in a record's data while its shape is wrong
IN_GROUP = 5000  # values per IN (...) clause, well below SQLite's 32,766 variables
ATTEMPTS = 5  # a chunk that lost a key race is run again; each run settles at least one key
_DEADLOCK = "40P01"


def handler_for(kind: str) -> RecordHandler:
    """The registered handler of a kind, or a DomainError naming the kinds that can be loaded."""
    handler = get_handler(kind)
    if handler is None:
        kinds = ", ".join(h.kind for h in handlers())
        raise DomainError(f"kind: '{kind}' cannot be loaded; expected one of {kinds}.")
    return handler


def groups(items: list, size: int = IN_GROUP):
    """`items` in slices of `size`."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _lost_key_race(exc: DatabaseError) -> bool:
    """Another transaction committed one of our keys first (or the two waited on each other)."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    if isinstance(exc, IntegrityError):
        name = getattr(diag, "constraint_name", None) or ""
        return name == LOADED_KEY_CONSTRAINT or LOADED_KEY_CONSTRAINT in str(exc)
    return getattr(cause, "sqlstate", None) == _DEADLOCK


def batch_process_chunk(*, batch_id: int, first_row: int, last_row: int) -> int:
    """Process the pending records of one row range in one transaction; safe to run again."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _process(batch_id, first_row, last_row)
        except DatabaseError as exc:  # IntegrityError (unique key) or a deadlock
            if attempt == ATTEMPTS or not _lost_key_race(exc):
                raise
            log.info(
                "batch chunk lost a key race; running it again",
                extra={"batch": batch_id, "rows": f"{first_row}-{last_row}", "attempt": attempt},
            )
    return 0  # pragma: no cover - the loop returns or raises


def _loaded_keys(batch: Batch, keys: list[str]) -> dict[str, int]:
    loaded: dict[str, int] = {}
    for group in groups(keys):
        loaded.update(
            BatchRecord.objects.filter(
                tenant_id=batch.tenant_id,
                kind=batch.kind,
                status=BatchRecord.Status.SUCCESS,
                idempotency_key__in=group,
            ).values_list("idempotency_key", "batch_id")
        )
    return loaded


def _process(batch_id: int, first_row: int, last_row: int) -> int:
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status != Batch.Status.PROCESSING:
        return 0
    handler = handler_for(batch.kind)
    Status = BatchRecord.Status
    with transaction.atomic():
        pending = BatchRecord.objects.filter(
            batch_id=batch_id,
            status=Status.PENDING,
            row_number__gte=first_row,
            row_number__lte=last_row,
        ).order_by("row_number")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        recs = list(pending.values_list("id", "row_number", "data", "idempotency_key"))
        if not recs:
            return 0
        loaded = _loaded_keys(batch, list({r[3] for r in recs}))
        errors = {
            row: f"{data[SHAPE_PROBLEM]} (correct the record, then retry)"
            for _, row, data, key in recs
            if key not in loaded and SHAPE_PROBLEM in data
        }
        todo = [
            RecordIn(row, data)
            for _, row, data, key in recs
            if key not in loaded and SHAPE_PROBLEM not in data
        ]
        ctx = ChunkContext(
            tenant_id=batch.tenant_id,
            batch_id=batch.pk,
            artifact_id=batch.artifact_id,
            received_at=batch.received_at,
            options=batch.options,
        )
        if todo:
            errors.update(handler.process(ctx, todo))
        revisited: set[int] = set()
        repeats = [RecordIn(row, data) for _, row, data, key in recs if key in loaded]
        if repeats and handler.revisit is not None:
            revisited = handler.revisit(ctx, repeats)
        ok_ids, updated, skipped, failed = [], [], defaultdict(list), []
        for rid, row, _, key in recs:
            if key in loaded:
                (updated if row in revisited else skipped[loaded[key]]).append(rid)
            elif row in errors:
                failed.append(
                    BatchRecord(
                        id=rid, status=Status.ERROR, error_detail=f"row {row}: {errors[row]}"
                    )
                )
            else:
                ok_ids.append(rid)
        for group in groups(ok_ids):
            BatchRecord.objects.filter(id__in=group).update(
                status=Status.SUCCESS, error_detail="", attempts=F("attempts") + 1
            )
        for group in groups(updated):
            BatchRecord.objects.filter(id__in=group).update(
                status=Status.UPDATED,
                error_detail="key already loaded; newer values applied",
                attempts=F("attempts") + 1,
            )
        for source_batch, ids in skipped.items():
            for group in groups(ids):
                BatchRecord.objects.filter(id__in=group).update(
                    status=Status.SKIPPED,
                    error_detail=f"already loaded by batch {source_batch}",
                    attempts=F("attempts") + 1,
                )
        BatchRecord.objects.bulk_update(failed, ["status", "error_detail"], batch_size=500)
        n_skipped = sum(len(v) for v in skipped.values())
        Batch.objects.filter(pk=batch_id).update(
            processed=F("processed") + len(recs),
            success=F("success") + len(ok_ids),
            updated=F("updated") + len(updated),
            error=F("error") + len(failed),
            skipped=F("skipped") + n_skipped,
        )
    log.info(
        "batch chunk processed",
        extra={
            "batch": batch_id,
            "rows": f"{first_row}-{last_row}",
            "success": len(ok_ids),
            "updated": len(updated),
            "error": len(failed),
            "skipped": n_skipped,
        },
    )
    return len(recs)
