"""Record handlers of invoicing (issue 12, items 9 and 10): billable charges and membership events.

Registered with ingestion in InvoicingConfig.ready(). A refused row names the field, what was
expected and, for an unknown account or membership, the number or id it did not find.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from core.months import MonthError, parse_date
from ingestion.models import Kind
from ingestion.registry import ChunkContext, RecordHandler, RecordIn, register_handler
from invoicing.models import Account, BillableCharge

CHARGE_COLUMNS = ("external_id", "account_number", "charge_date", "amount", "description")
CHARGE_REQUIRED = ("external_id", "account_number", "charge_date", "amount")
CHARGE_EXAMPLE = {
    "external_id": "CHG-2026-000123",
    "account_number": "A-100",
    "charge_date": "2026-11-12",
    "amount": "125.50",
    "description": "Care management fee, November",
}
# Money as written by people and systems alike: an optional minus, digits, at most 2 decimals.
_AMOUNT = re.compile(r"-?\d{1,12}(\.\d{1,2})?", re.ASCII)


class Row:
    """Validates one record's fields, collecting every problem."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.problems: list[str] = []

    def raw(self, name: str) -> str:
        return (self.data.get(name) or "").strip()

    def text(self, name: str, *, max_length: int, required: bool = True) -> str:
        value = self.raw(name)
        if required and not value:
            self.problems.append(f"{name}: a value is required, found nothing")
        elif len(value) > max_length:
            self.problems.append(f"{name}: at most {max_length} characters, found {len(value)}")
        return value

    def day(self, name: str) -> date | None:
        value = self.raw(name)
        try:
            return parse_date(value)
        except MonthError as exc:
            found = f"found '{value[:40]}'" if value else "found nothing"
            self.problems.append(f"{name}: {exc}, {found}")
            return None

    def amount(self, name: str) -> Decimal | None:
        value = self.raw(name)
        if not _AMOUNT.fullmatch(value):
            found = f"found '{value[:40]}'" if value else "found nothing"
            self.problems.append(
                f"{name}: expected an amount with at most 2 decimals (like 125.50 or -20), {found}"
            )
            return None
        return Decimal(value)

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.raw(name).upper()
        if value not in allowed:
            found = f"found '{value[:40]}'" if value else "found nothing"
            self.problems.append(f"{name}: expected one of {', '.join(allowed)}, {found}")
        return value


def accounts_by_number(tenant_id: int, records: list[RecordIn]) -> dict[str, Account]:
    """The tenant's accounts the records name, by number (one query)."""
    numbers = {(r.data.get("account_number") or "").strip() for r in records} - {""}
    return {a.number: a for a in Account.objects.filter(tenant_id=tenant_id, number__in=numbers)}


def unknown_account(number: str) -> str:
    return f"account_number: no account '{number[:40]}' in this tenant"


def process_charges(ctx: ChunkContext, records: list[RecordIn]) -> dict[int, str]:
    """Validate charge rows and write one unbilled charge per row on its account."""
    accounts = accounts_by_number(ctx.tenant_id, records)
    ids = {(r.data.get("external_id") or "").strip() for r in records} - {""}
    # A key other than external_id lets a file repeat an id: refuse it rather than fail the chunk.
    taken = set(
        BillableCharge.objects.filter(tenant_id=ctx.tenant_id, external_id__in=ids).values_list(
            "external_id", flat=True
        )
    )
    errors: dict[int, str] = {}
    new: list[BillableCharge] = []
    for rec in records:
        row = Row(rec.data)
        external_id = row.text("external_id", max_length=64)
        number = row.text("account_number", max_length=40)
        charge_date = row.day("charge_date")
        amount = row.amount("amount")
        description = row.text("description", max_length=300, required=False)
        if number and number not in accounts:
            row.problems.append(unknown_account(number))
        if external_id in taken:
            row.problems.append(f"external_id: charge '{external_id[:40]}' is already loaded")
        if row.problems:
            errors[rec.row_number] = "; ".join(row.problems)
            continue
        taken.add(external_id)
        new.append(
            BillableCharge(
                tenant_id=ctx.tenant_id,
                account=accounts[number],
                external_id=external_id,
                charge_date=charge_date,
                amount=amount,
                description=description,
                source=BillableCharge.Source.CSV,
            )
        )
    BillableCharge.objects.bulk_create(new, batch_size=2000)
    return errors


def register() -> None:
    """Register invoicing's record handlers with ingestion."""
    from invoicing.services import membership_events

    register_handler(
        RecordHandler(
            kind=Kind.BILLABLE_CHARGES,
            columns=CHARGE_COLUMNS,
            required_columns=CHARGE_REQUIRED,
            default_key_fields=("external_id",),
            process=process_charges,
            description="billable charges on invoicing accounts (the account must be known)",
            example=CHARGE_EXAMPLE,
        )
    )
    register_handler(
        RecordHandler(
            kind=Kind.MEMBERSHIP_EVENTS,
            columns=membership_events.COLUMNS,
            required_columns=membership_events.COLUMNS,
            default_key_fields=membership_events.KEY,
            process=membership_events.process_membership_events,
            description=(
                "membership events (ENROLL, TERMINATE, REINSTATE, CANCEL); individual "
                "memberships get an automatic invoice request"
            ),
            example=membership_events.EXAMPLE,
        )
    )
