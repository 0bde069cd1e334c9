"""Processing one chunk of a batch: load new keys, skip or revisit loaded ones; one transaction.

Two workers may process records with the same key at the same moment (two deliveries of one
file). The partial unique index on loaded keys lets only one of them commit it; the other's
transaction fails as a whole and is run again, when the key is seen as loaded and SKIPPED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from core.bulk import insert_rows, pg_execute, update_rows
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


def _again(fn, batch_id: int, first_row: int, last_row: int):
    """Run `fn()` (one chunk's work in its own transaction or savepoint) until it does not lose
    a key race; each run settles at least one key."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn()
        except DatabaseError as exc:  # IntegrityError (unique key) or a deadlock
            if attempt == ATTEMPTS or not _lost_key_race(exc):
                raise
            log.info(
                "batch chunk lost a key race; running it again",
                extra={"batch": batch_id, "rows": f"{first_row}-{last_row}", "attempt": attempt},
            )
    return None  # pragma: no cover - the loop returns or raises


def batch_process_chunk(*, batch_id: int, first_row: int, last_row: int) -> int:
    """Process the pending records of one row range in one transaction; safe to run again."""
    return _again(lambda: _process(batch_id, first_row, last_row), batch_id, first_row, last_row)


# A record's columns in the order `chunk_store` (and the batch's store) write them.
RECORD_FIELDS = (
    "tenant",
    "batch",
    "kind",
    "row_number",
    "data",
    "status",
    "error_detail",
    "idempotency_key",
    "attempts",
)


def chunk_store(batch: Batch, handler: RecordHandler, recs: list[tuple[int, dict, str]]) -> Decided:
    """Load records (row, data, key) not stored yet and store each once, with its final status.

    One savepoint per chunk inside the caller's transaction: a chunk that loses a key race to
    another batch is undone alone and run again, when the key is seen as loaded and SKIPPED.
    """

    def run() -> Decided:
        # COPY runs on the driver's cursor: its errors are turned into Django's (IntegrityError
        # for a key another batch committed first) so that the race is recognised.
        with transaction.atomic(), connection.wrap_database_errors:
            decided = chunk_decide(batch, handler, recs)
            insert_rows(
                BatchRecord,
                RECORD_FIELDS,
                (
                    (batch.tenant_id, batch.pk, batch.kind, row, data, status, detail, key, bump)
                    for (row, data, key), (status, detail, bump) in zip(
                        recs, decided.outcomes, strict=True
                    )
                ),
            )
        return decided

    first, last = recs[0][0], recs[-1][0]
    decided = _again(run, batch.pk, first, last)
    chunk_log(batch.pk, first, last, decided)
    return decided


# One probe of the loaded-key index per key. With `idempotency_key = ANY(...)` PostgreSQL
# scanned every loaded key of the tenant and tested each against the whole list: a chunk took
# longer the more the tenant had loaded (0.4 s per 5,000 keys at 100,000 loaded). The LIMIT
# keeps the subquery from being flattened into that plan; the index is unique anyway.
_LOADED_PG = """
SELECT k.key, r.batch_id FROM unnest(%b::text[]) AS k(key)
 CROSS JOIN LATERAL (
       SELECT batch_id FROM ingestion_batchrecord
        WHERE tenant_id = %b AND kind = %b AND status = 'SUCCESS' AND idempotency_key = k.key
        LIMIT 1) AS r
"""
_PENDING_PG = """
SELECT id, row_number, data::text, idempotency_key, attempts FROM ingestion_batchrecord
 WHERE batch_id = %s AND status = 'PENDING' AND row_number BETWEEN %s AND %s
 ORDER BY row_number FOR UPDATE SKIP LOCKED
"""


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _loaded_keys(batch: Batch, keys: list[str]) -> dict[str, int]:
    """Keys already loaded (SUCCESS) for the tenant and kind, with the batch that loaded them."""
    if _pg():  # one array parameter: no IN list of thousands of placeholders to build
        return dict(pg_execute(_LOADED_PG, [keys, batch.tenant_id, batch.kind]))
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
    """The chunk's pending records (id, row, data, key, attempts), row-locked; locked ones are
    skipped."""
    if _pg():
        with connection.cursor() as cursor:
            cursor.execute(_PENDING_PG, [batch_id, first_row, last_row])
            return [(i, row, orjson.loads(data), key, n) for i, row, data, key, n in cursor]
    pending = BatchRecord.objects.filter(
        batch_id=batch_id,
        status=BatchRecord.Status.PENDING,
        row_number__gte=first_row,
        row_number__lte=last_row,
    ).order_by("row_number")
    if connection.features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True)
    return list(pending.values_list("id", "row_number", "data", "idempotency_key", "attempts"))


