"""`manage.py bench billing|audit-package|pages`: billing-run benchmarks.

The ingestion bench (`bench ingest`) lives in billing/bench_ingest.py.
"""

from __future__ import annotations

import time
from datetime import date

from django.db import connection

from billing.ingest import ASSERTION_FIELDS
from billing.models import Payer
from core.actors import Actor
from core.bench import Bench, Timer, peak_rss_mb, register_bench
from core.bulk import fetch_rows
from core.services import tenant_create
from core.transitions import state_reload


def _billing_args(parser) -> None:
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="django-q2 worker processes to start for the run (0: run it in this process)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run in this process under cProfile (implies --workers 0), write the stats to FILE "
        "and add the split engine / fact loading / decision writes / finalisation to the figures",
    )


def _tree_peak_rss_mb(root: int) -> float:
    """The highest peak RSS (VmHWM) among a process and its descendants, in MB (Linux)."""
    from pathlib import Path

    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, changed = {root}, True
    while changed:
        more = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        changed, tree = bool(more), tree | more
    peak = 0.0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return round(peak, 1)


def _with_workers(run, workers: int):
    """Start a qcluster, queue the run for it, wait for the end, stop the cluster."""
    import os
    import signal
    import subprocess
    import sys

    from core import queue

    env = {**os.environ, "Q_WORKERS": str(workers), "Q_SYNC": "0", "LOG_LEVEL": "WARNING"}
    cluster = subprocess.Popen(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "qcluster"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(2)  # let the cluster come up before the clock starts
        with Timer() as clock:
            queue.enqueue("billing.tasks.run_start", run.pk)
            while True:
                state_reload(run)
                if not run.is_active and (run.roster or run.status == run.Status.FAILED):
                    break
                time.sleep(0.2)
        run.worker_peak_rss_mb = _tree_peak_rss_mb(cluster.pid)
        return run, clock.seconds
    finally:
        cluster.send_signal(signal.SIGTERM)
        cluster.wait(timeout=30)


BENCH_PARAMS = {
    "requires_service_delivery": True,
    "qualifying_service_codes": ["99213", "99214"],
    "retro_window_months": 3,
    "proration": "DAILY",
    "min_billable_days": 1,
    "file_precedence": ["MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE"],
    "benefit_combinations": [{"primary": "MED", "suffix": "D", "combined": "MED_DENTAL"}],
    "pricing_tiers": [
        {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"},
        {"benefit": "MED", "min_age": 65, "max_age": 120, "rate": "298.00"},
        {"benefit": "MED_DENTAL", "min_age": 0, "max_age": 120, "rate": "455.00"},
    ],
}


def _billing_facts(tenant, payer, members: int, month) -> None:
    """Members with ~2 assertions and ~1 service event per member-month over 3 months."""
    from datetime import UTC, datetime

    from django.db import transaction

    from billing.engine.months import add_months
    from billing.models import EligibilityAssertion, Member, ServiceDeliveryEvent
    from core.bulk import insert_rows

    months = [add_months(month, -2), add_months(month, -1), month]
    received = [datetime(m.year, m.month, 2, 6, tzinfo=UTC) for m in months]
    with transaction.atomic():
        insert_rows(
            Member,
            ("tenant", "external_id", "first_name", "last_name", "birth_date"),
            (
                (
                    tenant.pk,
                    f"X{n:08d}",
                    "Pat",
                    f"Bench{n % 97}",
                    date(1940 + n % 70, 1 + n % 12, 1 + n % 28),
                )
                for n in range(members)
            ),
        )
    ids = list(Member.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True))
    fields = ASSERTION_FIELDS[:11]  # the eligibility file's columns, without file and row
    for k, m in enumerate(months):
        rows = []
        for n, member_id in enumerate(ids):
            suffix = "D" if n % 10 == 0 else ""
            term = date(m.year, m.month, 14) if (n % 50 == 0 and k == 2) else None
            status = "TERMINATED" if term else ("PENDING" if n % 40 == 0 else "ACTIVE")
            effective = date(2025, 1, 1)
            rows.append(
                (
                    tenant.pk,
                    payer.pk,
                    member_id,
                    "FULL_FILE",
                    m,
                    received[k],
                    status,
                    effective,
                    term,
                    "MED",
                    suffix,
                )
            )
            rows.append(
                (
                    tenant.pk,
                    payer.pk,
                    member_id,
                    "CHANGE_FILE",
                    m,
                    received[k],
                    status,
                    effective,
                    term,
                    "MED",
                    suffix,
                )
            )
        with transaction.atomic():
            insert_rows(EligibilityAssertion, fields, rows)
        services = [
            (
                tenant.pk,
                payer.pk,
                member_id,
                date(m.year, m.month, 1 + n % 27),
                "99213" if n % 7 else "11111",
                received[k],
            )
            for n, member_id in enumerate(ids)
        ]
        with transaction.atomic():
            insert_rows(
                ServiceDeliveryEvent,
                ("tenant", "payer", "member", "service_date", "service_code", "received_at"),
                services,
            )


def _load_avg() -> list[float]:
    import os

    return [round(x, 2) for x in os.getloadavg()]


FLOOR_BATCH = 20_000  # decision rows per read-back / COPY of the floor (bounded memory)


def _floor_write(run) -> float:
    """Seconds to write the run's own decision rows again, as written, into a scratch table
    with no constraints or indexes: COPY on PostgreSQL, executemany INSERT elsewhere.

    The rows are read back in id ranges (not timed) and written range by range (timed), so
    the floor holds no more than one range in memory.
    """
    from django.db import transaction
    from django.db.models import Max, Min

    from billing.models import Decision
    from billing.services.chunks import DECISION_FIELDS

    meta = [Decision._meta.get_field(name) for name in DECISION_FIELDS]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in meta)
    scratch = qn(f"bench_floor_{run.pk}")
    bounds = Decision.objects.filter(run=run).aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return 0.0
    pg = connection.vendor == "postgresql"
    seconds = 0.0
    with transaction.atomic(), connection.cursor() as cursor:
        # the same column types, no NOT NULL, no keys, no indexes; logged like the real table
        cursor.execute(
            f"CREATE TABLE {scratch} AS SELECT {columns} FROM billing_decision WHERE 1 = 0"  # noqa: S608
        )
        marks = ", ".join(["%s"] * len(meta))
        for lo in range(bounds["lo"], bounds["hi"] + 1, FLOOR_BATCH):
            select = (
                f"SELECT {columns} FROM billing_decision WHERE run_id = {int(run.pk)} "  # noqa: S608
                f"AND id >= {int(lo)} AND id < {int(lo) + FLOOR_BATCH}"
            )
            if pg:
                raw = connection.connection
                buf = bytearray()
                with raw.cursor() as cur, cur.copy(f"COPY ({select}) TO STDOUT") as copy:
                    for data in copy:
                        buf += data
                start = time.perf_counter()
                with raw.cursor() as cur, cur.copy(f"COPY {scratch} ({columns}) FROM STDIN") as cp:
                    cp.write(bytes(buf))
                seconds += time.perf_counter() - start
            else:
                cursor.execute(select)
                rows = cursor.fetchall()
                start = time.perf_counter()
                cursor.executemany(f"INSERT INTO {scratch} ({columns}) VALUES ({marks})", rows)  # noqa: S608
                seconds += time.perf_counter() - start
        cursor.execute(f"DROP TABLE {scratch}")
    return seconds


