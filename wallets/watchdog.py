"""Prepaid runs under the job watchdog (core.watchdog): a run a dead worker left behind is
queued again, and failed through its state machine after the watchdog's last try."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max

from core import queue
from core.watchdog import Stale, register_watchdog
from wallets.models import PrepaidBillingRun, PrepaidRunChunk
from wallets.services.finalize import prepaid_run_fail
from wallets.services.runs import prepaid_run_resume

Status = PrepaidBillingRun.Status
ACTIVE = [Status.DRAFT, Status.IDENTIFICATION_AND_RATING]


def stale_runs(cutoff: datetime) -> list[Stale]:
    """Draft (due) or rating runs whose last sign of progress (trigger, due time, start, a chunk
    done) is older than the cutoff, with the tasks that would move each on."""
    runs = (
        PrepaidBillingRun.objects.filter(status__in=ACTIVE)
        .annotate(last_chunk=Max("chunks__done_at"))
        .order_by("pk")
    )
    found = []
    for run in runs:
        moments = (run.triggered_at, run.scheduled_for, run.started_at, run.last_chunk)
        progress = max(t for t in moments if t)
        if progress >= cutoff:
            continue
        tasks = [("wallets.tasks.prepaid_run_start", (run.pk,))]
        if run.status == Status.IDENTIFICATION_AND_RATING:
            pending = PrepaidRunChunk.objects.filter(run=run, done=False)
            tasks += [
                ("wallets.tasks.prepaid_run_chunk", (pk,))
                for pk in pending.values_list("pk", flat=True)
            ]
        found.append(Stale(run.pk, run.tenant_id, progress, tuple(tasks)))
    return found


def run_requeue(pk: int) -> int:
    """Queue a stuck run's work again: its start when a draft, its unfinished chunks (or its
    completion) when rating; a chunk already done is skipped."""
    if PrepaidBillingRun.objects.filter(pk=pk, status=Status.DRAFT).exists():
        queue.enqueue("wallets.tasks.prepaid_run_start", pk)
        return 1
    return prepaid_run_resume(run_id=pk)


def run_fail(pk: int, reason: str) -> PrepaidBillingRun:
    """Fail a stuck run with the watchdog's reason (audited); what it debited stays."""
    return prepaid_run_fail(run_id=pk, error=reason)


def register() -> None:
    register_watchdog(
        "wallets.prepaid_run",
        "prepaid run",
        candidates=stale_runs,
        requeue=run_requeue,
        fail=run_fail,
    )
