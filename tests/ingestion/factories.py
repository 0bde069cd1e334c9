"""Builders for ingestion tests: CSV files of eligibility and service rows, payers."""

from __future__ import annotations

import csv
import io

import factory

from billing.models import Payer

ELIGIBILITY_HEADER = (
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
SERVICE_HEADER = ("member_id", "payer_code", "service_date", "service_code")


def eligibility_row(member_id: str = "M001", **overrides: str) -> dict[str, str]:
    """One valid eligibility row for payer ACME; override any column."""
    row = {
        "member_id": member_id,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "birth_date": "1980-02-29",
        "payer_code": "ACME",
        "source_kind": "FULL_FILE",
        "file_date": "2025-01-31",
        "status": "ACTIVE",
        "effective_date": "2025-01-01",
        "termination_date": "",
        "benefit_code": "MED",
        "benefit_suffix": "",
    }
    row.update(overrides)
    return row


def service_row(member_id: str = "M001", **overrides: str) -> dict[str, str]:
    """One valid service-delivery row for payer ACME; override any column."""
    row = {
        "member_id": member_id,
        "payer_code": "ACME",
        "service_date": "2025-01-15",
        "service_code": "99213",
    }
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict[str, str]], header=ELIGIBILITY_HEADER, *, bom: bool = False) -> bytes:
    """A CSV file (UTF-8, header first, \\n line ends) of the rows' values for `header`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def eligibility_csv(rows: list[dict[str, str]], **kwargs) -> bytes:
    """An eligibility CSV file."""
    return csv_bytes(rows, ELIGIBILITY_HEADER, **kwargs)


def service_csv(rows: list[dict[str, str]], **kwargs) -> bytes:
    """A service-delivery CSV file."""
    return csv_bytes(rows, SERVICE_HEADER, **kwargs)


class PayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payer
        django_get_or_create = ("tenant", "code")

    code = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.LazyAttribute(lambda p: f"{p.code} Insurance")


def make_payers(tenant, *codes: str) -> dict[str, Payer]:
    """Payers of the tenant by code (created if missing)."""
    return {code: PayerFactory(tenant=tenant, code=code) for code in codes}
