"""Billing runs under the job watchdog (core.watchdog): a run a dead worker left behind is
queued again, and failed through its state machine after the watchdog's last try."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max

from billing.models import BillingRun, RunChunk
from billing.services.finalize import billing_run_fail
from billing.services.runs import billing_run_resume
from core import queue
from core.watchdog import Stale, register_watchdog

Status = BillingRun.Status


def stale_runs(cutoff: datetime) -> list[Stale]:
    """Queued or running runs whose last sign of progress (trigger, start, a chunk done) is
    older than the cutoff, with the tasks that would move each on."""
    runs = (
        BillingRun.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])
        .annotate(last_chunk=Max("chunks__done_at"))
        .order_by("pk")
    )
    found = []
    for run in runs:
        progress = max(t for t in (run.triggered_at, run.started_at, run.last_chunk) if t)
        if progress >= cutoff:
            continue
        tasks = [("billing.tasks.run_start", (run.pk,))]
        if run.status == Status.RUNNING:
            pending = RunChunk.objects.filter(run=run, done=False).values_list("id", flat=True)
            tasks += [("billing.tasks.run_chunk", (pk,)) for pk in pending]
        found.append(Stale(run.pk, run.tenant_id, progress, tuple(tasks)))
    return found


def run_requeue(pk: int) -> int:
    """Queue a stuck run's work again: its start when queued, its unfinished chunks (or its
    completion) when running; a chunk already done writes nothing twice."""
    run = BillingRun.objects.get(pk=pk)
    if run.status == Status.QUEUED:
        queue.enqueue("billing.tasks.run_start", pk)
        return 1
    return billing_run_resume(run_id=pk)


def run_fail(pk: int, reason: str) -> BillingRun:
    """Fail a stuck run with the watchdog's reason (audited); its payers are free again."""
    run = BillingRun.objects.select_related("tenant").get(pk=pk)
    with transaction.atomic():
        run = billing_run_fail(run=run, message=reason, reason=reason)
    return run


def register() -> None:
    register_watchdog(
        "billing.run", "billing run", candidates=stale_runs, requeue=run_requeue, fail=run_fail
    )
