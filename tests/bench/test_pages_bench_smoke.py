"""`bench pages --fill` runs end to end at a quick size and prints its figures (`pytest -m bench`).

The timed figures are `manage.py bench pages --fill 1000000 --other 3000000` on PostgreSQL
(docs/benchmarks.md, "Decision pages"); this checks the bench itself, never its times.
"""

from __future__ import annotations

import pytest

from billing.models import BillingRun, Decision, DecisionPageMark
from core.bench import BENCHES

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]


def test_bench_pages_fills_a_completed_run_among_others_and_measures_deep_pages():
    figures = BENCHES["pages"].run(fill=600, other=900, repeat=2)

    run = BillingRun.objects.get(pk=figures["run"])
    assert run.status == BillingRun.Status.COMPLETED and run.decisions_count == 600
    assert Decision.objects.filter(run=run).count() == 600 and figures["table_rows"] == 1500
    assert figures["other_runs"] == 2
    # interleaved with the first other run: its stretch of ids holds that run's rows too
    assert run.last_decision_id - run.first_decision_id + 1 > 600
    assert figures["deep_page"] == 12
    assert DecisionPageMark.objects.filter(run=run, decision_class="").count() == 12
    for key in (
        "decisions_deep_page",
        "decisions_by_class_deep_page",
        "api_decisions_deep_cursor",
        "floor_deep_rows",
        "offset_deep_rows",
    ):
        assert set(figures[key]) == {"median_ms", "p95_ms"}
    for key in ("seconds", "floor_seconds", "ratio", "load_avg", "peak_rss_mb", "marks_seconds"):
        assert key in figures
