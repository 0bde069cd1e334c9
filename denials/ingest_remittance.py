"""The REMITTANCE ingestion kind: claim payments from an X12 835 or the CSV equivalent.

Each record is one claim payment (`denials.remit_rows`: its columns, required ones, default
key). The default key (payer, TRN02 trace, CLP07 payer claim control number) makes a payment
already loaded SKIPPED by ingestion, also within one file; the posting service refuses one that
slips through another key. Rows are typed here, then stored, matched and posted by
`denials.services.posting` in the chunk's transaction. Messages name the field and never echo a
member id.
"""

from __future__ import annotations

from denials.remit_rows import COLUMNS, DEFAULT_KEY, EXAMPLE, REQUIRED, read_row
from denials.x12_835 import read_835_for_ingestion
from ingestion.models import Kind
from ingestion.registry import ChunkContext, RecordHandler, RecordIn, register_handler


def process_remittance(ctx: ChunkContext, records: list[RecordIn]) -> dict[int, str]:
    """Type each record, then store, match and post the readable ones."""
    from denials.services.posting import remittance_rows_load

    errors: dict[int, str] = {}
    rows = []
    for rec in records:
        row, problems = read_row(rec.data)
        if problems:
            errors[rec.row_number] = "; ".join(problems)
        else:
            rows.append((rec.row_number, row))
    if rows:
        errors.update(
            remittance_rows_load(
                tenant_id=ctx.tenant_id,
                rows=rows,
                batch_id=ctx.batch_id,
                artifact_id=ctx.artifact_id,
                received_at=ctx.received_at,
                payer_code=ctx.options.get("payer_code", ""),
            )
        )
    return errors


# The example row of the upload guidance and template CSV: every column, those an 835 alone
# fills left empty (the payer is the one billing's examples name).
HANDLER_EXAMPLE = {
    **dict.fromkeys(COLUMNS, ""),
    **EXAMPLE,
    "payer_code": "NORTHWIND",
    "trace_originator": "1999999999",
    "payment_method": "ACH",
    "remarks": "N130",
    "warnings": "[]",  # an empty list, as the 835 reader writes when all was well
}

# An X12 835 upload is read by denials/x12_835.py into these same records.
X12_READER = read_835_for_ingestion


def register() -> None:
    """Register the REMITTANCE handler with ingestion."""
    register_handler(
        RecordHandler(
            kind=Kind.REMITTANCE,
            columns=COLUMNS,
            required_columns=REQUIRED,
            default_key_fields=DEFAULT_KEY,
            process=process_remittance,
            x12=X12_READER,
            description=(
                "claim payments (X12 835 or CSV): stored, matched to open claims and posted"
            ),
            example=HANDLER_EXAMPLE,
        )
    )
