"""Bill PDFs under the job watchdog: a bill whose render was lost (the nightly batch's process
killed between its commit and the enqueue) gets its PDF; one whose render keeps failing is
given up on with an audited reason, and left alone afterwards.

Tasks run inline (Q_SYNC). Bills cut in a test transaction never have their render queued (the
enqueue waits for a commit that does not come): exactly what a lost enqueue leaves behind.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from core import queue
from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry
from core.watchdog import watchdog_pass
from invoicing.models import Bill, InvoiceRequest
from invoicing.services.processing import invoice_requests_process_due
from invoicing.services.requests import invoice_request_create
from tests.invoicing.builders import MON, account, charges, request_type

STALE = 900


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.WATCHDOG_STALE_SECONDS = STALE
    settings.WATCHDOG_MAX_REQUEUES = 2


def _later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def _nightly_bills(world, n: int) -> list[Bill]:
    """n requests cut by the nightly batch (their own tasks never ran: the test transaction does
    not commit), whose PDFs' render was never queued."""
    ops = world.actor(S.Role.OPERATIONS)
    rtype = request_type(world.tenant, "MREG")
    for k in range(n):
        acc = account(world.tenant, f"N-{k}")
        charges(acc, 2, amount="10.00")
        request = invoice_request_create(
            actor=ops, type=rtype, account=acc, cutoff_date=MON, today=MON
        )
        assert request.status == InvoiceRequest.Status.PENDING
    invoice_requests_process_due(tenant=world.tenant, business_date=MON)
    bills = list(Bill.objects.filter(tenant=world.tenant).order_by("pk"))
    assert len(bills) == n and not any(b.pdf for b in bills)
    return bills


def _failed_entries(bill) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            action="BILL_PDF_FAILED", object_type="invoicing.Bill", object_id=str(bill.pk)
        )
    )


def test_watchdog_renders_the_pdfs_a_lost_batch_render_left_missing(world):
    # given two bills the nightly batch cut, whose render task never reached the broker
    bills = _nightly_bills(world, 2)

    # when the watchdog passes later (its re-queued renders run inline)
    done = watchdog_pass(now=_later(STALE + 1))

    # then both bills have their PDF, and nothing was given up on
    assert (done.requeued, done.failed) == (2, 0)
    for bill in bills:
        bill.refresh_from_db()
        assert bill.pdf.read().startswith(b"%PDF")
        assert _failed_entries(bill) == []
    # and a further pass finds nothing to do
    again = watchdog_pass(now=_later(3 * STALE))
    assert (again.requeued, again.failed) == (0, 0)


def test_watchdog_leaves_fresh_bills_and_those_whose_batch_render_waits(world):
    bills = _nightly_bills(world, 2)
    # given the batch render of the first bill waiting in the broker for a free worker
    OrmQ.objects.create(
        key="healthbill",
        payload=SignedPackage.dumps(
            {"id": "x", "func": "invoicing.tasks.bills_render_pdf", "args": ([bills[0].pk],)}
        ),
        lock=timezone.now(),
    )

    # then a pass before the bound touches neither, and one after it only the second
    assert watchdog_pass(now=_later(60)).requeued == 0
    done = watchdog_pass(now=_later(STALE + 1))
    assert done.requeued == 1
    assert [a["id"] for a in done.actions] == [bills[1].pk]
    assert not Bill.objects.get(pk=bills[0].pk).pdf


def test_a_render_that_keeps_failing_is_given_up_on_with_an_audited_reason(world, monkeypatch):
    (bill,) = _nightly_bills(world, 1)
    # given renders that are lost every time (the worker dies before doing anything)
    lost = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: lost.append((func, args)))

    # when the watchdog passes past its last try
    passes = [watchdog_pass(now=_later(STALE * k + 1)) for k in (1, 3, 5)]

    # then it re-queued the render twice, then gave up, with the reason on the bill and audited
    assert [(p.requeued, p.failed) for p in passes] == [(1, 0), (1, 0), (0, 1)]
    assert lost == [("invoicing.tasks.bill_render_pdf", (bill.pk,))] * 2
    bill.refresh_from_db()
    assert bill.pdf_error.startswith("no progress for 900 s after 2 re-queue(s)")
    (entry,) = _failed_entries(bill)
    assert entry.reason == bill.pdf_error
    assert verify_chain(world.tenant).ok
    # and it is not picked up again: the bill stands, without its PDF
    assert watchdog_pass(now=_later(STALE * 9)).requeued == 0
    bill.refresh_from_db()
    assert not bill.pdf and bill.total > 0

    # and staff are told so instead of "being prepared" for ever: the bill's PDF box stops
    # polling and says why, the download says so, and the API shows the reason
    client = world.client(S.Role.VIEWER)
    box = client.get(f"/invoicing/bills/{bill.pk}/pdf-status/").content.decode()
    assert "The PDF could not be rendered: no progress for 900 s" in box
    assert "hx-trigger" not in box and "being prepared" not in box
    download = client.get(f"/invoicing/bills/{bill.pk}/pdf/")
    assert download.status_code == 409 and b"could not be rendered" in download.content
    api = client.get(f"/api/invoicing/bills/{bill.pk}")
    assert (api.json()["pdf_ready"], api.json()["pdf_error"]) == (False, bill.pdf_error)
    api_pdf = client.get(f"/api/invoicing/bills/{bill.pk}/pdf")
    assert (api_pdf.status_code, api_pdf.json()["error"]["code"]) == (409, "pdf_failed")


def test_a_pass_reads_the_broker_once_though_a_source_also_reads_it(world):
    # given bills waiting for their PDF: their source reads the broker, and so does the pass
    _nightly_bills(world, 2)

    with CaptureQueriesContext(connection) as queries:
        done = watchdog_pass(now=_later(STALE + 1))

    # then the broker's waiting tasks were read once for both
    assert done.requeued == 2
    reads = [q for q in queries.captured_queries if 'FROM "django_q_ormq"' in q["sql"]]
    assert len(reads) == 1