def _floor_read(run) -> float:
    """Seconds for the set-based reads of the facts the run read (each chunk's, as it read
    them: the same queries over the same months; rows fetched and dropped)."""
    from billing.models import RunChunk, RunPayer
    from billing.services.chunks import _past_months, fact_queries
    from billing.services.rules import engine_rules

    months = {}
    for rp in RunPayer.objects.filter(run=run, rule_version__isnull=False).select_related(
        "rule_version"
    ):
        window = engine_rules(rp.rule_version).params.retro_window_months
        inside, outside = _past_months(run, rp.payer_id, window)
        months[rp.payer_id] = [run.month] + [p.month for p in inside + outside]
    start = time.perf_counter()
    for payer_id, lo, hi in RunChunk.objects.filter(run=run).values_list(
        "payer_id", "first_member", "last_member"
    ):
        for query in fact_queries(run, payer_id, lo, hi, months[payer_id]):
            fetch_rows(query)
    return time.perf_counter() - start


def _profile_split(stats) -> dict:
    """Cumulative seconds of the run's parts from a cProfile run (nested calls not twice)."""
    parts = {
        "engine": ("billing/engine/evaluate.py", ("evaluate", "retro_delta")),
        "fact_loading": ("billing/services/chunks.py", ("_load_facts", "_billed")),
        "decision_writes": ("core/bulk.py", ("insert_rows",)),
        "finalisation": ("billing/services/finalize.py", ("billing_run_finalize",)),
        "planning": ("billing/services/runs.py", ("billing_run_start",)),
    }
    out = {}
    for name, (path, funcs) in parts.items():
        total = 0.0
        for (file, _line, func), (_cc, _nc, _tt, ct, callers) in stats.stats.items():
            # only the outermost calls: skip time reached from another counted call
            nested = any(c[2] in funcs and c[0].endswith(path) for c in callers)
            if file.endswith(path) and func in funcs and not nested:
                total += ct
        out[name] = round(total, 3)
    return out


