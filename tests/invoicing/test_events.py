"""Invoicing's events (issue 19): a request waits for approval, a regular bill was posted."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from core import scopes as S
from core.actors import Actor
from core.models import Event
from invoicing.services.processing import invoice_request_process, invoice_requests_process_due
from invoicing.services.requests import invoice_request_create
from tests.core.event_helpers import events_of, phi_found, recipients, the_event, title_and_link
from tests.invoicing.builders import MON, account, charges, request_type

PHI = ["MB-A-100", "Account A-100"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_request_pending_approval_notifies_approvers_but_the_creator(world):
    t = request_type(world.tenant, "MAPP", approval=True)
    acc = account(world.tenant)
    creator = world.actor(S.Role.BILLING_MANAGER)

    r = invoice_request_create(actor=creator, type=t, account=acc, cutoff_date=MON, today=MON)

    event = the_event(world.tenant, "invoicing.request.pending_approval")
    assert (event.object_type, event.object_id) == ("invoicing.InvoiceRequest", str(r.pk))
    assert event.payload == {
        "request": r.pk,
        "type": "MAPP",
        "account": acc.pk,
        "origin": "MANUAL",
        "status": "PENDING_APPROVAL",
        "cutoff_date": "2026-03-02",
        "bill_date": r.bill_date.isoformat(),
        "processing_date": r.processing_date.isoformat(),
    }
    assert phi_found(event.payload, PHI) == []
    # owner and admin hold invoicing.request.approve; the creating billing manager is left out
    assert recipients(event) == sorted([world.users[S.Role.OWNER].pk, world.users[S.Role.ADMIN].pk])
    title, link = title_and_link(event)
    assert title == f"Invoice request #{r.pk} waits for your approval"
    assert link == f"/invoicing/requests/{r.pk}/"


def test_request_without_approval_is_not_pending_approval(world):
    t = request_type(world.tenant, "MREG", wait_days=3)
    acc = account(world.tenant)
    invoice_request_create(
        actor=world.actor(S.Role.OPERATIONS), type=t, account=acc, cutoff_date=MON, today=MON
    )
    assert events_of(world.tenant, "invoicing.request.pending_approval") == []


def test_regular_bill_posted_and_trial_bill_not(world):
    ops = world.actor(S.Role.OPERATIONS)
    system = Actor.system_for(world.tenant)
    regular = request_type(world.tenant, "MREG", wait_days=3)
    trial = request_type(world.tenant, "MTRI", generation="TRIAL", wait_days=3)
    acc = account(world.tenant)
    charges(acc, 3, amount="12.50")

    t = invoice_request_create(actor=ops, type=trial, account=acc, cutoff_date=MON, today=MON)
    invoice_request_process(actor=system, request_id=t.pk)
    assert events_of(world.tenant, "invoicing.bill.posted") == []

    r = invoice_request_create(actor=ops, type=regular, account=acc, cutoff_date=MON, today=MON)
    r = invoice_request_process(actor=system, request_id=r.pk)

    event = the_event(world.tenant, "invoicing.bill.posted")
    assert (event.object_type, event.object_id) == ("invoicing.Bill", str(r.bill_id))
    assert event.payload == {
        "bill": r.bill_id,
        "request": r.pk,
        "account": acc.pk,
        "kind": "REGULAR",
        "status": "POSTED",
        "cutoff_date": "2026-03-02",
        "bill_date": r.bill_date.isoformat(),
        "accounting_date": r.accounting_date.isoformat(),
        "lines": 3,
        "total": "37.50",
    }
    assert phi_found(event.payload, PHI) == []


def test_bills_cut_together_by_the_batch_post_one_event_each(world):
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, defer=1, wait_days=2)
    a1, a2 = account(world.tenant, "A-100"), account(world.tenant, "A-200")
    charges(a1, 2)
    charges(a2, 3, amount="5.00")
    r1 = invoice_request_create(actor=ops, type=t, account=a1, cutoff_date=MON, today=MON)
    r2 = invoice_request_create(actor=ops, type=t, account=a2, cutoff_date=MON, today=MON)

    invoice_requests_process_due(tenant=world.tenant, business_date=date(2026, 3, 4))

    posted = events_of(world.tenant, "invoicing.bill.posted")
    assert [(e.payload["request"], e.payload["lines"], e.payload["total"]) for e in posted] == [
        (r1.pk, 2, "20.00"),
        (r2.pk, 3, "15.00"),
    ]


def test_request_rolled_back_leaves_no_event(world):
    t = request_type(world.tenant, "MAPP", approval=True)
    acc = account(world.tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        invoice_request_create(actor=world.actor(), type=t, account=acc, cutoff_date=MON, today=MON)
        raise RuntimeError("forced rollback")
    assert not Event.objects.filter(tenant=world.tenant).exists()


def test_pending_approval_skips_approvers_whose_payer_grants_hide_the_request(world):
    from billing.models import Payer
    from core.models import TenantMembership
    from core.services import object_access_grant

    mine = Payer.objects.create(tenant=world.tenant, code="PMINE", name="Mine")
    other = Payer.objects.create(tenant=world.tenant, code="POTHER", name="Other")
    admin = world.users[S.Role.ADMIN]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=admin)
    # the admin sees only the other payer's accounts: this request is not theirs to approve
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=other)
    t = request_type(world.tenant, "MAPG", approval=True)
    acc = account(world.tenant, "A-MINE", payer=mine)
    invoice_request_create(
        actor=world.actor(S.Role.BILLING_MANAGER), type=t, account=acc, cutoff_date=MON, today=MON
    )
    event = the_event(world.tenant, "invoicing.request.pending_approval")
    assert recipients(event) == [world.users[S.Role.OWNER].pk]
