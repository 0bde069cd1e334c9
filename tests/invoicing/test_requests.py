"""Invoice requests: creation (eligibility, mode, approval), four-eyes, transitions, audit."""

from datetime import date, timedelta

import pytest

from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError, ScopeDenied, TransitionRefused
from core.models import AuditEntry
from invoicing.models import InvoiceRequest, MembershipCharacteristic, MembershipLog
from invoicing.services.processing import invoice_request_process, invoice_requests_process_due
from invoicing.services.requests import (
    invoice_request_approve,
    invoice_request_cancel,
    invoice_request_create,
    invoice_request_create_automatic,
    invoice_request_preview,
    invoice_request_reject,
    invoice_request_retry,
)
from tests.invoicing.builders import MON, account, charges, request_type

Status = InvoiceRequest.Status


def _actions(request) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="invoicing.InvoiceRequest", object_id=str(request.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_defer_at_the_charge_count_boundary(world):
    # given a MANUAL+REGULAR type deferring above 3 charges, and accounts with 3 and 4 charges
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, defer=3)
    at_limit, over = account(world.tenant, "A-1"), account(world.tenant, "A-2")
    charges(at_limit, 3)
    charges(over, 4)
    charges(at_limit, 2, day=MON + timedelta(days=1))  # after the cutoff: not counted

    # when requests are created with the cutoff on the Monday
    r1 = invoice_request_create(actor=ops, type=t, account=at_limit, cutoff_date=MON, today=MON)
    r2 = invoice_request_create(actor=ops, type=t, account=over, cutoff_date=MON, today=MON)

    # then 3 charges (not more than 3) stays online, 4 is deferred
    assert (r1.processing_mode, r2.processing_mode) == ("ONLINE", "DEFERRED")
    assert r1.status == r2.status == Status.PENDING


def test_trial_type_never_defers(world):
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, "MTRI", generation="TRIAL")
    acc = account(world.tenant)
    charges(acc, 50)
    r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    assert r.processing_mode == "ONLINE"


def test_manual_processing_date_skips_the_weekend_and_preview_creates_nothing(world):
    # given a type waiting 5 days: Monday + 5 is a Saturday
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, wait_days=5)
    acc = account(world.tenant)
    preview = invoice_request_preview(actor=ops, type=t, account=acc, business_date=MON)
    assert preview.processing_date == date(2026, 3, 9)  # the next Monday
    assert InvoiceRequest.objects.count() == 0
    r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    assert r.processing_date == date(2026, 3, 9)


def test_eligibility_refusal_names_characteristic_and_membership(world):
    # given an account whose only individual membership has INVRACTE = N
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant)
    acc = account(world.tenant, "A-9", eligible=False)
    with pytest.raises(DomainError) as err:
        invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    assert "INVRACTE" in err.value.message and "MB-A-9" in err.value.message
    assert err.value.code == "not_eligible"
    assert InvoiceRequest.objects.count() == 0


def test_eligibility_follows_the_effective_date_and_logs_each_creation(world):
    # given INVRACTE Y from January, switched to N from March 10
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant)
    acc = account(world.tenant)
    membership = acc.memberships.get()
    MembershipCharacteristic.objects.create(
        tenant=world.tenant,
        membership=membership,
        type="INVRACTE",
        value="N",
        effective_from=date(2026, 3, 10),
    )
    r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    log = MembershipLog.objects.get(membership=membership)
    assert log.request_id == r.pk and log.event == "INVOICE_REQUEST_CREATED"
    with pytest.raises(DomainError):
        invoice_request_create(
            actor=ops, type=t, account=acc, cutoff_date=MON, today=date(2026, 3, 10)
        )
    assert MembershipLog.objects.filter(membership=membership).count() == 1


def test_eligibility_uses_the_configured_characteristic_type(world):
    from invoicing.services.requests import feature_configuration

    config = feature_configuration(world.tenant)
    config.invoice_request_eligibility_char_type = "ELIGINV"
    config.save()
    ops = world.actor(S.Role.OPERATIONS)
    with pytest.raises(DomainError) as err:
        invoice_request_create(
            actor=ops,
            type=request_type(world.tenant),
            account=account(world.tenant),
            cutoff_date=MON,
            today=MON,
        )
    assert "ELIGINV" in err.value.message


