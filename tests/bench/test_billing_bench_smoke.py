"""`manage.py bench billing` runs at a quick size and reports its floor (issue 16).

Part of the default suite (no `bench` marker): it checks the bench itself, never a time. The
timed figures are `bench billing --members 100000` on PostgreSQL (docs/benchmarks.md).
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from billing.models import BillingRun, RunChunk

pytestmark = pytest.mark.django_db(transaction=True)

KEYS = {"seconds", "floor_seconds", "ratio", "load_avg", "peak_rss_mb", "worker_peak_rss_mb"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """The run writes its roster and audit package as files."""
    settings.MEDIA_ROOT = tmp_path


def _bench(*args: str) -> dict:
    out = StringIO()
    call_command("bench", "billing", *args, stdout=out)
    return json.loads(out.getvalue())


def test_bench_billing_in_process_completes_and_reports_its_floor():
    figures = _bench("--members", "2000", "--workers", "0")

    assert figures.keys() >= KEYS
    assert figures["database"] == connection.vendor
    assert (figures["status"], figures["decisions"]) == ("COMPLETED", 2000)
    assert figures["floor_seconds"] > 0
    assert figures["floor_seconds"] == pytest.approx(
        figures["floor_write_seconds"] + figures["floor_read_seconds"], abs=0.002
    )
    assert figures["ratio"] == round(figures["seconds"] / figures["floor_seconds"], 2)
    assert len(figures["load_avg"]) == 3
    assert figures["roster_bytes"] > 0
    # the floor's scratch table is gone
    tables = connection.introspection.table_names()
    assert not [t for t in tables if t.startswith("bench_floor_")]


def test_bench_billing_sizes_a_big_payers_chunks_from_its_probe(settings):
    """Above BILLING_CHUNK_MEASURE_FROM, probe chunks are planned first; the rest follow."""
    settings.BILLING_CHUNK_MEASURE_FROM = 500
    settings.BILLING_CHUNK_PROBE, settings.BILLING_CHUNK_PROBES = 100, 2
    settings.BILLING_CHUNK_MIN, settings.BILLING_CHUNK_MAX = 150, 150

    figures = _bench("--members", "1000", "--workers", "0")

    assert (figures["status"], figures["decisions"]) == ("COMPLETED", 1000)
    run = BillingRun.objects.get(tenant__slug__startswith="bench-billing")
    chunks = RunChunk.objects.filter(run=run).order_by("index")
    sizes = list(chunks.values_list("members", flat=True))
    # two probes of 100, then 800 members in chunks of 150 (the bounds pin the measured size)
    assert sizes == [100, 100, 150, 150, 150, 150, 150, 50]
    assert (run.chunks_done, run.chunks_total, run.members_done) == (8, 8, 1000)