class _Split:
    """Wall seconds of the run's parts in this process, by wrapping the functions that do them
    (no profiler: a few hundred calls are timed, not every function)."""

    PARTS = {
        "fact_loading": ("billing.services.chunks", ("_load_facts", "_billed")),
        "evaluate_chunk": ("billing.services.chunks", ("_evaluate_chunk",)),
        "decision_writes": ("billing.services.chunks", ("insert_rows",)),
        "finalisation": ("billing.services.runs", ("billing_run_finalize",)),
        "planning": ("billing.services.runs", ("billing_run_start",)),
    }

    def __enter__(self):
        import importlib

        self.seconds = dict.fromkeys(self.PARTS, 0.0)
        self.saved = []
        for part, (module_name, names) in self.PARTS.items():
            module = importlib.import_module(module_name)
            for name in names:
                real = getattr(module, name)
                self.saved.append((module, name, real))
                setattr(module, name, self._timed(part, real))
        return self

    def _timed(self, part, real):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - start

        return timed

    def __exit__(self, *exc):
        for module, name, real in self.saved:
            setattr(module, name, real)

    def figures(self, total: float) -> dict:
        out = {k: round(v, 3) for k, v in self.seconds.items()}
        # the engine: evaluating and building decision rows, without the fact reads inside
        out["engine"] = round(out.pop("evaluate_chunk") - out["fact_loading"], 3)
        out["other"] = round(total - sum(out.values()), 3)
        out["python_share"] = round((out["engine"] + out["fact_loading"]) / total, 3)
        return out


