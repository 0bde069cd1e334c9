"""Invoice requests under the job watchdog (issue 17): an ONLINE request whose processing task
was lost is queued again and billed once; one whose workers keep dying goes to ERROR with the
reason; fresh, waiting, finished and not-yet-queued requests are left alone.

Tasks run inline (Q_SYNC). A request created in a test transaction never has its task queued
(the enqueue waits for a commit that does not come): exactly what a lost task leaves behind. A
worker that dies holding a task is simulated by a queue that drops the task.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from core import queue
from core import scopes as S
from core.actors import Actor
from core.audit import verify_chain
from core.models import AuditEntry
from core.transitions import transition_apply
from core.watchdog import watchdog_pass
from invoicing.models import Bill, BillableCharge, InvoiceRequest
from invoicing.services.processing import invoice_request_process
from invoicing.services.requests import invoice_request_cancel, invoice_request_create
from invoicing.tasks import invoice_request_process as process_task
from tests.invoicing.builders import MON, account, charges, request_type

STALE = 900
Status = InvoiceRequest.Status
TASK = "invoicing.tasks.invoice_request_process"


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.WATCHDOG_STALE_SECONDS = STALE
    settings.WATCHDOG_MAX_REQUEUES = 2


@pytest.fixture
def ops(world):
    return world.actor(S.Role.OPERATIONS)


@pytest.fixture
def mreg(world):
    return request_type(world.tenant, "MREG")


def _later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def _pending(ops, mreg, number: str, n_charges: int = 3) -> InvoiceRequest:
    """An ONLINE request due on MON whose processing task was lost (3 charges of 12.50)."""
    acc = account(ops.tenant, number)
    charges(acc, n_charges, amount="12.50")
    request = invoice_request_create(actor=ops, type=mreg, account=acc, cutoff_date=MON, today=MON)
    assert (request.status, request.processing_mode) == (Status.PENDING, "ONLINE")
    return request


def _waiting_in_broker(func: str, *args) -> None:
    OrmQ.objects.create(
        key="healthbill",
        payload=SignedPackage.dumps({"id": "x", "func": func, "args": args, "kwargs": {}}),
        lock=timezone.now(),
    )


def _request_actions(done) -> list[dict]:
    """What a watchdog pass did to invoice requests (not to other jobs, such as bill PDFs)."""
    return [a for a in done.actions if a["job"] == "invoice request"]


@pytest.fixture
def dead_workers(monkeypatch):
    """Every task queued is lost (its worker dies before doing anything)."""
    lost = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: lost.append((func, args)))
    return lost


def test_watchdog_requeues_a_request_whose_task_was_lost_and_it_is_billed_once(world, ops, mreg):
    # given an ONLINE request due on MON whose task never reached a worker
    request = _pending(ops, mreg, "A-1")

    # when the watchdog passes before the bound, then it leaves the request alone
    assert watchdog_pass(now=_later(STALE - 60)).actions == []
    request.refresh_from_db()
    assert request.status == Status.PENDING

    # when it passes after the bound (the task runs inline here)
    done = watchdog_pass(now=_later(STALE + 1))

    # then the request was queued again and billed: one posted bill of 37.50 taking the charges
    assert (done.requeued, done.failed) == (1, 0)
    assert done.actions[0]["job"] == "invoice request" and done.actions[0]["id"] == request.pk
    request.refresh_from_db()
    assert request.status == Status.PROCESSED
    bill = Bill.objects.get(account=request.account)
    assert (bill.pk, bill.kind, bill.status) == (request.bill_id, "REGULAR", "POSTED")
    assert (bill.line_count, bill.total) == (3, Decimal("37.50"))
    assert set(
        BillableCharge.objects.filter(account=request.account).values_list("bill_id", flat=True)
    ) == {bill.pk}

    # and passes after it, and a late re-delivery of its task, never bill it twice (the bill's
    # PDF, whose render waits here for a commit that does not come, is the bill PDF watchdog's)
    assert _request_actions(watchdog_pass(now=_later(3 * STALE))) == []
    assert process_task(world.tenant.pk, request.pk, MON.isoformat()) == Status.PROCESSED
    assert Bill.objects.filter(account=request.account).count() == 1
    processed = AuditEntry.objects.filter(
        action="InvoiceRequest.processed", object_id=str(request.pk)
    )
    assert processed.count() == 1
    assert verify_chain(world.tenant).ok


def test_watchdog_puts_a_request_whose_workers_keep_dying_in_error_with_the_reason(
    world, ops, mreg, dead_workers
):
    # given a request whose task was lost, and every worker dying with what it is given
    request = _pending(ops, mreg, "A-1")

    # when the watchdog passes after the bound, again after the bound, and once more
    passes = [watchdog_pass(now=_later(k * STALE + k)) for k in (1, 2, 3)]

    # then it queued the request's task twice (today's business date), then failed it
    assert [(p.requeued, p.failed) for p in passes] == [(1, 0), (1, 0), (0, 1)]
    today = timezone.localdate().isoformat()
    assert dead_workers == [(TASK, (world.tenant.pk, request.pk, today))] * 2
    request.refresh_from_db()
    reason = "no progress for 900 s after 2 re-queue(s) by the watchdog"
    assert request.status == Status.ERROR
    assert request.error.startswith(reason)
    # no bill was cut, its charges stay unbilled; the failure is audited with the reason
    assert request.bill_id is None and not Bill.objects.exists()
    assert BillableCharge.objects.filter(bill__isnull=True).count() == 3
    failed = AuditEntry.objects.get(action="InvoiceRequest.failed", object_id=str(request.pk))
    assert failed.reason.startswith(reason)
    assert (failed.payload["from"], failed.payload["to"]) == ("PENDING", "ERROR")
    assert verify_chain(world.tenant).ok


def test_watchdog_leaves_fresh_and_waiting_requests_alone(world, ops, mreg, dead_workers):
    # given a request that changed within the bound, and a stale one whose task (queued with
    # its MON business date) still waits in the broker for a free worker
    fresh = _pending(ops, mreg, "A-1")
    waiting = _pending(ops, mreg, "A-2")
    _waiting_in_broker(TASK, world.tenant.pk, waiting.pk, MON.isoformat())
    InvoiceRequest.objects.filter(pk=fresh.pk).update(updated_at=_later(STALE))

    # when the watchdog passes after the bound of the waiting one only
    done = watchdog_pass(now=_later(STALE + 60))

    # then nothing is queued or failed: both are still pending
    assert (done.requeued, done.failed, done.actions, dead_workers) == (0, 0, [], [])
    statuses = InvoiceRequest.objects.filter(pk__in=[fresh.pk, waiting.pk])
    assert set(statuses.values_list("status", flat=True)) == {Status.PENDING}


def test_watchdog_leaves_finished_and_not_queued_requests_alone(world, ops, mreg, dead_workers):
    system = Actor.system_for(world.tenant)
    # given a processed request, a cancelled one, one in error ...
    processed = invoice_request_process(
        actor=system, request_id=_pending(ops, mreg, "A-1").pk, business_date=MON
    )
    assert processed.status == Status.PROCESSED
    cancelled = invoice_request_cancel(actor=ops, request_id=_pending(ops, mreg, "A-2").pk)
    assert cancelled.status == Status.CANCELLED
    in_error = _pending(ops, mreg, "A-3")
    transition_apply(
        actor=system,
        model=InvoiceRequest,
        pk=in_error.pk,
        name="failed",
        scope=S.INVOICING_REQUEST_CREATE,
        kwargs={"error": "a charge was refused"},
    )
    # ... a deferred one (the nightly batch's: more unbilled charges than its type's 1) ...
    big = account(world.tenant, "A-4")
    charges(big, 2)
    deferring = request_type(world.tenant, "MDEF", defer=1)
    deferred = invoice_request_create(
        actor=ops, type=deferring, account=big, cutoff_date=MON, today=MON
    )
    assert deferred.processing_mode == "DEFERRED"
    # ... and one last changed before it was due (no task was queued: the nightly batch's)
    not_queued = _pending(ops, mreg, "A-5")
    before_due = datetime(2026, 2, 27, 12, tzinfo=UTC)  # the Friday before MON
    InvoiceRequest.objects.filter(pk=not_queued.pk).update(updated_at=before_due)

    # when the watchdog passes long after all of them
    done = watchdog_pass(now=_later(10 * STALE))

    # then none of them is touched (only the processed one's PDF render, which waited here for
    # a commit that does not come, is queued again, by the bill PDF watchdog)
    assert (done.failed, _request_actions(done)) == (0, [])
    assert dead_workers == [("invoicing.tasks.bill_render_pdf", (processed.bill_id,))]
    assert Bill.objects.count() == 1
    states = dict(InvoiceRequest.objects.values_list("pk", "status"))
    assert states == {
        processed.pk: Status.PROCESSED,
        cancelled.pk: Status.CANCELLED,
        in_error.pk: Status.ERROR,
        deferred.pk: Status.PENDING,
        not_queued.pk: Status.PENDING,
    }


def test_a_redelivered_task_of_a_processed_request_queues_its_missing_pdf_once(
    world, ops, mreg, django_capture_on_commit_callbacks
):
    # given a request processed by a worker killed between the commit and the PDF's enqueue
    system = Actor.system_for(world.tenant)
    request = invoice_request_process(
        actor=system, request_id=_pending(ops, mreg, "A-1").pk, business_date=MON
    )
    assert request.status == Status.PROCESSED and not request.bill.pdf

    # when the broker hands its task out again (the render runs inline after the commit)
    with django_capture_on_commit_callbacks(execute=True):
        assert process_task(world.tenant.pk, request.pk, MON.isoformat()) == Status.PROCESSED

    # then the bill got its PDF, still one bill; a further re-delivery renders nothing again
    bill = Bill.objects.get(account=request.account)
    assert bill.pdf.name and bill.pdf.read().startswith(b"%PDF")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        process_task(world.tenant.pk, request.pk, MON.isoformat())
    assert queued == []
    assert Bill.objects.get(pk=bill.pk).pdf.name == bill.pdf.name


def test_watchdog_pass_survives_a_waiting_task_with_a_list_argument(world, ops, mreg):
    # given a stale request and a bills_render_pdf task (a list of bill ids) waiting in the broker
    request = _pending(ops, mreg, "A-1")
    _waiting_in_broker("invoicing.tasks.bills_render_pdf", [1, 2, 3])

    # when the watchdog passes (it reads the broker's waiting tasks)
    done = watchdog_pass(now=_later(STALE + 1))

    # then it still handles the request (a list argument once made the pass raise TypeError)
    assert (done.requeued, done.failed) == (1, 0)
    request.refresh_from_db()
    assert request.status == Status.PROCESSED
