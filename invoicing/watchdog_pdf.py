"""Bill PDFs under the job watchdog (core.watchdog): a bill left without its PDF is rendered.

A bill's PDF is rendered by a task queued when the transaction that cut the bill commits (one
task per bill online, one per chunk of bills in the nightly batch). A process killed between
that commit and the enqueue, a task the Redis broker lost, or a render that crashed leave the
bill without a PDF for ever: an online request's re-delivered task makes good its own bill, but
nothing re-runs a nightly batch that committed.

A candidate is a bill with no PDF cut before the cutoff, with no render of it waiting in the
broker (a batch's render task counts for every bill it lists). Re-queuing queues its render (a
render finds a PDF already there and does nothing). After the watchdog's last try the bill is
left without a PDF and the failure is audited as `BILL_PDF_FAILED` with the reason; such a bill
is not a candidate again (staff see the audit entry; the bill itself, its lines and its total
stand whatever its PDF).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast

from core import queue
from core.actors import Actor
from core.audit import audit_record
from core.models import AuditEntry
from core.watchdog import Stale, register_watchdog, waiting_broker_tasks
from invoicing.models import Bill

TASK = "invoicing.tasks.bill_render_pdf"
BATCH_TASK = "invoicing.tasks.bills_render_pdf"
FAILED = "BILL_PDF_FAILED"


def _failed():
    return AuditEntry.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        action=FAILED,
        object_type=Bill._meta.label,
        object_id=OuterRef("pk_text"),
    )


def stale_pdfs(cutoff: datetime) -> list[Stale]:
    """Bills without a PDF cut before the cutoff, not given up on, with no render waiting."""
    rows = list(
        Bill.objects.filter(pdf="", created_at__lt=cutoff)
        .annotate(pk_text=Cast("pk", CharField()))
        .filter(~Exists(_failed()))
        .order_by("pk")
        .values_list("pk", "tenant_id", "created_at")
    )
    if not rows:
        return []
    now = cutoff + timedelta(seconds=settings.WATCHDOG_STALE_SECONDS)
    in_batches = {
        bill_id
        for func, args in waiting_broker_tasks(now) or ()
        if func == BATCH_TASK and args
        for bill_id in args[0]
    }
    return [
        Stale(pk, tenant_id, created_at, ((TASK, (pk,)),))
        for pk, tenant_id, created_at in rows
        if pk not in in_batches
    ]


def pdf_requeue(pk: int) -> int:
    """Queue the bill's render again; nothing when it has its PDF by now."""
    if not Bill.objects.filter(pk=pk, pdf="").exists():
        return 0
    queue.enqueue(TASK, pk)
    return 1


def pdf_fail(pk: int, reason: str) -> None:
    """Give up on the bill's PDF: audited, with the reason (the bill stands without it)."""
    bill = Bill.objects.select_related("tenant").filter(pk=pk, pdf="").first()
    if bill is None:
        return
    audit_record(
        tenant=bill.tenant,
        actor=Actor.system_for(bill.tenant),
        action=FAILED,
        obj=bill,
        reason=reason,
    )


def register() -> None:
    register_watchdog(
        "invoicing.bill_pdf",
        "bill PDF",
        candidates=stale_pdfs,
        requeue=pdf_requeue,
        fail=pdf_fail,
    )
