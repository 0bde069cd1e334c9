"""Invoice requests under the job watchdog (core.watchdog): an ONLINE request whose processing
task was lost is queued again, and put in ERROR with the reason after the watchdog's last try.

What a dead worker leaves behind. Processing a request is one transaction (lock the request,
cut the bill, take the charges, PENDING -> PROCESSED with its audit entry): a worker killed in
the middle rolls all of it back, so the request is PENDING again with no bill, never half done.
Its task stays in the database broker (it is acknowledged only after it returns) and is handed
out again after Q_RETRY; a re-delivered task of a request already PROCESSED changes nothing (it
only queues the bill's PDF render again if that never happened). What the broker cannot bring
back is a task that never reached it or left it: the process that created or approved the
request died between its commit and the enqueue, the Redis broker lost it, or it was dropped
after its attempts. Such a request would wait PENDING for ever: the nightly batch only takes
requests that became due later.

A candidate is a PENDING ONLINE request that was due when it last changed (so a task was
queued for it then: created, approved or retried on or after its processing date) and has not
changed since the cutoff (`updated_at`, set by every transition, is its progress mark), with no
task of it waiting in the broker. Re-queuing queues its task again (a request processed once is
skipped: never two bills). Failing uses the request's own failed state: PENDING -> ERROR with
the watchdog's reason as the error, audited as `InvoiceRequest.failed`; staff see it in the
error list and retry it when the workers are healthy again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from core import queue
from core.watchdog import Stale, register_watchdog, waiting_broker_tasks
from invoicing.models import InvoiceRequest
from invoicing.services.processing import invoice_request_fail

TASK = "invoicing.tasks.invoice_request_process"
Status = InvoiceRequest.Status


def stale_requests(cutoff: datetime) -> list[Stale]:
    """PENDING ONLINE requests queued when they last changed and unchanged since the cutoff,
    each with the tasks of it that may wait in the broker (any business date)."""
    now = cutoff + timedelta(seconds=settings.WATCHDOG_STALE_SECONDS)
    rows = list(
        InvoiceRequest.objects.filter(
            status=Status.PENDING,
            processing_mode=InvoiceRequest.ProcessingMode.ONLINE,
            processing_date__lte=timezone.localdate(now),
            updated_at__lt=cutoff,
        )
        .order_by("pk")
        .values_list("pk", "tenant_id", "processing_date", "updated_at")
    )
    # due at its last change: `_enqueue_if_due` queued it then (a request that became due later
    # is the nightly batch's, not a lost task)
    rows = [r for r in rows if r[2] <= timezone.localdate(r[3])]
    if not rows:
        return []
    # the task's business date is the day it was queued: match a waiting task on the request
    queued: dict[int, set[tuple]] = {}
    for func, args in waiting_broker_tasks(now) or ():
        if func == TASK and len(args) == 3:
            queued.setdefault(args[1], set()).add(args)
    today = timezone.localdate(now).isoformat()
    found = []
    for pk, tenant_id, _, updated_at in rows:
        variants = {(tenant_id, pk, today), *queued.get(pk, ())}
        tasks = tuple((TASK, args) for args in sorted(variants, key=str))
        found.append(Stale(pk, tenant_id, updated_at, tasks))
    return found


def request_requeue(pk: int) -> int:
    """Queue a stuck request's processing again (today's business date); nothing when it is no
    longer PENDING (processing is idempotent either way)."""
    request = InvoiceRequest.objects.filter(pk=pk, status=Status.PENDING).first()
    if request is None:
        return 0
    queue.enqueue(TASK, request.tenant_id, pk, timezone.localdate().isoformat())
    return 1


def request_fail(pk: int, reason: str) -> InvoiceRequest:
    """Put a stuck request in ERROR with the watchdog's reason (audited); one processed
    meanwhile is left as it is."""
    return invoice_request_fail(request_id=pk, reason=reason)


def register() -> None:
    register_watchdog(
        "invoicing.request",
        "invoice request",
        candidates=stale_requests,
        requeue=request_requeue,
        fail=request_fail,
    )
