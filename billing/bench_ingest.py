"""`manage.py bench ingest --rows N`: an eligibility CSV of N rows through a batch, then a retry.

The file holds 1,000 rows (or N/100 when smaller) for a payer that does not exist yet; after
the batch ends, the payer is added and those rows are retried, as an operator would. The first
pass runs inline, as `ingest --sync` does (records stored once, with their final status); the
retry goes through the chunks (ERROR records back to PENDING, then one UPDATE per chunk).

Right after the real work, in the same process and on the same database, the bench times its
floor: the file's rows (the parsed CSV values, same number, same width) written into a scratch
table with no constraints (COPY on PostgreSQL, one executemany INSERT elsewhere). `ratio` is
`seconds / floor_seconds`, comparable between a busy and an idle machine.
"""

from __future__ import annotations

import csv
import io
import os
import resource
import time
from datetime import date, timedelta

from django.db import connection, transaction

from billing.ingest import ELIGIBILITY_COLUMNS
from billing.models import Payer
from core.actors import Actor
from core.bench import Bench, Timer, peak_rss_mb, register_bench
from core.services import tenant_create

_SCRATCH = "bench_ingest_floor"


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


def copy_floor(content: bytes) -> float:
    """Seconds to write the file's rows into an unconstrained scratch table (the floor).

    The rows are parsed before the clock starts: the floor is the database's part only.
    """
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    header = next(reader)
    rows = [r for r in reader if r]
    qn = connection.ops.quote_name
    cols = ", ".join(f"{qn(h.strip().lower())} text" for h in header)
    names = ", ".join(qn(h.strip().lower()) for h in header)
    connection.ensure_connection()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"CREATE TEMP TABLE {_SCRATCH} ({cols}) ON COMMIT DROP")
            else:
                cursor.execute(f"DROP TABLE IF EXISTS {_SCRATCH}")
                cursor.execute(f"CREATE TEMP TABLE {_SCRATCH} ({cols})")
        with Timer() as floor:
            if connection.vendor == "postgresql":
                sql = f"COPY {_SCRATCH} ({names}) FROM STDIN"
                with connection.connection.cursor() as cur, cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(header))
                with connection.cursor() as cursor:
                    sql = f"INSERT INTO {_SCRATCH} VALUES ({marks})"  # noqa: S608 (our own table)
                    cursor.executemany(sql, rows)
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_SCRATCH}")
    return max(floor.seconds, 0.001)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _args(parser) -> None:
    parser.add_argument("--rows", type=int, default=100_000)


def run(*, rows: int, **_) -> dict:
    """Load N rows (1 % for a payer added afterwards), retry those, then time the floor."""
    from ingestion import services

    tenant = tenant_create(slug=f"bench-ingest-{time.time_ns()}", name="bench")
    Payer.objects.create(tenant=tenant, code="BENCH", name="Bench payer")
    actor = Actor.system_for(tenant)
    late = min(1000, max(1, rows // 100))
    content = eligibility_csv(rows, late)
    cpu_start = _cpu_seconds()
    with Timer() as load:
        batch = services.batch_ingest_file(
            actor=actor, kind="ELIGIBILITY", filename="bench.csv", content=content, inline=True
        )
    cpu = _cpu_seconds() - cpu_start
    first = {"status": batch.status, "success": batch.success, "error": batch.error}
    Payer.objects.create(tenant=tenant, code="LATE", name="Late payer")
    with Timer() as retry:
        services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
        batch = services.batch_run_inline(batch_id=batch.pk)
    floor = copy_floor(content)
    return {
        "bench": "ingest",
        "database": connection.vendor,
        "rows": rows,
        "bytes": len(content),
        "seconds": load.seconds,
        "floor_seconds": floor,
        "ratio": round(load.seconds / floor, 2),
        "load_seconds": load.seconds,
        # this process's CPU for the load (Python's share; the database's runs elsewhere): less
        # sensitive to a busy machine than wall seconds
        "python_cpu_seconds": round(cpu, 3),
        "first_pass": first,
        "retried_rows": late,
        "retry_seconds": retry.seconds,
        "final": {"status": batch.status, "success": batch.success, "error": batch.error},
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def register() -> None:
    """Offer the ingestion benchmark."""
    register_bench(Bench("ingest", "load an eligibility CSV of N rows, then retry 1%", _args, run))