def test_approval_four_eyes_and_audit(world):
    # given a request made by a billing manager on an approval type
    creator = world.actor(S.Role.BILLING_MANAGER)
    t = request_type(world.tenant, "MAPP", approval=True)
    acc = account(world.tenant)
    r = invoice_request_create(actor=creator, type=t, account=acc, cutoff_date=MON, today=MON)
    assert r.status == Status.PENDING_APPROVAL

    # when its creator approves it: refused, whatever scopes they hold
    with pytest.raises(ScopeDenied) as err:
        invoice_request_approve(actor=creator, request_id=r.pk, today=MON)
    assert "differ from the creator" in err.value.message
    # an operator lacks invoicing.request.approve
    with pytest.raises(ScopeDenied):
        invoice_request_approve(actor=world.actor(S.Role.OPERATIONS), request_id=r.pk, today=MON)
    # a superuser-like system actor with the creator as user is still the creator
    creator_as_system = Actor(tenant=world.tenant, user=creator.user, system=True)
    with pytest.raises(ScopeDenied):
        invoice_request_approve(actor=creator_as_system, request_id=r.pk, today=MON)
    r.refresh_from_db()
    assert r.status == Status.PENDING_APPROVAL

    # then the owner approves: PENDING, approved_by set, every step audited
    r = invoice_request_approve(actor=world.actor(S.Role.OWNER), request_id=r.pk, today=MON)
    r.refresh_from_db()
    assert r.status in (Status.PENDING, Status.PROCESSED)
    assert r.approved_by == world.users[S.Role.OWNER]
    assert _actions(r)[:3] == [
        "InvoiceRequest.create",
        "InvoiceRequest.approve",
        "InvoiceRequest.release",
    ]


def test_reject_needs_a_reason_and_is_audited(world):
    creator = world.actor(S.Role.OPERATIONS)
    approver = world.actor(S.Role.BILLING_MANAGER)
    t = request_type(world.tenant, "MAPP", approval=True)
    r = invoice_request_create(
        actor=creator, type=t, account=account(world.tenant), cutoff_date=MON, today=MON
    )
    with pytest.raises(DomainError) as err:
        invoice_request_reject(actor=approver, request_id=r.pk, reason="  ")
    assert err.value.code == "reason_required"
    r = invoice_request_reject(actor=approver, request_id=r.pk, reason="wrong cutoff")
    assert (r.status, r.decided_reason) == (Status.REJECTED, "wrong cutoff")
    entry = AuditEntry.objects.get(action="InvoiceRequest.reject", object_id=str(r.pk))
    assert entry.reason == "wrong cutoff" and entry.payload["to"] == "REJECTED"
    # a rejected request cannot be approved any more; the refusal names the state
    with pytest.raises(TransitionRefused) as refused:
        invoice_request_approve(actor=approver, request_id=r.pk, today=MON)
    assert "REJECTED" in refused.value.message


def test_cancel_from_pending_and_not_after_processing(world):
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, wait_days=3)
    acc = account(world.tenant)
    r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    r = invoice_request_cancel(actor=ops, request_id=r.pk, reason="duplicate")
    assert r.status == Status.CANCELLED
    assert "InvoiceRequest.cancel" in _actions(r)
    r2 = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    invoice_requests_process_due(tenant=world.tenant, business_date=date(2026, 3, 5))
    with pytest.raises(TransitionRefused):
        invoice_request_cancel(actor=ops, request_id=r2.pk)


