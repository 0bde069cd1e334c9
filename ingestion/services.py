"""Ingestion use-cases: upload, create a batch, process it in chunks, retry, correct records."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core import queue
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.bulk import insert_rows
from core.exceptions import Conflict, DomainError, NotFound
from core.transitions import state_reload, transition_apply
from ingestion.chunks import RECORD_FIELDS, SHAPE_PROBLEM, batch_process_chunk, chunk_store
from ingestion.chunks import groups as _groups
from ingestion.chunks import handler_for as _handler
from ingestion.keys import field_name, key_fields, record_key, record_keys
from ingestion.models import Artifact, Batch, BatchRecord
from ingestion.parsers import FileRejected, ParsedRow, parse_csv
from ingestion.registry import RecordHandler

log = logging.getLogger("healthbill.ingestion")


class UploadTooLarge(DomainError):
    """The upload exceeds INGESTION_MAX_UPLOAD_BYTES."""

    code = "too_large"
    http_status = 413


def upload_size_check(size: int) -> None:
    """Refuse an upload above INGESTION_MAX_UPLOAD_BYTES (screens call it before reading it)."""
    limit = settings.INGESTION_MAX_UPLOAD_BYTES
    if size > limit:
        raise UploadTooLarge(
            f"file: {size:,} bytes is more than the {limit:,} bytes allowed per upload.",
            details={"size": size, "limit": limit},
        )


# --- artifacts --------------------------------------------------------------------------------


def artifact_upload(*, actor: Actor, kind: str, filename: str, content: bytes) -> Artifact:
    """Store an uploaded file as received (size-limited), with its sha256."""
    actor.require(S.INGESTION_UPDATE)
    kind = (kind or "").upper()
    _handler(kind)
    upload_size_check(len(content))
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        artifact = Artifact(
            tenant=actor.tenant,
            kind=kind,
            filename=(filename or "upload")[:255],
            sha256=digest,
            size=len(content),
            uploaded_by=actor.user,
        )
        artifact.file.save(f"{digest[:16]}-{artifact.filename}", ContentFile(content), save=False)
        artifact.save()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="ARTIFACT_UPLOADED",
            obj=artifact,
            payload={
                "kind": kind,
                "filename": artifact.filename,
                "sha256": digest,
                "size": len(content),
            },
        )
    log.info(
        "artifact uploaded", extra={"artifact": artifact.pk, "kind": kind, "bytes": len(content)}
    )
    return artifact


def _parse_artifact(artifact: Artifact, handler: RecordHandler, options: dict):
    with artifact.file.open("rb") as fh:
        raw = fh.read()
    if raw.lstrip()[:3] == b"ISA":
        if handler.x12 is None:
            raise FileRejected(f"X12 files are not accepted for {handler.kind}; send a CSV file")
        # the reader may look up the upload's tenant (an 835's payer); a user cannot set it
        options = {**options, "_tenant_id": artifact.tenant_id}
        return Batch.Format.X12, handler.x12(raw, options)
    return Batch.Format.CSV, parse_csv(raw, required=handler.required_columns)


def _json_rows(records) -> list[ParsedRow]:
    if not isinstance(records, list) or not records:
        raise DomainError("records: expected a non-empty list of {rowNumber, data} objects.")
    rows, seen = [], set()
    for i, rec in enumerate(records):
        number = rec.get("rowNumber", rec.get("row_number")) if isinstance(rec, dict) else None
        data = rec.get("data") if isinstance(rec, dict) else None
        if not isinstance(number, int) or number < 1 or not isinstance(data, dict):
            raise DomainError(
                f"records[{i}]: expected {{rowNumber: a positive integer, data: an object}}.",
                details={"index": i},
            )
        if number in seen:
            raise DomainError(f"records[{i}]: rowNumber {number} appears twice.")
        seen.add(number)
        clean = {field_name(k): "" if v is None else str(v).strip() for k, v in data.items()}
        rows.append(ParsedRow(number, clean))
    return rows


# --- batches ----------------------------------------------------------------------------------


def batch_create(
    *,
    actor: Actor,
    artifact_id: int | None = None,
    kind: str | None = None,
    records: list | None = None,
    idempotency_key_fields: list[str] | None = None,
    options: dict | None = None,
    enqueue: bool = True,
    inline: bool = False,
) -> Batch:
    """Create a batch from an artifact's file or from JSON records, and queue its processing.

    `inline` processes the records here while storing them, each written once with its final
    status, and returns the finished batch (the command's --sync, benches): one transaction, so
    a crash leaves nothing half-loaded. Otherwise they are stored PENDING for queued chunks.

    A file that cannot be read at all gives a FAILED batch naming what is wrong; nothing else
    is written. The batch, its records and audit entries commit together; an unexpected error
    while storing leaves only a FAILED batch saying so, never a PENDING one with no records.
    """
    actor.require(S.INGESTION_UPDATE)
    artifact = None
    if artifact_id is not None:
        artifact = Artifact.objects.filter(pk=artifact_id, tenant=actor.tenant).first()
        if artifact is None:
            raise NotFound(f"Artifact {artifact_id} does not exist.")
    kind = (artifact.kind if artifact else (kind or "")).upper()
    if not kind:
        raise DomainError("kind: give the kind of the records (or an artifactId).")
    handler = _handler(kind)
    if artifact is None and records is None:
        raise DomainError("Give an artifactId, records, or both.")
    try:
        fields = key_fields(idempotency_key_fields, handler.columns, handler.default_key_fields)
    except ValueError as exc:
        raise DomainError(f"idempotencyKeyFields: {exc}.") from None
    options = {k: v for k, v in (options or {}).items() if v not in (None, "")}
    rows = _json_rows(records) if records is not None else None  # refuse bad JSON before writing
    fmt = Batch.Format.JSON if records is not None else Batch.Format.CSV
    new = {"artifact": artifact, "kind": kind, "fields": fields, "options": options}
    if rows is None:
        try:
            fmt, rows = _parse_artifact(artifact, handler, options)
        except FileRejected as exc:
            return _batch_failed(actor=actor, fmt=fmt, message=exc.message, **new)
    # All or nothing: the batch, its records and its audit entries commit together, so a failure
    # while storing never leaves a PENDING batch with nothing to do.
    try:
        with transaction.atomic():
            batch = _batch_new(actor=actor, fmt=fmt, **new)
            _store_records(batch, rows, fields, handler=handler if inline else None)
            batch = transition_apply(
                actor=actor,
                model=Batch,
                pk=batch.pk,
                name="start",
                scope=S.INGESTION_UPDATE,
                action="BATCH_STARTED",
            )
            if enqueue and not inline:
                transaction.on_commit(lambda: batch_enqueue(batch_id=batch.pk))
    except DomainError:
        raise
    except Exception as exc:
        _batch_failed_quietly(actor=actor, fmt=fmt, error=exc, **new)
        raise
    if batch.all_processed():
        batch = batch_finalize(batch_id=batch.pk)
    return batch


def _batch_new(
    *, actor: Actor, artifact: Artifact | None, kind: str, fmt: str, fields: list, options: dict
) -> Batch:
    """A PENDING batch and its BATCH_CREATED entry (inside the caller's transaction)."""
    batch = Batch.objects.create(
        tenant=actor.tenant,
        artifact=artifact,
        kind=kind,
        format=fmt,
        idempotency_key_fields=fields,
        options=options,
        received_at=artifact.received_at if artifact else timezone.now(),
        created_by=actor.user,
    )
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="BATCH_CREATED",
        obj=batch,
        payload={"kind": kind, "artifact": artifact.pk if artifact else None, "key_fields": fields},
    )
    return batch


def _batch_failed(*, actor: Actor, message: str, **new) -> Batch:
    """A batch that records an attempt that loaded nothing: created and FAILED at once."""
    with transaction.atomic():
        batch = _batch_new(actor=actor, **new)
        return transition_apply(
            actor=actor,
            model=Batch,
            pk=batch.pk,
            name="fail",
            scope=S.INGESTION_UPDATE,
            action="BATCH_FAILED",
            kwargs={"message": message},
        )


def batch_stuck_fail(*, batch_id: int, reason: str) -> Batch:
    """Fail a processing batch that cannot finish (the watchdog's last try), with the reason
    (audited as BATCH_FAILED); records already loaded stay, pending ones stay PENDING."""
    batch = Batch.objects.select_related("tenant").get(pk=batch_id)
    with transaction.atomic():
        return transition_apply(
            actor=Actor.system_for(batch.tenant),
            model=Batch,
            pk=batch_id,
            name="fail",
            scope=S.INGESTION_UPDATE,
            action="BATCH_FAILED",
            reason=reason,
            kwargs={"message": reason},
        )


def _batch_failed_quietly(*, actor: Actor, error: Exception, **new) -> None:
    """After an unexpected error while storing (rolled back): keep a FAILED batch saying so.

    The reason names the error's type only: database messages can quote the records (PHI).
    """
    message = (
        f"The records could not be stored ({type(error).__name__}); nothing was loaded. "
        "Send the batch again; if it fails again, contact support."
    )
    try:
        _batch_failed(actor=actor, message=message, **new)
    except Exception:  # the database may be gone; the original error is what matters
        log.warning("batch_failed_record_not_written kind=%s", new.get("kind"))


def _store_records(
    batch: Batch, rows: list[ParsedRow], fields: list[str], *, handler: RecordHandler | None
) -> None:
    """Write the records: shape problems are errors at once, repeats of a key are skipped.

    With a `handler` the other records are loaded here too, chunk by chunk, and each record is
    written once with its final status; without one they are stored PENDING for the chunks.
    """
    Status = BatchRecord.Status
    first_row: dict[str, int] = {}
    settled, todo = [], []
    keys = record_keys((row.data for row in rows), fields)
    for row, key in zip(rows, keys, strict=True):
        if row.problem:
            # The shape problem stays with the record until someone corrects it, so a retry
            # cannot load a row whose values may have slid into the wrong columns.
            data = {**row.data, SHAPE_PROBLEM: row.problem}
            settled.append(
                (row.row_number, data, Status.ERROR, f"row {row.row_number}: {row.problem}", key)
            )
        elif key in first_row:
            detail = f"row {row.row_number}: same key as row {first_row[key]} of this batch"
            settled.append((row.row_number, row.data, Status.SKIPPED, detail, key))
        else:
            first_row[key] = row.row_number
            todo.append((row.row_number, row.data, key))
    errors = sum(1 for r in settled if r[2] == Status.ERROR)
    counts = {"error": errors, "skipped": len(settled) - errors}
    stored = [
        (batch.tenant_id, batch.pk, batch.kind, row, data, status, detail, key, 0)
        for row, data, status, detail, key in settled
    ]
    if handler is None:
        stored += [
            (batch.tenant_id, batch.pk, batch.kind, row, data, Status.PENDING, "", key, 0)
            for row, data, key in todo
        ]
    insert_rows(BatchRecord, RECORD_FIELDS, stored)
    big = len(rows) >= settings.INGESTION_ANALYZE_ROWS
    if big and handler is None:
        records_analyze()
    processed = len(settled)
    if handler is not None:
        for n, group in enumerate(_groups(todo, settings.INGESTION_CHUNK_SIZE)):
            decided = chunk_store(batch, handler, group)
            if big and n == 0:
                records_analyze()  # the later chunks probe a table that now holds this tenant
            processed += len(group)
            counts["success"] = counts.get("success", 0) + decided.success
            counts["updated"] = counts.get("updated", 0) + decided.updated
            counts["error"] += decided.error
            counts["skipped"] += decided.skipped
    Batch.objects.filter(pk=batch.pk).update(total=len(rows), processed=processed, **counts)
    state_reload(batch)


def records_analyze() -> None:
    """Refresh PostgreSQL's statistics of the records table after a big batch was written.

    Each chunk asks which of its keys the tenant already loaded, one probe per key. With
    statistics from before the batch, a tenant that had few records looks tiny, the planner
    probes by tenant alone and filters every record of the tenant for each key: a 100,000-row
    835 file took minutes per chunk, and longer the more was loaded. Autovacuum does not help
    in time (it waits for a tenth of a big table to change, and may be off). ANALYZE samples
    a fixed number of rows (well under a second on millions), and it sees the rows this
    transaction wrote. Only the columns queries filter or sort on: the statistics of the JSON
    data and the error text cost 40 % of it and no plan reads them (autovacuum's own ANALYZE
    still covers every column); the table's row count is refreshed all the same."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE ingestion_batchrecord "
                "(id, tenant_id, batch_id, kind, row_number, status, idempotency_key, attempts)"
            )


def batch_chunks(*, batch_id: int, size: int | None = None) -> list[tuple[int, int]]:
    """Row ranges of the pending records, `size` records each."""
    size = size or settings.INGESTION_CHUNK_SIZE
    rows = list(
        BatchRecord.objects.filter(batch_id=batch_id, status=BatchRecord.Status.PENDING)
        .order_by("row_number")
        .values_list("row_number", flat=True)
    )
    return [(g[0], g[-1]) for g in _groups(rows, size)]


def batch_enqueue(*, batch_id: int) -> int:
    """Queue one django-q2 task per chunk; returns how many."""
    chunks = batch_chunks(batch_id=batch_id)
    for first, last in chunks:
        queue.enqueue(
            "ingestion.tasks.process_batch_chunk", batch_id, first, last, group=f"batch-{batch_id}"
        )
    if not chunks:
        batch_finalize(batch_id=batch_id)
    return len(chunks)


def batch_run_inline(*, batch_id: int) -> Batch:
    """Process every pending chunk in this process (the command's --sync, tests)."""
    for first, last in batch_chunks(batch_id=batch_id):
        batch_process_chunk(batch_id=batch_id, first_row=first, last_row=last)
    return batch_finalize(batch_id=batch_id)


def batch_finalize(*, batch_id: int) -> Batch:
    """Complete the batch once no record is pending (idempotent; any chunk may call it)."""
    with transaction.atomic():
        batch = (
            Batch.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=batch_id)
        )
        if batch.status != Batch.Status.PROCESSING or not batch.all_processed():
            return batch
        return transition_apply(
            actor=Actor.system_for(batch.tenant),
            model=Batch,
            pk=batch_id,
            name="finish",
            scope=S.INGESTION_UPDATE,
            action="BATCH_COMPLETED",
            payload={
                "total": batch.total,
                "success": batch.success,
                "error": batch.error,
                "skipped": batch.skipped,
                "updated": batch.updated,
            },
        )


def _get_batch(actor: Actor, batch_id: int) -> Batch:
    batch = Batch.objects.filter(pk=batch_id, tenant=actor.tenant).first()
    if batch is None:
        raise NotFound(f"Batch {batch_id} does not exist.")
    return batch


def batch_retry(*, actor: Actor, batch_id: int, enqueue: bool = True) -> Batch:
    """Send the ERROR records back to processing (as corrected, or as they are)."""
    actor.require(S.INGESTION_UPDATE)
    batch = _get_batch(actor, batch_id)
    if batch.status == Batch.Status.PROCESSING:
        raise Conflict(f"Batch {batch_id} is still processing; retry when it has finished.")
    with transaction.atomic():
        # The transition (which locks the batch) checks the error counter: apply it first.
        batch = transition_apply(
            actor=actor,
            model=Batch,
            pk=batch_id,
            name="retry",
            scope=S.INGESTION_UPDATE,
            action="BATCH_RETRIED",
            payload={"records": batch.error},
        )
        errored = BatchRecord.objects.filter(batch_id=batch_id, status=BatchRecord.Status.ERROR)
        n = errored.update(status=BatchRecord.Status.PENDING)
        if n:
            Batch.objects.filter(pk=batch_id).update(
                processed=F("processed") - n, error=F("error") - n, progress_at=timezone.now()
            )
        state_reload(batch)
        if enqueue:
            transaction.on_commit(lambda: batch_enqueue(batch_id=batch_id))
    return batch


def batch_record_correct(
    *, actor: Actor, batch_id: int, row_number: int, data: dict
) -> BatchRecord:
    """Correct the data of an ERROR record; it is reprocessed by the next retry."""
    actor.require(S.INGESTION_UPDATE)
    batch = _get_batch(actor, batch_id)
    handler = _handler(batch.kind)
    if not isinstance(data, dict) or not data:
        raise DomainError("data: expected an object of column: value pairs.")
    clean = {field_name(k): "" if v is None else str(v).strip() for k, v in data.items()}
    unknown = sorted(set(clean) - set(handler.columns))
    if unknown:
        raise DomainError(
            f"data: unknown column(s) {', '.join(unknown)}; expected some of "
            f"{', '.join(handler.columns)}.",
            details={"unknown": unknown},
        )
    with transaction.atomic():
        record = (
            BatchRecord.objects.select_for_update()
            .filter(batch_id=batch.pk, row_number=row_number)
            .first()
        )
        if record is None:
            raise NotFound(f"Batch {batch_id} has no row {row_number}.")
        if record.status != BatchRecord.Status.ERROR:
            raise Conflict(
                f"Row {row_number} is {record.status}; only records in ERROR can be corrected."
            )
        changed = sorted(k for k, v in clean.items() if record.data.get(k) != v)
        record.data = {k: v for k, v in {**record.data, **clean}.items() if k != SHAPE_PROBLEM}
        record.idempotency_key = record_key(record.data, batch.idempotency_key_fields)
        record.error_detail = (
            f"row {row_number}: corrected ({', '.join(changed) or 'no change'}); retry to load it"
        )
        record.save(update_fields=["data", "idempotency_key", "error_detail"])
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="BATCH_RECORD_CORRECTED",
            obj=batch,
            payload={"row": row_number, "fields": changed},
        )
    return record


def batch_ingest_file(
    *,
    actor: Actor,
    kind: str,
    filename: str,
    content: bytes,
    idempotency_key_fields: list[str] | None = None,
    options: dict | None = None,
    enqueue: bool = True,
    inline: bool = False,
) -> Batch:
    """Upload a file and create its batch in one step (the screen and the command use it)."""
    artifact = artifact_upload(actor=actor, kind=kind, filename=filename, content=content)
    return batch_create(
        actor=actor,
        artifact_id=artifact.pk,
        idempotency_key_fields=idempotency_key_fields,
        options=options,
        enqueue=enqueue,
        inline=inline,
    )
