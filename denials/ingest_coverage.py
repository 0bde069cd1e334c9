"""The COVERAGE ingestion kind (issue 14, COB): one member's coverage with one payer per row.

Registered with ingestion in DenialsConfig.ready(). Columns member_id, payer_code, kind,
employer_size, active_employment, effective, termination; a coverage is keyed by (member,
payer, effective): a repeat of a loaded key updates the other values. A row that cannot be
read, or names an unknown member or payer, is refused with the field named; the member id is
PHI and is never echoed.
"""

from __future__ import annotations

import re

from billing.models import Member, Payer
from denials.cob import KINDS
from denials.ingest_charges import _Row
from denials.models import Coverage
from ingestion.models import Kind
from ingestion.registry import ChunkContext, RecordHandler, RecordIn, register_handler

COLUMNS = (
    "member_id",
    "payer_code",
    "kind",
    "employer_size",
    "active_employment",
    "effective",
    "termination",
)
REQUIRED = ("member_id", "payer_code", "kind", "effective")
DEFAULT_KEY = ("member_id", "payer_code", "effective")
EXAMPLE = {
    "member_id": "M000123",
    "payer_code": "NORTHWIND",
    "kind": "COMMERCIAL",
    "employer_size": "250",
    "active_employment": "Y",
    "effective": "2026-01-01",
    "termination": "",
}
_SIZE = re.compile(r"\d{1,8}", re.ASCII)
_YES, _NO = {"Y", "YES", "TRUE", "1"}, {"N", "NO", "FALSE", "0", ""}


def _read(rec: RecordIn) -> tuple[dict | None, list[str]]:
    row = _Row(rec.data)
    kind = row.text("kind", max_length=12).upper()
    if kind and kind not in KINDS:
        row.problems.append(f"kind: expected one of {', '.join(KINDS)}, found '{kind[:20]}'")
    size_text = row.raw("employer_size")
    size = None
    if size_text:
        if _SIZE.fullmatch(size_text):
            size = int(size_text)
        else:
            row.problems.append(
                f"employer_size: expected a whole number of employees, found '{size_text[:20]}'"
            )
    active_text = row.raw("active_employment").upper()
    if active_text not in _YES | _NO:
        row.problems.append(
            f"active_employment: expected Y or N (true/false), found '{active_text[:20]}'"
        )
    effective = row.day("effective")
    termination = row.day("termination") if row.raw("termination") else None
    if effective and termination and termination < effective:
        row.problems.append("termination: the last covered day is before the effective day")
    values = {
        "member_code": row.text("member_id", max_length=64),
        "payer_code": row.text("payer_code", max_length=30).upper(),
        "kind": kind,
        "employer_size": size,
        "active_employment": active_text in _YES,
        "effective": effective,
        "termination": termination,
    }
    return (None if row.problems else values), row.problems


def _apply(ctx: ChunkContext, records: list[RecordIn]) -> tuple[dict[int, str], set[int]]:
    """Upsert each readable row by (member, payer, effective); (errors, rows that changed)."""
    read = [(rec, *_read(rec)) for rec in records]
    codes = {v["member_code"] for _, v, _ in read if v}
    members = dict(
        Member.objects.filter(tenant_id=ctx.tenant_id, external_id__in=codes).values_list(
            "external_id", "pk"
        )
    )
    payers = dict(
        Payer.objects.filter(
            tenant_id=ctx.tenant_id, code__in={v["payer_code"] for _, v, _ in read if v}
        ).values_list("code", "pk")
    )
    errors: dict[int, str] = {}
    changed: set[int] = set()
    for rec, values, problems in read:
        if values is not None:
            if values["member_code"] not in members:
                problems = [*problems, "member_id: no member with this id in the tenant"]
            if values["payer_code"] not in payers:
                problems = [*problems, f"payer_code: no payer '{values['payer_code']}'"]
        if problems:
            errors[rec.row_number] = "; ".join(problems)
            continue
        fields = {
            "kind": values["kind"],
            "employer_size": values["employer_size"],
            "active_employment": values["active_employment"],
            "termination": values["termination"],
        }
        coverage, created = Coverage.objects.get_or_create(
            tenant_id=ctx.tenant_id,
            member_id=members[values["member_code"]],
            payer_id=payers[values["payer_code"]],
            effective=values["effective"],
            defaults={**fields, "batch_id": ctx.batch_id, "created_at": ctx.received_at},
        )
        if created:
            changed.add(rec.row_number)
        elif any(getattr(coverage, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(coverage, k, v)
            coverage.batch_id = ctx.batch_id
            coverage.save()
            changed.add(rec.row_number)
    return errors, changed


def process_coverages(ctx: ChunkContext, records: list[RecordIn]) -> dict[int, str]:
    """Store each readable row's coverage (new keys); refused rows name their field."""
    return _apply(ctx, records)[0]


def revisit_coverages(ctx: ChunkContext, records: list[RecordIn]) -> set[int]:
    """A repeat of a loaded (member, payer, effective) updates the coverage's other values."""
    return _apply(ctx, records)[1]


def register() -> None:
    """Register the COVERAGE kind with ingestion."""
    register_handler(
        RecordHandler(
            kind=Kind.COVERAGE,
            columns=COLUMNS,
            required_columns=REQUIRED,
            default_key_fields=DEFAULT_KEY,
            process=process_coverages,
            revisit=revisit_coverages,
            description="members' coverages for coordination of benefits (upsert by member, "
            "payer and effective day)",
            example=EXAMPLE,
        )
    )
