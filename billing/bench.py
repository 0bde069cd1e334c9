"""`manage.py bench ingest --rows N`: an eligibility CSV of N rows through a batch, then a retry.

The file holds 1,000 rows (or N/100 when smaller) for a payer that does not exist yet; after
the batch ends, the payer is added and those rows are retried, as an operator would.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import date, timedelta

from django.db import connection

from billing.ingest import ELIGIBILITY_COLUMNS
from billing.models import Payer
from core.actors import Actor
from core.bench import Bench, Timer, peak_rss_mb, register_bench
from core.services import tenant_create


def eligibility_csv(rows: int, late: int) -> bytes:
    """A synthetic eligibility file; the last `late` rows name payer LATE."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ELIGIBILITY_COLUMNS)
    base = date(2026, 1, 1)
    for n in range(rows):
        payer = "LATE" if n >= rows - late else "BENCH"
        writer.writerow(
            [
                f"B{n:08d}",
                "Pat",
                f"Bench{n % 97}",
                (date(1950, 1, 1) + timedelta(days=n % 20000)).isoformat(),
                payer,
                "FULL_FILE",
                "2026-01-01",
                "ACTIVE",
                (base - timedelta(days=n % 300)).isoformat(),
                "",
                "MED",
                "",
            ]
        )
    return buf.getvalue().encode()


def _args(parser) -> None:
    parser.add_argument("--rows", type=int, default=100_000)


def _run(*, rows: int, **_) -> dict:
    from ingestion import services

    tenant = tenant_create(slug=f"bench-ingest-{int(time.time())}", name="bench")
    Payer.objects.create(tenant=tenant, code="BENCH", name="Bench payer")
    actor = Actor.system_for(tenant)
    late = min(1000, max(1, rows // 100))
    content = eligibility_csv(rows, late)
    with Timer() as load:
        batch = services.batch_ingest_file(
            actor=actor, kind="ELIGIBILITY", filename="bench.csv", content=content, enqueue=False
        )
        batch = services.batch_run_inline(batch_id=batch.pk)
    first = {"status": batch.status, "success": batch.success, "error": batch.error}
    Payer.objects.create(tenant=tenant, code="LATE", name="Late payer")
    with Timer() as retry:
        services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
        batch = services.batch_run_inline(batch_id=batch.pk)
    return {
        "bench": "ingest",
        "database": connection.vendor,
        "rows": rows,
        "bytes": len(content),
        "load_seconds": load.seconds,
        "first_pass": first,
        "retried_rows": late,
        "retry_seconds": retry.seconds,
        "final": {"status": batch.status, "success": batch.success, "error": batch.error},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def register() -> None:
    """Offer the ingestion benchmark."""
    register_bench(Bench("ingest", "load an eligibility CSV of N rows, then retry 1%", _args, _run))