@dataclass
class Decided:
    """What became of a chunk's records: (status, detail, attempts added) in the given order."""

    outcomes: list[tuple[str, str, int]]
    success: int = 0
    updated: int = 0
    error: int = 0
    skipped: int = 0


def chunk_decide(
    batch: Batch, handler: RecordHandler, recs: list[tuple[int, dict, str]]
) -> Decided:
    """Load a chunk's records (row, data, key) through the handler; skip or revisit loaded keys.

    Runs inside the caller's transaction; the caller writes each record's outcome once, with an
    UPDATE of stored pending records or with the records' own COPY when they are stored.
    """
    Status = BatchRecord.Status
    loaded = _loaded_keys(batch, list({key for _, _, key in recs}))
    errors = {
        row: f"{data[SHAPE_PROBLEM]} (correct the record, then retry)"
        for row, data, key in recs
        if key not in loaded and SHAPE_PROBLEM in data
    }
    todo = [
        RecordIn(row, data)
        for row, data, key in recs
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
    repeats = [RecordIn(row, data) for row, data, key in recs if key in loaded]
    if repeats and handler.revisit is not None:
        revisited = handler.revisit(ctx, repeats)
    out = Decided(outcomes=[])
    add = out.outcomes.append
    for row, _, key in recs:
        if key in loaded:
            if row in revisited:
                out.updated += 1
                add((Status.UPDATED, "key already loaded; newer values applied", 1))
            else:
                out.skipped += 1
                add((Status.SKIPPED, f"already loaded by batch {loaded[key]}", 1))
        elif row in errors:
            out.error += 1
            add((Status.ERROR, f"row {row}: {errors[row]}", 0))
        else:
            out.success += 1
            add((Status.SUCCESS, "", 1))
    return out


def chunk_log(batch_id: int, first_row: int, last_row: int, decided: Decided) -> None:
    """One structured line per chunk (counts only: no record data)."""
    log.info(
        "batch chunk processed",
        extra={
            "batch": batch_id,
            "rows": f"{first_row}-{last_row}",
            "success": decided.success,
            "updated": decided.updated,
            "error": decided.error,
            "skipped": decided.skipped,
        },
    )


def _process(batch_id: int, first_row: int, last_row: int) -> int:
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status != Batch.Status.PROCESSING:
        return 0
    handler = handler_for(batch.kind)
    with transaction.atomic():
        recs = _pending(batch_id, first_row, last_row)
        if not recs:
            return 0
        decided = chunk_decide(batch, handler, [(row, data, key) for _, row, data, key, _ in recs])
        # Records stored pending (a queued batch, a retry) get their outcome in one UPDATE.
        update_rows(
            BatchRecord,
            [
                BatchRecord(id=rec[0], status=status, error_detail=detail, attempts=rec[4] + bump)
                for rec, (status, detail, bump) in zip(recs, decided.outcomes, strict=True)
            ],
            ["status", "error_detail", "attempts"],
        )
        Batch.objects.filter(pk=batch_id).update(
            processed=F("processed") + len(recs),
            success=F("success") + decided.success,
            updated=F("updated") + decided.updated,
            error=F("error") + decided.error,
            skipped=F("skipped") + decided.skipped,
            progress_at=timezone.now(),
        )
    chunk_log(batch_id, first_row, last_row, decided)
    return len(recs)
