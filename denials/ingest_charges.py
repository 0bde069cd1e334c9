"""The CHARGES ingestion kind (issue 13, item 1): one billable service line per row.

Registered with ingestion in DenialsConfig.ready(). A row that cannot be read (no charge id, a
date or amount that is not one) is refused with the field named; a readable row is stored as a
PENDING charge and validated at once (unknown member or payer, future service date, amount <= 0,
malformed procedure code make it INVALID with every error listed). The member id is PHI: it is
never echoed in a message.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from core.actors import Actor
from core.bulk import insert_rows
from core.models import Tenant
from core.months import MonthError, parse_date
from denials.models import Charge
from ingestion.models import Kind
from ingestion.registry import ChunkContext, RecordHandler, RecordIn, register_handler

COLUMNS = (
    "charge_id",
    "claim_number",
    "member_id",
    "payer_code",
    "service_date",
    "code",
    "modifier",
    "units",
    "amount",
    "authorization",
)
REQUIRED = ("charge_id", "member_id", "payer_code", "service_date", "code", "amount")
DEFAULT_KEY = ("charge_id",)
EXAMPLE = {
    "charge_id": "CHG-000123",
    "claim_number": "PCN-2026-0042",
    "member_id": "M000123",
    "payer_code": "NORTHWIND",
    "service_date": "2026-11-12",
    "code": "99213",
    "modifier": "25",
    "units": "1",
    "amount": "125.00",
    "authorization": "AUTH-7781",
}
_AMOUNT = re.compile(r"-?\d{1,12}(\.\d{1,2})?", re.ASCII)
_UNITS = re.compile(r"-?\d{1,6}(\.\d{1,3})?", re.ASCII)
_FIELDS = (
    "tenant",
    "charge_id",
    "claim_number",
    "member_code",
    "payer_code",
    "service_date",
    "code",
    "modifier",
    "units",
    "amount",
    "authorization",
    "status",
    "errors",
    "batch_id",
    "created_at",
)


class _Row:
    """Reads one record's fields, collecting every problem."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.problems: list[str] = []

    def raw(self, name: str) -> str:
        return str(self.data.get(name) or "").strip()

    def text(self, name: str, *, max_length: int, required: bool = True) -> str:
        value = self.raw(name)
        if required and not value:
            self.problems.append(f"{name}: a value is required, found nothing")
        elif len(value) > max_length:
            self.problems.append(f"{name}: at most {max_length} characters, found {len(value)}")
        return value

    def day(self, name: str):
        value = self.raw(name)
        try:
            return parse_date(value)
        except MonthError as exc:
            found = f"found '{value[:40]}'" if value else "found nothing"
            self.problems.append(f"{name}: {exc}, {found}")
            return None

    def number(self, name: str, pattern: re.Pattern, expected: str, default: str = ""):
        value = self.raw(name) or default
        if not pattern.fullmatch(value):
            found = f"found '{value[:40]}'" if value else "found nothing"
            self.problems.append(f"{name}: expected {expected}, {found}")
            return None
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            self.problems.append(f"{name}: expected {expected}")
            return None


def _read(rec: RecordIn) -> tuple[dict | None, list[str]]:
    row = _Row(rec.data)
    values = {
        "charge_id": row.text("charge_id", max_length=64),
        "claim_number": row.text("claim_number", max_length=38, required=False),
        "member_code": row.text("member_id", max_length=64),
        "payer_code": row.text("payer_code", max_length=30).upper(),
        "service_date": row.day("service_date"),
        "code": row.text("code", max_length=48).upper(),
        "modifier": row.text("modifier", max_length=20, required=False).upper(),
        "units": row.number("units", _UNITS, "a number of units like 1 or 2.5", default="1"),
        "amount": row.number("amount", _AMOUNT, "an amount like 125.00"),
        "authorization": row.text("authorization", max_length=50, required=False),
    }
    return (None if row.problems else values), row.problems


def process_charges(ctx: ChunkContext, records: list[RecordIn]) -> dict[int, str]:
    """Store each readable row as a PENDING charge, then validate the stored ones."""
    errors: dict[int, str] = {}
    ids = {str(r.data.get("charge_id") or "").strip() for r in records}
    loaded = set(
        Charge.objects.filter(tenant_id=ctx.tenant_id, charge_id__in=ids).values_list(
            "charge_id", flat=True
        )
    )
    seen: set[str] = set()
    rows: list[tuple] = []
    for rec in records:
        values, problems = _read(rec)
        if values is not None:
            cid = values["charge_id"]
            if cid in loaded or cid in seen:
                problems = [f"charge_id: '{cid[:64]}' was already loaded (charge ids are unique)"]
                values = None
            else:
                seen.add(cid)
        if values is None:
            errors[rec.row_number] = "; ".join(problems)
            continue
        rows.append(
            (
                ctx.tenant_id,
                values["charge_id"],
                values["claim_number"],
                values["member_code"],
                values["payer_code"],
                values["service_date"],
                values["code"],
                values["modifier"],
                values["units"],
                values["amount"],
                values["authorization"],
                Charge.Status.PENDING,
                [],
                ctx.batch_id,
                ctx.received_at,
            )
        )
    if rows:
        insert_rows(Charge, _FIELDS, rows)
        from denials.services.charges import charges_validate

        tenant = Tenant.objects.get(pk=ctx.tenant_id)
        charges_validate(actor=Actor.system_for(tenant), tenant=tenant, charge_ids=sorted(seen))
    return errors


def register() -> None:
    """Register the CHARGES kind with ingestion."""
    register_handler(
        RecordHandler(
            kind=Kind.CHARGES,
            columns=COLUMNS,
            required_columns=REQUIRED,
            default_key_fields=DEFAULT_KEY,
            process=process_charges,
            description="charges to claim (validated on load; claim_number is optional)",
            example=EXAMPLE,
        )
    )