def _billing_run(*, members: int, workers: int = 2, profile: str | None = None, **_) -> dict:
    from billing.engine.months import add_months
    from billing.services import rules, runs

    if profile:
        workers = 0
    tenant = tenant_create(slug=f"bench-billing-{int(time.time())}", name="bench")
    actor = Actor.system_for(tenant)
    payer = Payer.objects.create(tenant=tenant, code="BENCH", name="Bench payer")
    rv = rules.rule_version_create(
        actor=actor, payer=payer, version="1", effective_from=date(2024, 1, 1), params=BENCH_PARAMS
    )
    rules.rule_version_activate(actor=actor, rule_version_id=rv.pk)
    month = add_months(date.today().replace(day=1), -1)
    with Timer() as setup:
        _billing_facts(tenant, payer, members, month)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    load_before = _load_avg()
    split = split_seconds = None
    if workers:
        run = runs.billing_run_trigger(actor=actor, month=month, payers=["BENCH"], enqueue=False)
        run, seconds = _with_workers(run, workers)
    else:
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
        with _Split() as parts, Timer() as run_time:
            if profiler:
                profiler.enable()
            run = runs.billing_run_trigger(
                actor=actor, month=month, payers=["BENCH"], enqueue=False
            )
            run = runs.billing_run_execute(run_id=run.pk)
            if profiler:
                profiler.disable()
        seconds = run_time.seconds
        split_seconds = parts.figures(seconds)
        if profiler:
            import pstats

            profiler.dump_stats(profile)
            split = _profile_split(pstats.Stats(profiler))
    load_after = _load_avg()
    peak = round(peak_rss_mb(), 1)
    write_floor = _floor_write(run)
    read_floor = _floor_read(run)
    floor = round(write_floor + read_floor, 3)
    return {
        "bench": "billing",
        "database": connection.vendor,
        "members": members,
        "seconds": seconds,
        "floor_seconds": floor,
        "ratio": round(seconds / floor, 2) if floor else None,
        "floor_write_seconds": round(write_floor, 3),
        "floor_read_seconds": round(read_floor, 3),
        "load_avg": load_after,
        "load_avg_before": load_before,
        "setup_seconds": setup.seconds,
        "run_seconds": seconds,
        "workers": workers,
        "status": run.status,
        "decisions": run.decisions_count,
        "chunks": run.chunks_total,
        "summary": {k: run.summary[k] for k in ("billable_members", "total_charge", "mean_charge")},
        "roster_bytes": run.roster.size if run.roster else 0,
        "peak_rss_mb": peak,
        "worker_peak_rss_mb": getattr(run, "worker_peak_rss_mb", None) or peak,
        **({"split_seconds": split_seconds} if split_seconds else {}),
        **({"profile_split": split, "profile_file": profile} if split else {}),
    }


def _package_args(parser) -> None:
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--run", type=int, help="rebuild the package of this run instead")


def _package_run(*, members: int, run: int | None = None, **_) -> dict:
    from billing.models import AuditPackage, BillingRun
    from billing.services.package import audit_package_build, audit_package_request

    if run is None:
        figures = _billing_run(members=members, workers=0)
        run = BillingRun.objects.filter(tenant__slug__startswith="bench-billing").latest("id").pk
    obj = BillingRun.objects.select_related("tenant").get(pk=run)
    audit_package_request(actor=Actor.system_for(obj.tenant), run_id=obj.pk, enqueue=False)
    with Timer() as clock:
        package = audit_package_build(run_id=obj.pk)
    package = AuditPackage.objects.get(pk=package.pk)
    return {
        "bench": "audit-package",
        "database": connection.vendor,
        "run": obj.pk,
        "decisions": obj.decisions_count,
        "exceptions": obj.exceptions_count,
        "seconds": clock.seconds,
        "status": package.status,
        "pages": package.pages,
        "zip_bytes": package.file.size if package.file else 0,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        **({"run_seconds": figures["run_seconds"]} if "figures" in locals() else {}),
    }


def register() -> None:
    """Offer the billing-run benchmarks (and the ingestion one, from billing.bench_ingest)."""
    from billing import bench_ingest, bench_load, bench_scaleout

    bench_ingest.register()
    bench_scaleout.register()  # issue 17: two clusters on a Redis broker
    bench_load.register()  # issue 17: screens and API under load while a run executes
    register_bench(
        Bench(
            "audit-package",
            "build the audit package of a run of N members",
            _package_args,
            _package_run,
        )
    )
    register_bench(
        Bench(
            "billing",
            "a production run over N members with 3 months of facts",
            _billing_args,
            _billing_run,
        )
    )
