"""Benchmarks behind `manage.py bench NAME`: each app registers its own (never timed tests)."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.audit import GENESIS, entry_hash, verify_chain
from core.models import AuditChainHead, AuditEntry, Tenant


@dataclass(frozen=True)
class Bench:
    """A named benchmark: how to add its options and how to run it (returns figures)."""

    name: str
    help: str
    add_arguments: Callable
    run: Callable[..., dict]


BENCHES: dict[str, Bench] = {}


def register_bench(bench: Bench) -> None:
    """Called by apps (AppConfig.ready) to offer a benchmark."""
    BENCHES[bench.name] = bench


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """Context manager measuring wall seconds."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = round(time.perf_counter() - self.start, 3)


def _fill_chain(tenant: Tenant, n: int, batch: int = 20000) -> None:
    """Append n synthetic entries after the chain's head (bench data only)."""
    head = AuditChainHead.objects.get(tenant=tenant)
    prev, seq, base = head.hash or GENESIS, head.seq, timezone.now()
    n += seq
    while seq < n:
        rows = []
        for _ in range(min(batch, n - seq)):
            seq += 1
            fields = {
                "seq": seq,
                "at": base + timedelta(microseconds=seq),
                "actor_label": "bench",
                "action": "BENCH_EVENT",
                "object_type": "bench.Thing",
                "object_id": str(seq),
                "reason": "",
                "payload": {"n": seq, "amount": "12.34"},
            }
            digest = entry_hash(prev, tenant_id=tenant.pk, actor_id=None, **fields)
            rows.append(AuditEntry(tenant=tenant, prev_hash=prev, hash=digest, **fields))
            prev = digest
        with transaction.atomic():
            AuditEntry.objects.bulk_create(rows, batch_size=5000)
    AuditChainHead.objects.filter(tenant=tenant).update(seq=n, hash=prev)
    if connection.vendor == "postgresql":  # as autovacuum would, before anyone reads it
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE core_auditentry")


def _audit_args(parser) -> None:
    parser.add_argument("--entries", type=int, default=100_000)


def _audit_run(*, entries: int, **_) -> dict:
    from core.services import tenant_create

    slug = f"bench-audit-{int(time.time())}"
    tenant = tenant_create(slug=slug, name="bench")
    with Timer() as fill:
        _fill_chain(tenant, entries - 1)  # tenant_create already wrote entry #1
    with Timer() as verify:
        report = verify_chain(tenant)
    return {
        "bench": "audit",
        "database": connection.vendor,
        "entries": report.entries,
        "ok": report.ok,
        "fill_seconds": fill.seconds,
        "verify_seconds": verify.seconds,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tenant": slug,
    }


register_bench(
    Bench(
        "audit",
        "build an audit chain of N entries and time its verification",
        _audit_args,
        _audit_run,
    )
)


# issue 19: `bench webhooks` and issue 17: `bench all` live in their own modules (each
# registers itself on import)
from core import (  # noqa: E402
    bench_all,  # noqa: F401
    bench_webhooks,  # noqa: F401
)
