"""Processing one chunk of a batch: load new keys, skip or revisit loaded ones; one transaction.

Two workers may process records with the same key at the same moment (two deliveries of one
file). The partial unique index on loaded keys lets only one of them commit it; the other's
transaction fails as a whole and is run again, when the key is seen as loaded and SKIPPED.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import orjson
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


# One probe of the loaded-key index per key. With `idempotency_key = ANY(...)` PostgreSQL
# scanned every loaded key of the tenant and tested each against the whole list: a chunk took
# longer the more the tenant had loaded (0.4 s per 5,000 keys at 100,000 loaded). The LIMIT
# keeps the subquery from being flattened into that plan; the index is unique anyway.
_LOADED_PG = """
SELECT k.key, r.batch_id FROM unnest(%s::text[]) AS k(key)
 CROSS JOIN LATERAL (
       SELECT batch_id FROM ingestion_batchrecord
        WHERE tenant_id = %s AND kind = %s AND status = 'SUCCESS' AND idempotency_key = k.key
        LIMIT 1) AS r
"""
_PENDING_PG = """
SELECT id, row_number, data::text, idempotency_key FROM ingestion_batchrecord
 WHERE batch_id = %s AND status = 'PENDING' AND row_number BETWEEN %s AND %s
 ORDER BY row_number FOR UPDATE SKIP LOCKED
"""
# Every record of a chunk gets its final status, detail and attempts in one statement.
_OUTCOMES_PG = """
UPDATE ingestion_batchrecord AS r
   SET status = u.status, error_detail = u.detail, attempts = r.attempts + u.bump
  FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[]) AS u(id, status, detail, bump)
 WHERE r.id = u.id
"""


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _loaded_keys(batch: Batch, keys: list[str]) -> dict[str, int]:
    """Keys already loaded (SUCCESS) for the tenant and kind, with the batch that loaded them."""
    if _pg():  # one array parameter: no IN list of thousands of placeholders to build
        with connection.cursor() as cursor:
            cursor.execute(_LOADED_PG, [keys, batch.tenant_id, batch.kind])
            return dict(cursor.fetchall())
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


def _pending(batch_id: int, first_row: int, last_row: int) -> list[tuple]:
    """The chunk's pending records (id, row, data, key), row-locked; locked ones are skipped."""
    if _pg():
        with connection.cursor() as cursor:
            cursor.execute(_PENDING_PG, [batch_id, first_row, last_row])
            return [(i, row, orjson.loads(data), key) for i, row, data, key in cursor.fetchall()]
    pending = BatchRecord.objects.filter(
        batch_id=batch_id,
        status=BatchRecord.Status.PENDING,
        row_number__gte=first_row,
        row_number__lte=last_row,
    ).order_by("row_number")
    if connection.features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True)
    return list(pending.values_list("id", "row_number", "data", "idempotency_key"))


def _write_outcomes(outcomes: list[tuple[int, str, str, int]]) -> None:
    """Final (id, status, detail, attempts added) of each record: one pass over the chunk."""
    if not outcomes:
        return
    if _pg():
        ids, statuses, details, bumps = (list(c) for c in zip(*outcomes, strict=True))
        with connection.cursor() as cursor:
            cursor.execute(_OUTCOMES_PG, [ids, statuses, details, bumps])
        return
    by_outcome: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for rid, status, detail, bump in outcomes:
        by_outcome[(status, detail if status != BatchRecord.Status.ERROR else "", bump)].append(rid)
    failed = [
        BatchRecord(id=rid, status=status, error_detail=detail)
        for rid, status, detail, _ in outcomes
        if status == BatchRecord.Status.ERROR
    ]
    for (status, detail, bump), ids in by_outcome.items():
        if status == BatchRecord.Status.ERROR:
            continue
        for group in groups(ids):
            BatchRecord.objects.filter(id__in=group).update(
                status=status, error_detail=detail, attempts=F("attempts") + bump
            )
    BatchRecord.objects.bulk_update(failed, ["status", "error_detail"], batch_size=500)


def _process(batch_id: int, first_row: int, last_row: int) -> int:
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status != Batch.Status.PROCESSING:
        return 0
    handler = handler_for(batch.kind)
    Status = BatchRecord.Status
    with transaction.atomic():
        recs = _pending(batch_id, first_row, last_row)
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
        outcomes: list[tuple[int, str, str, int]] = []
        n_ok = n_updated = n_skipped = n_failed = 0
        for rid, row, _, key in recs:
            if key in loaded:
                if row in revisited:
                    n_updated += 1
                    outcomes.append(
                        (rid, Status.UPDATED, "key already loaded; newer values applied", 1)
                    )
                else:
                    n_skipped += 1
                    outcomes.append(
                        (rid, Status.SKIPPED, f"already loaded by batch {loaded[key]}", 1)
                    )
            elif row in errors:
                n_failed += 1
                outcomes.append((rid, Status.ERROR, f"row {row}: {errors[row]}", 0))
            else:
                n_ok += 1
                outcomes.append((rid, Status.SUCCESS, "", 1))
        _write_outcomes(outcomes)
        Batch.objects.filter(pk=batch_id).update(
            processed=F("processed") + len(recs),
            success=F("success") + n_ok,
            updated=F("updated") + n_updated,
            error=F("error") + n_failed,
            skipped=F("skipped") + n_skipped,
        )
    log.info(
        "batch chunk processed",
        extra={
            "batch": batch_id,
            "rows": f"{first_row}-{last_row}",
            "success": n_ok,
            "updated": n_updated,
            "error": n_failed,
            "skipped": n_skipped,
        },
    )
    return len(recs)
