"""The COVERAGE ingestion kind: rows become coverages, upserted by (member, payer, effective)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from denials.ingest_coverage import COLUMNS
from denials.models import Coverage
from denials.services.cob import member_cob
from ingestion import services as ingestion
from ingestion.models import Batch, BatchRecord
from tests.denials.cob_builders import payer
from tests.denials.remit_builders import member


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _csv(*rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


def _ingest(actor, content: bytes) -> Batch:
    batch = ingestion.batch_ingest_file(
        actor=actor, kind="COVERAGE", filename="coverage.csv", content=content, enqueue=False
    )
    assert batch.status == Batch.Status.PROCESSING, batch.failure
    return ingestion.batch_run_inline(batch_id=batch.pk)


def _records(batch) -> dict[int, tuple[str, str]]:
    return {
        r.row_number: (r.status, r.error_detail)
        for r in BatchRecord.objects.filter(batch=batch).order_by("row_number")
    }


def test_coverage_file_loads_and_refuses_rows_naming_the_field(world):
    m = member(world.tenant, "CVG-1")
    payer(world.tenant, "ACME")
    payer(world.tenant, "MCARE")
    batch = _ingest(
        world.actor(),
        _csv(
            ("CVG-1", "acme", "commercial", "250", "Y", "2026-01-01", ""),
            ("CVG-1", "MCARE", "MEDICARE", "", "", "2025-07-01", "2027-12-31"),
            ("SECRET-404", "ACME", "COMMERCIAL", "", "N", "2026-01-01", ""),
            ("CVG-1", "NOPE", "VISION", "many", "maybe", "2026-02-30", ""),
            ("CVG-1", "ACME", "OTHER", "", "", "2026-03-01", "2026-02-01"),
        ),
    )
    got = _records(batch)
    assert got[2][0] == got[3][0] == "SUCCESS"
    assert got[4][0] == "ERROR" and "member_id: no member" in got[4][1]
    assert "SECRET-404" not in got[4][1]
    for text in ("kind: expected one of", "employer_size:", "active_employment:", "effective:"):
        assert text in got[5][1]
    assert "termination:" in got[6][1]
    acme = Coverage.objects.get(member=m, payer__code="ACME")
    assert (acme.kind, acme.employer_size, acme.active_employment, acme.termination) == (
        "COMMERCIAL",
        250,
        True,
        None,
    )
    assert Coverage.objects.get(payer__code="MCARE").termination == date(2027, 12, 31)
    order = member_cob(actor=world.actor(), member=m, as_of=date(2026, 6, 1))["order"]
    assert order == ["ACME", "MCARE"]  # Medicare second to employer coverage of 250


def test_a_repeat_of_a_loaded_coverage_updates_it(world):
    m = member(world.tenant, "CVG-2")
    payer(world.tenant, "ACME")
    payer(world.tenant, "MCARE")
    _ingest(world.actor(), _csv(("CVG-2", "ACME", "COMMERCIAL", "250", "Y", "2026-01-01", ""),
            ("CVG-2", "MCARE", "MEDICARE", "", "", "2025-01-01", "")))  # fmt: skip
    # the member retires: same coverage key, active employment now N
    batch = _ingest(
        world.actor(), _csv(("CVG-2", "ACME", "COMMERCIAL", "250", "N", "2026-01-01", ""))
    )
    assert _records(batch)[2][0] == "UPDATED"
    assert Coverage.objects.filter(member=m).count() == 2
    assert not Coverage.objects.get(member=m, payer__code="ACME").active_employment
    order = member_cob(actor=world.actor(), member=m, as_of=date(2026, 6, 1))["order"]
    assert order == ["MCARE", "ACME"]
