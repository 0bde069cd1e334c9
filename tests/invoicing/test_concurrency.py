"""Two requests of one account processed at once never bill a charge twice (PostgreSQL)."""

from __future__ import annotations

import pytest

from core import scopes as S
from core.actors import Actor
from invoicing.models import BillableCharge, BillLine, InvoiceRequest
from invoicing.services.processing import invoice_request_process
from invoicing.services.requests import invoice_request_create
from tests.concurrency import race
from tests.invoicing.builders import MON, account, charges, request_type


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_processing_bills_each_charge_once(world):
    # given two pending regular requests on one account with 40 unbilled charges
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, wait_days=1)  # not due at creation: nothing runs at commit
    acc = account(world.tenant)
    charges(acc, 40)
    ids = [
        invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON).pk
        for _ in range(2)
    ]

    # when both are processed at the same moment
    results = race(
        2,
        lambda i: invoice_request_process(actor=Actor.system_for(world.tenant), request_id=ids[i]),
    )

    # then both are processed, one bill took the 40 charges and the other none
    assert all(isinstance(r, InvoiceRequest) for r in results), results
    done = InvoiceRequest.objects.filter(pk__in=ids).select_related("bill")
    assert {r.status for r in done} == {"PROCESSED"}
    assert sorted(r.bill.line_count for r in done) == [0, 40]
    assert BillLine.objects.filter(bill__kind="REGULAR").count() == 40
    assert BillLine.objects.values("charge").distinct().count() == 40
    assert BillableCharge.objects.filter(bill__isnull=True).count() == 0
