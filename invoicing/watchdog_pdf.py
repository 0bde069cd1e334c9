"""Bill PDFs under the job watchdog (core.watchdog): a bill left without its PDF is rendered.

A bill's PDF is rendered by a task queued when the transaction that cut the bill commits (one
task per bill online, one per chunk of bills in the nightly batch). A process killed between
that commit and the enqueue, a task the Redis broker lost, or a render that crashed leave the
bill without a PDF for ever: an online request's re-delivered task makes good its own bill, but
nothing re-runs a nightly batch that committed.

A candidate is a bill with no PDF cut before the cutoff, not given up on, with no render of it
waiting in the broker (a batch's render task counts for every bill it lists). Re-queuing queues
its render (a render finds a PDF already there and does nothing). After the watchdog's last try
`invoicing.services.processing.bill_pdf_give_up` keeps the reason on the bill (`pdf_error`:
the bill's page and the API say the PDF could not be rendered, and why) and audits
`BILL_PDF_FAILED`; such a bill is not a candidate again. The bill itself, its lines and its
total stand whatever its PDF.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from core import queue
from core.watchdog import Stale, register_watchdog, waiting_broker_tasks
from invoicing.models import Bill
from invoicing.services.processing import bill_pdf_give_up

TASK = "invoicing.tasks.bill_render_pdf"
BATCH_TASK = "invoicing.tasks.bills_render_pdf"


def stale_pdfs(cutoff: datetime) -> list[Stale]:
    """Bills without a PDF cut before the cutoff, not given up on, with no render waiting."""
    rows = list(
        Bill.objects.filter(pdf="", pdf_error="", created_at__lt=cutoff)
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


def pdf_fail(pk: int, reason: str) -> Bill:
    """Give up on the bill's PDF, with the reason (kept on the bill, audited)."""
    return bill_pdf_give_up(bill_id=pk, reason=reason)


def register() -> None:
    register_watchdog(
        "invoicing.bill_pdf",
        "bill PDF",
        candidates=stale_pdfs,
        requeue=pdf_requeue,
        fail=pdf_fail,
    )