def test_error_then_retry_then_processed(world, monkeypatch):
    # given a pending request whose processing fails
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, wait_days=1)
    acc = account(world.tenant)
    charges(acc, 2)
    r = invoice_request_create(actor=ops, type=t, account=acc, cutoff_date=MON, today=MON)
    from invoicing.services import processing

    real, real_chunk = processing._cut_bill, processing._cut_bills

    def broken(*args):
        raise RuntimeError("member Jane Doe 1970-01-01")  # personal data must not leak

    # the batch cuts chunks of requests, then one by one when a chunk fails: break both
    monkeypatch.setattr(processing, "_cut_bills", broken)
    monkeypatch.setattr(processing, "_cut_bill", broken)
    result = invoice_requests_process_due(tenant=world.tenant, business_date=date(2026, 3, 3))
    r.refresh_from_db()
    assert r.status == Status.ERROR
    assert "Jane" not in r.error and "RuntimeError" in r.error
    assert result == {"processed": [], "errors": [{"request": r.pk, "error": r.error}]}
    assert acc.charges.filter(bill__isnull=False).count() == 0  # nothing half-done

    # when retried and processed again
    monkeypatch.setattr(processing, "_cut_bill", real)
    monkeypatch.setattr(processing, "_cut_bills", real_chunk)
    r = invoice_request_retry(actor=ops, request_id=r.pk, today=MON)
    assert r.status == Status.PENDING
    invoice_requests_process_due(tenant=world.tenant, business_date=date(2026, 3, 3))
    r.refresh_from_db()
    assert r.status == Status.PROCESSED and r.bill.line_count == 2
    assert _actions(r) == [
        "InvoiceRequest.create",
        "InvoiceRequest.failed",
        "InvoiceRequest.retry",
        "InvoiceRequest.processed",
    ]


def test_automatic_request_dates_and_manual_only_rules(world):
    system = Actor.system_for(world.tenant)
    auto = request_type(world.tenant, "AREG", mode="AUTOMATIC", wait_days=2, threshold_days=3)
    manual = request_type(world.tenant, "MREG")
    acc = account(world.tenant, bill_cycle_day=5)
    # D = Mon Mar 2; P = Wed Mar 4; B = Mar 5; (B-P)=1 <= 3 -> next cycle Apr 5
    r = invoice_request_create_automatic(
        actor=system, type=auto, account=acc, business_date=MON, source_ref="event:1"
    )
    assert (r.processing_date, r.cutoff_date, r.bill_date, r.accounting_date) == (
        date(2026, 3, 4),
        date(2026, 4, 5),
        date(2026, 4, 5),
        date(2026, 3, 4),
    )
    assert r.origin == "AUTOMATIC" and r.status == Status.PENDING
    with pytest.raises(DomainError):
        invoice_request_create(actor=system, type=auto, account=acc, today=MON)
    with pytest.raises(DomainError):
        invoice_request_create_automatic(actor=system, type=manual, account=acc, business_date=MON)


def test_viewer_cannot_create_and_other_tenant_objects_are_not_found(world):
    t = request_type(world.tenant)
    acc = account(world.tenant)
    with pytest.raises(ScopeDenied):
        invoice_request_create(
            actor=world.actor(S.Role.VIEWER), type=t, account=acc, cutoff_date=MON, today=MON
        )
    outsider = Actor(tenant=world.other_tenant, user=world.outsider)
    with pytest.raises(DomainError) as err:
        invoice_request_create(actor=outsider, type=t, account=acc, cutoff_date=MON, today=MON)
    assert err.value.code == "not_found"


def test_process_ignores_requests_not_pending(world):
    ops = world.actor(S.Role.OPERATIONS)
    t = request_type(world.tenant, "MAPP", approval=True)
    r = invoice_request_create(
        actor=ops, type=t, account=account(world.tenant), cutoff_date=MON, today=MON
    )
    done = invoice_request_process(actor=Actor.system_for(world.tenant), request_id=r.pk)
    assert done.status == Status.PENDING_APPROVAL and done.bill_id is None


def test_reading_the_feature_configuration_writes_nothing(world):
    """A request form's preview reads the options while its save may run at once."""
    from invoicing.models import FeatureConfiguration
    from invoicing.services.requests import feature_configuration

    config = feature_configuration(world.tenant)
    assert config.pk is None
    assert not FeatureConfiguration.objects.filter(tenant=world.tenant).exists()
