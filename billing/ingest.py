"""Record handlers for billing facts: eligibility (CSV, JSON, X12 834) and service delivery.

Registered with ingestion in BillingConfig.ready(). Messages name the field and what was
expected; values of PHI fields (member id, names, birth date) are never echoed.
"""

from __future__ import annotations

from datetime import date

from billing.ingest_members import Demographics, members_apply
from billing.models import EligibilityAssertion, Member, Payer, ServiceDeliveryEvent
from core.bulk import insert_rows
from ingestion.models import Kind
from ingestion.registry import ChunkContext, RecordHandler, RecordIn, register_handler
from ingestion.x12 import parse_834

ELIGIBILITY_COLUMNS = (
    "member_id",
    "first_name",
    "last_name",
    "birth_date",
    "payer_code",
    "source_kind",
    "file_date",
    "status",
    "effective_date",
    "termination_date",
    "benefit_code",
    "benefit_suffix",
)
ELIGIBILITY_REQUIRED = tuple(
    c for c in ELIGIBILITY_COLUMNS if c not in ("termination_date", "benefit_suffix")
)
SERVICE_COLUMNS = ("member_id", "payer_code", "service_date", "service_code")
PHI = {"member_id", "first_name", "last_name", "birth_date"}
_SOURCE_KINDS = set(EligibilityAssertion.SourceKind.values)
_STATUSES = set(EligibilityAssertion.Status.values)


