"""`manage.py bench scaleout`: a billing run and a prepaid run spread over two worker clusters
on a Redis broker, checked against a single-cluster run of the same data (issue 17).

Each cluster is a separate `qcluster` process group with its own working directory (a temp dir)
and its own HEALTHBILL_NODE name, as if on two hosts, sharing the PostgreSQL database and the
Redis broker (Q_BROKER=redis://127.0.0.1:6379/<db>). Every chunk records the worker that did it
(`worker`, core.node), so the figures give chunks per node. The same data is generated twice,
in two tenants: one run goes through one cluster, the other through both; decisions by class,
amounts, rated items, debits and ledger sums must be equal.

With --kill, one cluster's process group is killed (SIGKILL) once the run has done a few chunks.
The Redis broker takes a task off the list when a cluster fetches it and acknowledges nothing:
the tasks the killed cluster held (running or prefetched) are gone, whatever Q_RETRY says. So
once the run stops moving with an empty queue, the bench does what an operator (or a
watchdog) does: `billing_run_resume` / `prepaid_run_resume` queue the chunks not done, and the
surviving cluster finishes. The figures say how many chunks were re-queued.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager, suppress
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum

from core.bench import Bench, Timer, register_bench
from core.node import database_url

QUEUE_KEY = "django_q:{name}:q"


def _args(parser) -> None:
    parser.add_argument("--members", type=int, default=100_000, help="billing-run members")
    parser.add_argument("--services", type=int, default=100_000, help="prepaid-run services")
    parser.add_argument("--per-account", type=int, default=10, help="prepaid services per account")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per cluster")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database of the broker")
    parser.add_argument(
        "--kill", action="store_true", help="kill one cluster mid-run; the other finishes"
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=20.0,
        help="with --kill: how long a run may stand still with an empty queue before the "
        "chunks not done are re-queued",
    )
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for a run")


def _broker_url(db: int) -> str:
    return f"redis://127.0.0.1:6379/{db}"


class _Cluster:
    """One `qcluster` in its own process group and working directory, named HEALTHBILL_NODE."""

    def __init__(self, node: str, *, broker: str, workers: int, extra_env: dict | None = None):
        self.node = node
        self.cwd = tempfile.mkdtemp(prefix=f"healthbill-{node}-")
        base = str(settings.BASE_DIR)
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),  # the bench's own (a test database in the smoke test)
            "HEALTHBILL_NODE": node,
            "Q_BROKER": broker,
            "Q_WORKERS": str(workers),
            "Q_SYNC": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": base,
            **(extra_env or {}),
        }
        self.log = open(Path(self.cwd) / "qcluster.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(  # noqa: S603 (our own manage.py)
            [sys.executable, str(Path(base) / "manage.py"), "qcluster"],
            cwd=self.cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill reaches every worker
        )

    def kill(self) -> None:
        """Kill the whole cluster at once, as a lost host."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()
        self.log.close()
        shutil.rmtree(self.cwd, ignore_errors=True)


@contextmanager
def _clusters(nodes: list[str], *, broker: str, workers: int, extra_env: dict | None = None):
    started = [_Cluster(n, broker=broker, workers=workers, extra_env=extra_env) for n in nodes]
    try:
        time.sleep(3)  # let the clusters come up before the clock starts
        yield started
    finally:
        for cluster in started:
            cluster.stop()


