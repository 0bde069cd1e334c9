"""CSV formula injection (issue 11, defect 5): names and codes a partner file or a user typed
may start with `=`, `+`, `-` or `@`; stored as-is, they are written to every CSV export as text
(a leading `'`), so a spreadsheet never runs them, while amounts stay plain numbers."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import pytest

from billing.models import AuditPackage, BillingRun, Member, Payer
from core import scopes as S
from tests.billing.run_builders import assertion, late_assertion, month, payer, run_month

AUG, SEP = month(2026, 8), month(2026, 9)
PAYER_CODE = "-2+3"
EVIL_ID = '=HYPERLINK("http://x","y")'
EVIL_FIRST = "+cmd|' /C calc'!A0"
EVIL_LAST = "@SUM(A1)"
TAB_ID = "\t=1+1"
FORMULAS = {PAYER_CODE, EVIL_ID, EVIL_FIRST, EVIL_LAST, TAB_ID}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _download(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    body = response.streaming_content if response.streaming else [response.content]
    return _rows(b"".join(body).decode())


@pytest.fixture
def september(world):
    """A payer and two members whose codes, ids and names are formulas; September's run takes
    back half of the first member's August (a negative, billable amount)."""
    owner = world.actor(S.Role.OWNER)
    p = payer(owner, PAYER_CODE)
    evil = Member.objects.create(
        tenant=world.tenant,
        external_id=EVIL_ID,
        first_name=EVIL_FIRST,
        last_name=EVIL_LAST,
        birth_date=date(1980, 3, 15),
    )
    tab = Member.objects.create(
        tenant=world.tenant,
        external_id=TAB_ID,
        first_name="-Ann",
        last_name="=Lee",
        birth_date=date(1980, 3, 15),
    )
    assertion(p, evil)
    assertion(p, tab)
    run_month(owner, AUG, [PAYER_CODE])
    late_assertion(p, evil, status="TERMINATED", termination=date(2026, 8, 15))
    return run_month(owner, SEP, [PAYER_CODE])


def _assert_safe(rows: list[list[str]], *, expect: set[str]) -> None:
    """Every formula we stored appears only behind a quote; the expected ones do appear."""
    cells = {c for r in rows for c in r}
    assert cells.isdisjoint(FORMULAS), cells & FORMULAS
    for cell in cells:
        if cell[:1] in ("=", "+", "@", "\t", "\r") or (
            cell.startswith("-") and not _is_number(cell)
        ):
            raise AssertionError(f"formula cell written as-is: {cell!r}")
    assert {"'" + v for v in expect} <= cells


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_roster_csv_neutralises_names_and_codes_and_keeps_amounts(world, september):
    client = world.client(S.Role.OWNER)
    rows = _download(client.get(f"/api/billing/runs/{september.pk}/roster.csv"))
    _assert_safe(rows, expect={EVIL_ID, EVIL_FIRST, EVIL_LAST, PAYER_CODE, TAB_ID, "-Ann"})
    by_member = {(r[0], r[4]): r for r in rows[1:-3]}
    # the member's own refund is a negative number, the other member's month a positive one
    assert by_member[("'" + EVIL_ID, "2026-08-01")][8] == "-160.00"
    assert by_member[("'" + TAB_ID, "2026-09-01")][8] == "310.00"
    assert rows[-2] == ["# total_amount", "150.00"]
    # the roster frozen next to the run is written the same way
    with september.roster.open("rb") as fh:
        assert _rows(fh.read().decode()) == rows


def test_decisions_csv_and_audit_package_neutralise_ids_and_codes(world, september):
    client = world.client(S.Role.OWNER)
    rows = _download(client.get(f"/api/billing/runs/{september.pk}/decisions.csv"))
    _assert_safe(rows, expect={EVIL_ID, PAYER_CODE, TAB_ID})
    amounts = {(r[0], r[2]): r[5] for r in rows[1:]}
    assert amounts[("'" + EVIL_ID, "2026-08-01")] == "-160.00"
    assert amounts[("'" + EVIL_ID, "2026-09-01")] == "0.00"

    # the decisions CSV inside the audit package is the same file
    pkg = AuditPackage.objects.get(run=september)
    assert pkg.status == AuditPackage.Status.READY
    with pkg.file.open("rb") as fh:
        archive = zipfile.ZipFile(io.BytesIO(fh.read()))
    assert _rows(archive.read(f"decisions-run{september.pk}.csv").decode()) == rows


def test_list_exports_neutralise_ids_names_and_codes(world, september):
    client = world.client(S.Role.OWNER)
    # the Decisions tab's export
    rows = _download(client.get(f"/billing/runs/{september.pk}/decisions-list.csv"))
    _assert_safe(rows, expect={EVIL_ID, PAYER_CODE})
    assert {r[7] for r in rows[1:]} >= {"-160.00", "310.00"}
    # the member search's export
    rows = _download(client.get("/billing/members.csv", {"q": "Ann"}))
    _assert_safe(rows, expect={TAB_ID, "-Ann", "=Lee"})
    rows = _download(client.get("/billing/members.csv", {"q": "calc"}))
    _assert_safe(rows, expect={EVIL_ID, EVIL_FIRST, EVIL_LAST})
    # the runs list (payer codes)
    _assert_safe(_download(client.get("/billing/runs.csv")), expect={PAYER_CODE})
    # and the comparison of a simulation with September's run, after a late termination
    tab = Member.objects.get(external_id=TAB_ID)
    late_assertion(
        Payer.objects.get(code=PAYER_CODE), tab, status="TERMINATED", termination=date(2026, 9, 10)
    )
    owner = world.actor(S.Role.OWNER)
    sim = run_month(owner, SEP, [PAYER_CODE], mode=BillingRun.Mode.SIMULATION)
    url = f"/api/billing/runs/{sim.pk}/compare.csv"
    compare = _download(client.get(url, {"with": september.pk}))
    _assert_safe(compare, expect={PAYER_CODE, TAB_ID, EVIL_ID})
    assert {r[5] for r in compare[1:]} == {"-160.00", "310.00"}  # the old amounts, numbers