class _Row:
    """Validates one record's fields, collecting every problem."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.problems: list[str] = []

    def _found(self, name: str, value: str) -> str:
        if name in PHI:
            return "found an invalid value"
        return f"found '{value[:40]}'" if value else "found nothing"

    def text(self, name: str, *, max_length: int, required: bool = True) -> str:
        value = (self.data.get(name) or "").strip()
        if required and not value:
            self.problems.append(f"{name}: a value is required, found nothing")
        elif len(value) > max_length:
            self.problems.append(f"{name}: at most {max_length} characters, found {len(value)}")
        return value

    def day(self, name: str, *, required: bool = True) -> date | None:
        value = (self.data.get(name) or "").strip()
        if not value:
            if required:
                self.problems.append(f"{name}: expected a date YYYY-MM-DD, found nothing")
            return None
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.problems.append(f"{name}: expected a date YYYY-MM-DD, {self._found(name, value)}")
            return None

    def choice(self, name: str, allowed: set[str]) -> str:
        value = (self.data.get(name) or "").strip().upper()
        if value not in allowed:
            self.problems.append(
                f"{name}: expected one of {', '.join(sorted(allowed))}, {self._found(name, value)}"
            )
        return value


def _row_payer_codes(records: list[RecordIn]) -> set[str]:
    return {(r.data.get("payer_code") or "").strip().upper() for r in records}


def _payers(tenant_id: int, codes: set[str]) -> dict[str, int]:
    """Payer ids by (upper-cased) code, for the codes asked."""
    rows = Payer.objects.filter(tenant_id=tenant_id).values_list("code", "id")
    return {code.upper(): pk for code, pk in rows if code.upper() in codes}


def _existing_members(tenant_id: int, ids: set[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    id_list = list(ids)
    for i in range(0, len(id_list), 5000):
        for row in Member.objects.filter(
            tenant_id=tenant_id, external_id__in=id_list[i : i + 5000]
        ).values("id", "external_id", "first_name", "last_name", "birth_date"):
            found[row["external_id"]] = row
    return found


def _parse_day(value: str) -> date | None:
    """The date a field holds, or None when it is not a date YYYY-MM-DD (as _Row.day)."""
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _column(records: list[RecordIn], name: str) -> list[str]:
    return [(r.data.get(name) or "").strip() for r in records]


def _texts_ok(values: list[str], max_length: int, *, required: bool = True) -> list[bool]:
    return [(bool(v) or not required) and len(v) <= max_length for v in values]


def _days(values: list[str], *, required: bool = True) -> tuple[list, list[bool]]:
    """Each distinct value is parsed once (a file repeats its dates a great deal)."""
    parsed = {v: _parse_day(v) for v in set(values)}
    days = [parsed[v] for v in values]
    ok = [d is not None or (not required and not v) for d, v in zip(days, values, strict=True)]
    return days, ok


def _eligibility_columns(
    records: list[RecordIn], forced_payer: str, payers: dict[str, int]
) -> tuple[list[tuple], list[bool]]:
    """Every field checked column by column: the typed rows, and which rows passed every check.

    A row that fails any check is validated again by `_Row`, which words its problems.
    """
    member_id, first, last = (_column(records, c) for c in ("member_id", "first_name", "last_name"))
    ok = [
        a and b and c
        for a, b, c in zip(
            _texts_ok(member_id, 64), _texts_ok(first, 100), _texts_ok(last, 100), strict=True
        )
    ]
    if forced_payer:
        payer_ids = [payers.get(forced_payer)] * len(records)
    else:
        codes = _column(records, "payer_code")
        payer_ids = [payers.get(c.upper()) if 0 < len(c) <= 30 else None for c in codes]
    source = [v.upper() for v in _column(records, "source_kind")]
    status = [v.upper() for v in _column(records, "status")]
    benefit = _column(records, "benefit_code")
    suffix = _column(records, "benefit_suffix")
    birth, birth_ok = _days(_column(records, "birth_date"))
    file_date, file_ok = _days(_column(records, "file_date"))
    effective, effective_ok = _days(_column(records, "effective_date"))
    termination, termination_ok = _days(_column(records, "termination_date"), required=False)
    rows, passed = [], []
    for i in range(len(records)):
        good = (
            ok[i]
            and payer_ids[i] is not None
            and source[i] in _SOURCE_KINDS
            and status[i] in _STATUSES
            and 0 < len(benefit[i]) <= 20
            and len(suffix[i]) <= 10
            and birth_ok[i]
            and file_ok[i]
            and effective_ok[i]
            and termination_ok[i]
        )
        passed.append(good)
        rows.append(
            (
                member_id[i],
                first[i],
                last[i],
                birth[i],
                payer_ids[i],
                source[i],
                file_date[i],
                status[i],
                effective[i],
                termination[i],
                benefit[i].upper(),
                suffix[i].upper(),
            )
        )
    return rows, passed


def _eligibility_problems(rec: RecordIn, forced_payer: str, payers: dict[str, int]) -> str:
    """Every problem of one row, in field order, worded for the operator (no PHI values)."""
    row = _Row(rec.data)
    row.text("member_id", max_length=64)
    row.text("first_name", max_length=100)
    row.text("last_name", max_length=100)
    row.day("birth_date")
    payer_code = forced_payer or row.text("payer_code", max_length=30).upper()
    row.choice("source_kind", _SOURCE_KINDS)
    row.day("file_date")
    row.choice("status", _STATUSES)
    row.day("effective_date")
    row.day("termination_date", required=False)
    row.text("benefit_code", max_length=20)
    row.text("benefit_suffix", max_length=10, required=False)
    if payer_code and payer_code not in payers:
        row.problems.append(f"payer_code: expected a known payer, found '{payer_code[:30]}'")
    return "; ".join(row.problems)


def process_eligibility(ctx: ChunkContext, records: list[RecordIn]) -> dict[int, str]:
    """Validate eligibility rows, upsert their members and write one assertion per row."""
    forced_payer = (ctx.options.get("payer_code") or "").upper()
    # A payer named by the upload replaces the rows' own codes: that is the one to look up.
    payers = _payers(ctx.tenant_id, {forced_payer} if forced_payer else _row_payer_codes(records))
    errors: dict[int, str] = {}
    valid: list[tuple[int, tuple]] = []
    rows, passed = _eligibility_columns(records, forced_payer, payers)
    for rec, values, good in zip(records, rows, passed, strict=True):
        if good:
            valid.append((rec.row_number, values))
            continue
        problems = _eligibility_problems(rec, forced_payer, payers)
        if problems:
            errors[rec.row_number] = problems
        else:  # pragma: no cover - the column checks and _Row agree; _Row has the last word
            valid.append((rec.row_number, values))
    if not valid:
        return errors
    member_ids, _ = members_apply(
        ctx,
        [Demographics(n, v[0], v[1], v[2], v[3], v[6]) for n, v in valid],
        create=True,
    )
    tenant_id, received_at, artifact_id, batch_id = (
        ctx.tenant_id,
        ctx.received_at,
        ctx.artifact_id,
        ctx.batch_id,
    )
    insert_rows(
        EligibilityAssertion,
        ASSERTION_FIELDS,
        (
            (
                tenant_id,
                v[4],
                member_ids[v[0]],
                v[5],
                v[6],
                received_at,
                v[7],
                v[8],
                v[9],
                v[10],
                v[11],
                artifact_id,
                batch_id,
                row_number,
            )
            for row_number, v in valid
        ),
    )
    return errors


def revisit_eligibility(ctx: ChunkContext, records: list[RecordIn]) -> set[int]:
    """Rows repeating a loaded key: apply a corrected name or birth date from a newer file.

    Returns the rows whose values changed a member (they count as UPDATED). A repeated row
    whose names or dates are not valid changes nothing and stays SKIPPED.
    """
    rows = []
    for rec in records:
        row = _Row(rec.data)
        member_id = row.text("member_id", max_length=64)
        first = row.text("first_name", max_length=100)
        last = row.text("last_name", max_length=100)
        birth = row.day("birth_date")
        file_date = row.day("file_date")
        if not row.problems:
            rows.append(Demographics(rec.row_number, member_id, first, last, birth, file_date))
    if not rows:
        return set()
    _, applied = members_apply(ctx, rows, create=False)
    return applied


ASSERTION_FIELDS = (
    "tenant",
    "payer",
    "member",
    "source_kind",
    "file_date",
    "received_at",
    "status",
    "effective_date",
    "termination_date",
    "benefit_code",
    "benefit_suffix",
    "artifact",
    "batch",
    "row_number",
)


def process_service_delivery(ctx: ChunkContext, records: list[RecordIn]) -> dict[int, str]:
    """Validate service rows and write one event per row; the member must be known."""
    payers = _payers(ctx.tenant_id, _row_payer_codes(records))
    ids = {(r.data.get("member_id") or "").strip() for r in records}
    members = _existing_members(ctx.tenant_id, ids)
    errors: dict[int, str] = {}
    events: list[tuple] = []
    for rec in records:
        row = _Row(rec.data)
        member_id = row.text("member_id", max_length=64)
        payer_code = row.text("payer_code", max_length=30).upper()
        service_date = row.day("service_date")
        code = row.text("service_code", max_length=20).upper()
        if member_id and member_id not in members:
            row.problems.append("member_id: expected a known member (load eligibility first)")
        if payer_code and payer_code not in payers:
            row.problems.append(f"payer_code: expected a known payer, found '{payer_code[:30]}'")
        if row.problems:
            errors[rec.row_number] = "; ".join(row.problems)
            continue
        events.append(
            (
                ctx.tenant_id,
                payers[payer_code],
                members[member_id]["id"],
                service_date,
                code,
                ctx.received_at,
                ctx.artifact_id,
                ctx.batch_id,
                rec.row_number,
            )
        )
    insert_rows(
        ServiceDeliveryEvent,
        (
            "tenant",
            "payer",
            "member",
            "service_date",
            "service_code",
            "received_at",
            "artifact",
            "batch",
            "row_number",
        ),
        events,
    )
    return errors


def _x12_eligibility(raw: bytes, options: dict):
    return parse_834(
        raw, payer_code=options.get("payer_code", ""), source_kind=options.get("source_kind", "")
    )


# A changed name or birth date alone is not a new fact: they are left out of the default key.
ELIGIBILITY_KEY = tuple(
    c for c in ELIGIBILITY_COLUMNS if c not in ("first_name", "last_name", "birth_date")
)


# Example rows for the upload guidance and the template CSVs (made-up people).
ELIGIBILITY_EXAMPLE = {
    "member_id": "M000123",
    "first_name": "Jane",
    "last_name": "Example",
    "birth_date": "1980-04-15",
    "payer_code": "NORTHWIND",
    "source_kind": "FULL_FILE",
    "file_date": "2026-11-30",
    "status": "ACTIVE",
    "effective_date": "2026-01-01",
    "termination_date": "",
    "benefit_code": "MED",
    "benefit_suffix": "D",
}
SERVICE_EXAMPLE = {
    "member_id": "M000123",
    "payer_code": "NORTHWIND",
    "service_date": "2026-11-12",
    "service_code": "99213",
}


def register() -> None:
    """Register billing's record handlers with ingestion."""
    for kind, x12 in ((Kind.ELIGIBILITY, None), (Kind.ENROLLMENT, _x12_eligibility)):
        register_handler(
            RecordHandler(
                kind=kind,
                columns=ELIGIBILITY_COLUMNS,
                required_columns=ELIGIBILITY_REQUIRED,
                default_key_fields=ELIGIBILITY_KEY,
                process=process_eligibility,
                x12=x12,
                description="eligibility assertions (members are upserted by member_id)",
                revisit=revisit_eligibility,
                example=ELIGIBILITY_EXAMPLE,
            )
        )
    register_handler(
        RecordHandler(
            kind=Kind.SERVICE_DELIVERY,
            columns=SERVICE_COLUMNS,
            required_columns=SERVICE_COLUMNS,
            default_key_fields=SERVICE_COLUMNS,
            process=process_service_delivery,
            description="service delivery events (the member must be known)",
            example=SERVICE_EXAMPLE,
        )
    )