@contextmanager
def _redis_broker(url: str):
    """This process queues on the Redis broker at `url`, never synchronously, for the block
    (whatever its settings say): the first task of a run and any resume go to the clusters."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    saved = (Conf.ORM, Conf.REDIS, Conf.SYNC)
    Conf.ORM, Conf.REDIS, Conf.SYNC = None, url, False
    try:
        broker = get_broker()
        broker.purge_queue()  # leftovers of an earlier, interrupted bench
        yield broker
    finally:
        Conf.ORM, Conf.REDIS, Conf.SYNC = saved


def _enqueue(broker, func: str, *args) -> None:
    from django_q.tasks import async_task

    async_task(func, *args, broker=broker, sync=False)


def _wait(
    reload,
    *,
    broker,
    timeout: int,
    on_progress=None,
    resume=None,
    stall: float = 0.0,
) -> tuple[float, int]:
    """Wait for the run to end; with `resume`, re-queue once it stands still with an empty queue.

    Returns (seconds, chunks re-queued)."""
    start = time.perf_counter()
    requeued, last, still_since = 0, None, time.perf_counter()
    while True:
        run = reload()
        if run.ended:
            return round(time.perf_counter() - start, 3), requeued
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"run {run.pk} not finished after {timeout} s (status {run.status})")
        if on_progress:
            on_progress(run)
        mark = (run.status, run.chunks_done)
        if mark != last:
            last, still_since = mark, time.perf_counter()
        elif resume and time.perf_counter() - still_since > stall and broker.queue_size() == 0:
            requeued += resume(run.pk)
            still_since = time.perf_counter()
        time.sleep(0.25)


class _Billing:
    """Reload a billing run with an `ended` flag (roster written, or failed/cancelled)."""

    def __init__(self, run_id: int):
        self.run_id = run_id

    def __call__(self):
        from billing.models import BillingRun

        run = BillingRun.objects.get(pk=self.run_id)
        run.ended = not run.is_active and bool(run.roster or run.status != run.Status.COMPLETED)
        return run


class _Prepaid:
    def __init__(self, run_id: int):
        self.run_id = run_id

    def __call__(self):
        from wallets.models import PrepaidBillingRun

        run = PrepaidBillingRun.objects.get(pk=self.run_id)
        run.ended = run.status in run.ENDED
        return run


def _per_node(model, run_id: int) -> dict[str, int]:
    """Chunks done per node (the worker label without its pid)."""
    counts: Counter = Counter()
    rows = model.objects.filter(run_id=run_id, done=True).values_list("worker", flat=True)
    for worker in rows:
        counts[worker.rsplit("/", 1)[0] or "?"] += 1
    return dict(sorted(counts.items()))


def _drive(
    poll,
    start_task: str,
    *,
    resume,
    chunk_model,
    kill_after: int,
    nodes,
    broker_url,
    workers,
    extra: dict,
    kill: bool,
    opts,
) -> dict:
    """Start the clusters, queue the run's start, wait for it (with --kill: kill the last cluster
    once a quarter of the chunks are done, and re-queue what it took with it)."""
    if kill:
        extra = {**extra, "Q_TIMEOUT": "30", "Q_RETRY": "40"}
    killed = {}
    with (
        _redis_broker(broker_url) as broker,
        _clusters(nodes, broker=broker_url, workers=workers, extra_env=extra) as clusters,
    ):

        def kill_one(current) -> None:
            if killed or current.chunks_total == 0:
                return
            if current.chunks_done >= max(kill_after, current.chunks_total // 4):
                clusters[-1].kill()
                killed.update(node=clusters[-1].node, at_chunks_done=current.chunks_done)

        _enqueue(broker, start_task, poll.run_id)
        seconds, requeued = _wait(
            poll,
            broker=broker,
            timeout=opts["timeout"],
            on_progress=kill_one if kill else None,
            resume=resume if kill else None,
            stall=opts["stall_seconds"],
        )
    run = poll()
    figures = {
        "seconds": seconds,
        "chunks": run.chunks_total,
        "chunks_per_node": _per_node(chunk_model, run.pk),
        **({"killed": killed, "requeued_chunks": requeued} if kill else {}),
    }
    return {"run": run, "figures": figures}


def _billing_setup(members: int, label: str):
    from billing.bench import BENCH_PARAMS, _billing_facts
    from billing.engine.months import add_months
    from billing.models import Payer
    from billing.services import rules
    from core.actors import Actor
    from core.services import tenant_create

    tenant = tenant_create(slug=f"bench-scaleout-{label}-{int(time.time())}", name="bench")
    actor = Actor.system_for(tenant)
    payer = Payer.objects.create(tenant=tenant, code="BENCH", name="Bench payer")
    rv = rules.rule_version_create(
        actor=actor, payer=payer, version="1", effective_from=date(2024, 1, 1), params=BENCH_PARAMS
    )
    rules.rule_version_activate(actor=actor, rule_version_id=rv.pk)
    month = add_months(date.today().replace(day=1), -1)
    _billing_facts(tenant, payer, members, month)
    return actor, month


def _billing_outcome(run) -> dict:
    """What must not depend on who ran the chunks: decisions by class and month, amounts."""
    from billing.models import Decision

    decisions = Decision.objects.filter(run_id=run.pk)
    by_class = {
        f"{row['month']}:{row['decision_class']}": [row["n"], str(row["amount"])]
        for row in decisions.values("month", "decision_class")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by("month", "decision_class")
    }
    per_member = (
        decisions.filter(month=run.month)
        .values("member_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    counts = Counter(per_member)
    return {
        "status": run.status,
        "decisions": run.decisions_count,
        "by_class": by_class,
        "summary": {k: run.summary.get(k) for k in ("billable_members", "total_charge")},
        "members_with_one_decision": counts.get(1, 0),
        "members_with_more": sum(v for k, v in counts.items() if k > 1),
    }


def _billing_phase(
    *, members: int, nodes: list[str], broker_url: str, workers: int, kill: bool, opts
) -> dict:
    from billing.models import RunChunk
    from billing.services.runs import billing_run_resume, billing_run_trigger

    actor, month = _billing_setup(members, "-".join(nodes))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    run = billing_run_trigger(actor=actor, month=month, payers=["BENCH"], enqueue=False)
    # the probe chunks: one per worker of every cluster, so both clusters start at once; a
    # payer too small to be measured gets ~20 chunks, so that there is something to spread
    extra = {
        "BILLING_CHUNK_PROBES": str(workers * len(nodes)),
        "BILLING_CHUNK_SIZE": str(min(settings.BILLING_CHUNK_SIZE, max(50, members // 20))),
    }
    driven = _drive(
        _Billing(run.pk),
        "billing.tasks.run_start",
        resume=lambda pk: billing_run_resume(run_id=pk),
        chunk_model=RunChunk,
        kill_after=2,
        nodes=nodes,
        broker_url=broker_url,
        workers=workers,
        extra=extra,
        kill=kill,
        opts=opts,
    )
    return {**driven["figures"], "outcome": _billing_outcome(driven["run"])}


def _prepaid_outcome(run, tenant) -> dict:
    from wallets.models import RatedItem, Wallet, WalletTransaction

    balance = Wallet.objects.filter(tenant=tenant).aggregate(s=Sum("balance"))["s"]
    ledger = WalletTransaction.objects.filter(tenant=tenant).aggregate(s=Sum("amount"))["s"]
    by_kind = {
        row["kind"]: [row["n"], str(row["amount"])]
        for row in WalletTransaction.objects.filter(tenant=tenant)
        .values("kind")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by("kind")
    }
    return {
        "status": run.status,
        "accounts_done": run.accounts_done,
        "rated_items": RatedItem.objects.filter(run=run).count(),
        "debited": str(run.debited_total),
        "credited": str(run.credited_total),
        "errors": run.errors_count,
        "ledger_by_kind": by_kind,
        "ledger_sum": str(ledger),
        "balance_sum": str(balance),
        "balance_equals_ledger": Decimal(balance) == Decimal(ledger),
    }


def _prepaid_phase(
    *, services: int, per_account: int, nodes: list[str], broker_url: str, workers, kill, opts
) -> dict:
    from core.actors import Actor
    from core.services import tenant_create
    from wallets.bench import AS_OF, _setup
    from wallets.models import PrepaidRunChunk
    from wallets.services.runs import prepaid_run_resume, prepaid_run_trigger

    label = "-".join(nodes)
    tenant = tenant_create(slug=f"bench-scaleout-pp-{label}-{int(time.time())}", name="bench")
    _setup(tenant, services, per_account)
    run = prepaid_run_trigger(actor=Actor.system_for(tenant), as_of=AS_OF, enqueue=False)
    accounts = max(1, services // per_account)
    extra = {"PREPAID_CHUNK_ACCOUNTS": str(min(500, max(5, accounts // 20)))}
    driven = _drive(
        _Prepaid(run.pk),
        "wallets.tasks.prepaid_run_start",
        resume=lambda pk: prepaid_run_resume(run_id=pk),
        chunk_model=PrepaidRunChunk,
        kill_after=1,
        nodes=nodes,
        broker_url=broker_url,
        workers=workers,
        extra=extra,
        kill=kill,
        opts=opts,
    )
    return {**driven["figures"], "outcome": _prepaid_outcome(driven["run"], tenant)}


def _same(a: dict, b: dict) -> bool:
    """Equal outcomes, leaving out what differs by design (none so far) and key order."""
    return a == b


def _run(
    *, members: int, services: int, per_account: int, workers: int, redis_db: int, kill: bool, **o
) -> dict:
    from core.bench import peak_rss_mb

    if connection.vendor != "postgresql":
        raise SystemExit("bench scaleout: needs PostgreSQL (DATABASE_URL=postgres://...)")
    url = _broker_url(redis_db)
    load_before = [round(x, 2) for x in os.getloadavg()]
    two = ["node-a", "node-b"]
    with Timer() as total:
        single_b = _billing_phase(
            members=members, nodes=["solo"], broker_url=url, workers=workers, kill=False, opts=o
        )
        multi_b = _billing_phase(
            members=members, nodes=two, broker_url=url, workers=workers, kill=kill, opts=o
        )
        single_p = _prepaid_phase(
            services=services,
            per_account=per_account,
            nodes=["solo"],
            broker_url=url,
            workers=workers,
            kill=False,
            opts=o,
        )
        multi_p = _prepaid_phase(
            services=services,
            per_account=per_account,
            nodes=two,
            broker_url=url,
            workers=workers,
            kill=kill,
            opts=o,
        )
    billing_ok = _same(single_b["outcome"], multi_b["outcome"])
    prepaid_ok = _same(single_p["outcome"], multi_p["outcome"])
    completed = (
        multi_b["outcome"]["status"] == "COMPLETED"
        and multi_b["outcome"]["members_with_more"] == 0
        and multi_p["outcome"]["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS")
    )
    return {
        "bench": "scaleout",
        "database": connection.vendor,
        "broker": url,
        "members": members,
        "services": services,
        "workers_per_cluster": workers,
        "kill": kill,
        "billing": {"single": single_b, "two_clusters": multi_b},
        "prepaid": {"single": single_p, "two_clusters": multi_p},
        "billing_same_as_single": billing_ok,
        "prepaid_same_as_single": prepaid_ok,
        "both_nodes_worked": len(multi_b["chunks_per_node"]) == 2
        and len(multi_p["chunks_per_node"]) == 2,
        "finished": completed,
        "ok": billing_ok and prepaid_ok and completed,
        "total_seconds": total.seconds,
        "load_avg_before": load_before,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def register() -> None:
    """Offer `bench scaleout`."""
    register_bench(
        Bench(
            "scaleout",
            "a billing run and a prepaid run over two qcluster processes on a Redis broker, "
            "compared with one cluster (--kill: lose one mid-run)",
            _args,
            _run,
        )
    )
