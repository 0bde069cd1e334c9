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


def _billing_run(*, members: int, workers: int = 2, **_) -> dict:
    from billing.engine.months import add_months
    from billing.services import rules, runs

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
    if workers:
        run = runs.billing_run_trigger(actor=actor, month=month, payers=["BENCH"], enqueue=False)
        run, seconds = _with_workers(run, workers)
    else:
        with Timer() as run_time:
            run = runs.billing_run_trigger(
                actor=actor, month=month, payers=["BENCH"], enqueue=False
            )
            run = runs.billing_run_execute(run_id=run.pk)
        seconds = run_time.seconds
    return {
        "bench": "billing",
        "database": connection.vendor,
        "members": members,
        "setup_seconds": setup.seconds,
        "run_seconds": seconds,
        "workers": workers,
        "status": run.status,
        "decisions": run.decisions_count,
        "summary": {k: run.summary[k] for k in ("billable_members", "total_charge", "mean_charge")},
        "roster_bytes": run.roster.size if run.roster else 0,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "worker_peak_rss_mb": getattr(run, "worker_peak_rss_mb", None),
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
    from billing import bench_ingest

    bench_ingest.register()
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
