"""BILLABLE_CHARGES uploads (issue 12, item 9): one unbilled charge per row on a known account;
a bad row is an ERROR naming its field, the other rows load."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from core import scopes as S
from ingestion import services
from ingestion.models import Batch, BatchRecord
from invoicing.models import BillableCharge
from tests.invoicing.builders import account

KIND = "BILLABLE_CHARGES"
HEADER = ("external_id", "account_number", "charge_date", "amount", "description")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def a100(world):
    return account(world.tenant, "A-100")


def charges_csv(*rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def ingest(actor, content: bytes, **kwargs) -> Batch:
    batch = services.batch_ingest_file(
        actor=actor, kind=KIND, filename="charges.csv", content=content, enqueue=False, **kwargs
    )
    assert batch.status == Batch.Status.PROCESSING, batch.failure
    return services.batch_run_inline(batch_id=batch.pk)


def records(batch) -> dict[int, tuple[str, str]]:
    return {
        r.row_number: (r.status, r.error_detail)
        for r in BatchRecord.objects.filter(batch=batch).order_by("row_number")
    }


def test_charges_file_loads_rows_and_refuses_an_unknown_account(owner, a100):
    # when a file with two good rows and one for an account nobody has is loaded
    batch = ingest(
        owner,
        charges_csv(
            ("C-1", "A-100", "2026-03-02", "125.50", "Care management, March"),
            ("C-2", "A-999", "2026-03-02", "10.00", "Unknown account"),
            ("C-3", "A-100", "2026-03-05", "-20", "Credit"),
        ),
    )

    # then the good rows are unbilled CSV charges on A-100
    rows = BillableCharge.objects.order_by("external_id").values_list(
        "external_id", "account__number", "charge_date", "amount", "description", "source", "bill"
    )
    assert list(rows) == [
        (
            "C-1",
            "A-100",
            date(2026, 3, 2),
            Decimal("125.50"),
            "Care management, March",
            "CSV",
            None,
        ),
        ("C-3", "A-100", date(2026, 3, 5), Decimal("-20.00"), "Credit", "CSV", None),
    ]
    # and the unknown account's row is an ERROR naming the number
    assert records(batch)[3] == (
        "ERROR",
        "row 3: account_number: no account 'A-999' in this tenant",
    )
    assert records(batch)[2][0] == records(batch)[4][0] == "SUCCESS"
    batch.refresh_from_db()
    assert (batch.success, batch.error) == (2, 1)


def test_amount_and_date_are_strict(owner, a100):
    batch = ingest(
        owner,
        charges_csv(
            ("C-1", "A-100", "2026-03-02", "12.345", ""),
            ("C-2", "A-100", "2026-02-30", "1,000.00", ""),
            ("C-3", "A-100", "03/02/2026", "", ""),
            ("C-4", "A-100", "2026-03-02", "7", ""),
        ),
    )
    found = records(batch)
    assert found[2] == (
        "ERROR",
        "row 2: amount: expected an amount with at most 2 decimals (like 125.50 or -20), "
        "found '12.345'",
    )
    assert found[3][0] == "ERROR"
    assert "charge_date: expected YYYY-MM-DD" in found[3][1]
    assert "found '2026-02-30'" in found[3][1]
    assert "amount: expected an amount with at most 2 decimals" in found[3][1]
    assert "found '1,000.00'" in found[3][1]
    assert "charge_date: expected YYYY-MM-DD" in found[4][1]
    assert (
        "amount: expected an amount with at most 2 decimals (like 125.50 or -20), found nothing"
        in (found[4][1])
    )
    assert found[5][0] == "SUCCESS"
    assert list(BillableCharge.objects.values_list("external_id", "amount")) == [
        ("C-4", Decimal("7.00"))
    ]


def test_same_external_id_again_is_skipped_not_doubled(owner, a100):
    # given a loaded charge
    ingest(owner, charges_csv(("C-1", "A-100", "2026-03-02", "125.50", "")))

    # when the same file comes again
    again = ingest(owner, charges_csv(("C-1", "A-100", "2026-03-02", "125.50", "")))

    # then its row is SKIPPED and the account has one charge
    assert records(again)[2][0] == "SKIPPED"
    assert BillableCharge.objects.count() == 1


def test_a_reused_external_id_under_another_key_is_an_error(owner, a100):
    # given a loaded charge, and a file keyed on every column whose row reuses its id
    ingest(owner, charges_csv(("C-1", "A-100", "2026-03-02", "125.50", "")))
    again = ingest(
        owner,
        charges_csv(("C-1", "A-100", "2026-03-09", "99.00", "")),
        idempotency_key_fields=list(HEADER),
    )
    assert records(again)[2] == ("ERROR", "row 2: external_id: charge 'C-1' is already loaded")
    assert list(BillableCharge.objects.values_list("amount", flat=True)) == [Decimal("125.50")]


def test_other_tenants_account_is_unknown(world, owner):
    account(world.other_tenant, "A-100")
    batch = ingest(owner, charges_csv(("C-1", "A-100", "2026-03-02", "1.00", "")))
    assert records(batch)[2] == (
        "ERROR",
        "row 2: account_number: no account 'A-100' in this tenant",
    )
    assert BillableCharge.objects.count() == 0


def test_upload_template_has_the_kinds_columns(world):
    response = world.client(S.Role.OWNER).get(
        reverse("ingestion:kind-template", args=["billable_charges"])
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == list(HEADER)
    assert rows[1][:4] == ["CHG-2026-000123", "A-100", "2026-11-12", "125.50"]
