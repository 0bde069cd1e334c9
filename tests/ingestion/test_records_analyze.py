"""A big batch refreshes the records table's statistics (PostgreSQL), so each chunk's "already
loaded?" probe takes the loaded-key index instead of filtering every record of the tenant (a
100,000-row 835 file took minutes per chunk on stale statistics)."""

from __future__ import annotations

import pytest
from django.db import connection

from ingestion import services
from ingestion.models import Batch
from tests.ingestion.factories import eligibility_row, make_payers

pytestmark = pytest.mark.postgres


def _estimated_records() -> float:
    # what the planner believes the table holds: ANALYZE sets it (in this transaction too)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'ingestion_batchrecord'")
        return cursor.fetchone()[0]


def _records(n: int) -> list[dict]:
    return [{"rowNumber": k + 1, "data": eligibility_row(f"A{k:04d}")} for k in range(n)]


@pytest.mark.parametrize("inline", [False, True], ids=["queued", "inline"])
def test_a_big_batch_refreshes_the_statistics_a_small_one_does_not(world, settings, inline):
    make_payers(world.tenant, "ACME")
    settings.INGESTION_ANALYZE_ROWS, settings.INGESTION_CHUNK_SIZE = 30, 10
    before = _estimated_records()

    # a batch under the threshold leaves the planner's estimate alone
    small = services.batch_create(
        actor=world.actor(), kind="ELIGIBILITY", records=_records(29), enqueue=False, inline=inline
    )
    assert small.total == 29
    assert _estimated_records() == before

    # a batch at the threshold refreshes it: the planner now counts its records
    big = services.batch_create(
        actor=world.actor(), kind="ELIGIBILITY", records=_records(30), enqueue=False, inline=inline
    )
    assert big.total == 30
    assert _estimated_records() >= 30
    if inline:
        assert big.status == Batch.Status.COMPLETED
