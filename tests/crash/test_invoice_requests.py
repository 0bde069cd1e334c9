"""ONLINE invoice requests survive workers SIGKILLed at random points (issue 17, SPEC 11): a
fresh cluster finishes them, every request is billed exactly once with the amounts of its
charges, every bill gets its PDF, the counters tie out, nothing is left for the watchdog and
the tenant's audit chain verifies.

A request is processed in one transaction, so a kill rolls back the ones in flight; their
tasks stay in the database broker (not acknowledged) and the fresh cluster gets them again
after Q_RETRY. The watchdog (invoicing/watchdog.py) is for tasks the broker lost: here it must
find nothing to do.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry
from core.models.events import Event
from core.watchdog import watchdog_pass
from invoicing.models import Bill, BillableCharge, BillLine, InvoiceRequest
from invoicing.services.requests import invoice_request_create
from tests.crash.conftest import WAIT_SECONDS, wait_until
from tests.invoicing.builders import MON, account, charges, request_type

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

REQUESTS = 60  # one per account; each held 0.3 s first (CHUNK_PAUSE): >= 9 s on 2 workers
LEFT_AT_KILL = 20  # the seeded kill comes when at least this many are still to do
AMOUNT = Decimal("12.50")
Status = InvoiceRequest.Status


def _charges_of(n: int) -> int:
    return 1 + n % 4  # 1 to 4 charges an account


def _pending() -> int:
    return InvoiceRequest.objects.filter(status=Status.PENDING).count()


@pytest.mark.parametrize("seed", [1, 2])
def test_invoice_requests_survive_a_killed_cluster(world, clusters, seed):
    rng = random.Random(seed)
    ops = world.actor(S.Role.OPERATIONS)
    mreg = request_type(world.tenant, "MREG")
    accounts = []
    for n in range(REQUESTS):
        acc = account(world.tenant, f"A-{n:03d}")
        charges(acc, _charges_of(n), amount=str(AMOUNT))
        accounts.append(acc)

    # given an ONLINE request per account, due on MON: each queued its task on commit
    requests = [
        invoice_request_create(actor=ops, type=mreg, account=acc, cutoff_date=MON, today=MON)
        for acc in accounts
    ]
    assert {(r.status, r.processing_mode) for r in requests} == {(Status.PENDING, "ONLINE")}
    first = clusters()

    # when the cluster is SIGKILLed after a seeded number of requests (plus a seeded moment)
    kill_after = rng.randint(0, REQUESTS - LEFT_AT_KILL)
    wait_until(
        lambda: REQUESTS - _pending() >= kill_after,
        seconds=WAIT_SECONDS,
        what=f"request {kill_after} processed",
        log=first.log,
    )
    time.sleep(rng.uniform(0, 0.6))
    first.kill()
    left = _pending()
    print(f"seed {seed}: killed after {kill_after}: {REQUESTS - left}/{REQUESTS} processed")
    assert left > 0, "the kill came after every request was processed"

    # and a fresh cluster is started
    started = time.monotonic()
    second = clusters()
    wait_until(
        lambda: _pending() == 0 and not Bill.objects.filter(pdf="").exists(),
        seconds=WAIT_SECONDS,
        what="every request processed and every bill rendered after the crash",
        log=second.log,
    )
    print(f"seed {seed}: finished {time.monotonic() - started:.1f} s after the restart")
    second.stop()

    # then every request has exactly one outcome: PROCESSED, with its own bill
    processed = InvoiceRequest.objects.filter(pk__in=[r.pk for r in requests])
    assert set(processed.values_list("status", flat=True)) == {Status.PROCESSED}
    assert Bill.objects.count() == REQUESTS
    by_account = dict(processed.values_list("account_id", "bill_id"))
    bills = {b.account_id: b for b in Bill.objects.all()}
    assert {a: b.pk for a, b in bills.items()} == by_account
    # and each bill has exactly its account's charges: count, amount, each charge taken once
    for n, acc in enumerate(accounts):
        bill = bills[acc.pk]
        assert (bill.kind, bill.status) == ("REGULAR", "POSTED")
        assert (bill.line_count, bill.total) == (_charges_of(n), AMOUNT * _charges_of(n))
        taken = BillableCharge.objects.filter(account=acc).values_list("bill_id", flat=True)
        assert set(taken) == {bill.pk}
        assert bill.pdf.read(4) == b"%PDF"
    # and the counters tie out: lines with bills, bills with charges, one event and one audit
    # entry per bill
    charge_count = sum(_charges_of(n) for n in range(REQUESTS))
    assert BillLine.objects.count() == charge_count
    assert BillableCharge.objects.filter(bill__isnull=True).count() == 0
    per_bill = BillLine.objects.values("bill").annotate(n=Count("id"), s=Sum("amount"))
    assert {(r["bill"], r["n"], r["s"]) for r in per_bill} == {
        (b.pk, b.line_count, b.total) for b in bills.values()
    }
    assert Bill.objects.aggregate(s=Sum("total"))["s"] == AMOUNT * charge_count
    posted = Event.objects.filter(tenant=world.tenant, type="invoicing.bill.posted")
    assert sorted(posted.values_list("object_id", flat=True)) == sorted(
        str(b.pk) for b in bills.values()
    )
    audited = AuditEntry.objects.filter(action="InvoiceRequest.processed")
    assert sorted(audited.values_list("object_id", flat=True)) == sorted(
        str(r.pk) for r in requests
    )
    # and nothing is left for the watchdog, even long after
    later = watchdog_pass(now=timezone.now() + timedelta(days=1))
    assert (later.requeued, later.failed, later.actions) == (0, 0, [])
    # and the audit chain verifies
    report = verify_chain(world.tenant)
    assert report.ok, report.problem
