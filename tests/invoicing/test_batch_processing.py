"""The batch (`invoice_requests_process_due`) cuts chunks of requests at once with the same
semantics as one at a time: one bill per request, each charge billed once, requests of one
account in order, an audit entry per request, and a failing request alone in ERROR."""

from datetime import date
from decimal import Decimal

import pytest

from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry
from invoicing.models import Bill, BillableCharge, InvoiceRequest
from invoicing.services import processing
from invoicing.services.processing import invoice_requests_process_due
from invoicing.services.requests import invoice_request_create
from tests.invoicing.builders import MON, account, charges, request_type

Status = InvoiceRequest.Status
TUE = date(2026, 3, 3)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _processed_entries(request_ids):
    return AuditEntry.objects.filter(
        action="InvoiceRequest.processed", object_id__in=[str(pk) for pk in request_ids]
    )


def test_batch_in_small_chunks_bills_each_charge_once_and_keeps_account_order(world, monkeypatch):
    # given chunks of 2 requests, five accounts with 3 charges each, and on the first account a
    # trial, then two regular requests, then another trial (in that order)
    monkeypatch.setattr(processing, "CHUNK", 2)
    ops = world.actor(S.Role.OPERATIONS)
    regular = request_type(world.tenant, "MREG")
    trial = request_type(world.tenant, "MTRI", generation="TRIAL")
    accounts = [account(world.tenant, f"A-{n}") for n in range(5)]
    for acc in accounts:
        charges(acc, 3, amount="12.50")
    first = accounts[0]

    def make(t, acc):
        return invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)

    t1, r1, r2, t2 = (make(t, first) for t in (trial, regular, regular, trial))
    others = [make(regular, acc) for acc in accounts[1:]]

    # when the batch runs
    result = invoice_requests_process_due(tenant=world.tenant, business_date=TUE)

    # then every request is processed once, with one bill each, in the order they were made
    ids = [t1.pk, r1.pk, r2.pk, t2.pk, *[o.pk for o in others]]
    assert [item["request"] for item in result["processed"]] == ids
    assert result["errors"] == []
    assert InvoiceRequest.objects.filter(status=Status.PROCESSED).count() == 8
    assert Bill.objects.count() == 8

    # and on the first account: the trial saw the 3 charges, the first regular took them,
    # the second regular and the later trial found none
    got = {r.pk: r for r in InvoiceRequest.objects.select_related("bill")}
    assert (got[t1.pk].bill.kind, got[t1.pk].bill.status, got[t1.pk].bill.line_count) == (
        "TRIAL",
        "DRAFT",
        3,
    )
    assert (got[r1.pk].bill.kind, got[r1.pk].bill.line_count) == ("REGULAR", 3)
    assert got[r1.pk].bill.total == Decimal("37.50")
    assert got[r2.pk].bill.line_count == 0 and got[t2.pk].bill.line_count == 0
    assert set(first.charges.values_list("bill_id", flat=True)) == {got[r1.pk].bill_id}

    # and every other account's charges went to its own regular bill, lines in order
    for o in others:
        bill = got[o.pk].bill
        assert set(o.account.charges.values_list("bill_id", flat=True)) == {bill.pk}
        assert list(bill.lines.values_list("position", flat=True)) == [1, 2, 3]
        assert bill.total == Decimal("37.50")
    assert BillableCharge.objects.filter(bill__isnull=True).count() == 0

    # and each request has its audit entry with the bill, and the chain still verifies
    entries = _processed_entries(ids)
    assert entries.count() == 8
    entry = entries.get(object_id=str(r1.pk))
    assert entry.payload["bill"] == got[r1.pk].bill_id and entry.payload["lines"] == 3
    assert entry.payload["from"] == "PENDING" and entry.payload["to"] == "PROCESSED"
    assert verify_chain(world.tenant).ok

    # when the batch runs again, nothing more is cut
    again = invoice_requests_process_due(tenant=world.tenant, business_date=TUE)
    assert again == {"processed": [], "errors": []}
    assert Bill.objects.count() == 8


def test_a_failing_request_goes_to_error_alone_and_the_rest_of_its_chunk_is_billed(
    world, monkeypatch
):
    # given three due requests, the second of which fails to be cut
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant)
    accs = [account(world.tenant, f"B-{n}") for n in range(3)]
    for acc in accs:
        charges(acc, 2)
    made = [
        invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
        for acc in accs
    ]
    real_chunk, real_one = processing._cut_bills, processing._cut_bill

    def chunk_breaks_on_b1(actor, ids, business_date):
        real_chunk(actor, ids, business_date)  # writes, then the whole chunk rolls back
        raise RuntimeError("boom")

    def one_breaks_on_b1(request):
        if request.account_id == accs[1].pk:
            raise RuntimeError("member Jane Doe")
        return real_one(request)

    monkeypatch.setattr(processing, "_cut_bills", chunk_breaks_on_b1)
    monkeypatch.setattr(processing, "_cut_bill", one_breaks_on_b1)

    # when the batch runs
    result = invoice_requests_process_due(tenant=world.tenant, business_date=TUE)

    # then the other two are billed once each, the failing one is in ERROR with nothing billed
    statuses = [InvoiceRequest.objects.get(pk=r.pk).status for r in made]
    assert statuses == [Status.PROCESSED, Status.ERROR, Status.PROCESSED]
    assert [item["request"] for item in result["processed"]] == [made[0].pk, made[2].pk]
    assert [e["request"] for e in result["errors"]] == [made[1].pk]
    assert "Jane" not in result["errors"][0]["error"]
    assert Bill.objects.count() == 2
    assert accs[1].charges.filter(bill__isnull=False).count() == 0
    assert BillableCharge.objects.filter(bill__isnull=False).count() == 4
    assert _processed_entries([r.pk for r in made]).count() == 2
