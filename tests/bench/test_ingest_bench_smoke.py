"""The ingestion bench runs at a quick size and reports its floor (runs in `make test`).

Never the times: only that the figures are there and the rows tie out.
"""

from __future__ import annotations

import pytest

from core.bench import BENCHES

pytestmark = pytest.mark.django_db(transaction=True)


def test_bench_ingest_reports_floor_and_loads_every_row():
    figures = BENCHES["ingest"].run(rows=2000)

    for key in ("seconds", "floor_seconds", "ratio", "load_avg", "peak_rss_mb"):
        assert key in figures, key
    assert figures["floor_seconds"] > 0 and figures["seconds"] > 0
    ratio = figures["seconds"] / figures["floor_seconds"]
    assert figures["ratio"] == pytest.approx(ratio, rel=0.05)
    assert len(figures["load_avg"]) == 3
    # 1 % of the rows name a payer that is added afterwards: they fail, then load on retry
    assert figures["first_pass"] == {
        "status": "COMPLETED_WITH_ERRORS",
        "success": 1980,
        "error": 20,
    }
    assert figures["retried_rows"] == 20
    assert figures["final"] == {"status": "COMPLETED", "success": 2000, "error": 0}
