"""Month close (issue 10): a payer's month closed on its reviewed authoritative run refuses new
production runs and regenerations; late facts still flow into the next open month; reopening
needs a reason and billing.run.trigger, and a second person when the tenant says so.

ACME bills MED 0-64 at 310.00 a month (prorated daily, a three-month retroactive window).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.models import BillingRun, Decision, MonthClose
from billing.selectors_close import month_is_closed
from billing.services.closes import month_close, month_reopen
from billing.services.exceptions import run_exception_resolve
from billing.services.runs import billing_run_regenerate, billing_run_trigger
from core import scopes as S
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied
from core.models import AuditEntry, OverrideRequest
from core.overrides import override_request_approve
from core.services import tenant_policy_update
from tests.billing.run_builders import (
    assertion,
    execute,
    late_assertion,
    member,
    month,
    months_decided,
    payer,
    run_month,
)

AUG, SEP, OCT = month(2026, 8), month(2026, 9), month(2026, 10)
D = Decimal
R = S.Role


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(R.OWNER)


@pytest.fixture
def manager(world):
    return world.actor(R.BILLING_MANAGER)


@pytest.fixture
def acme(world, owner):
    """ACME with three members covered since January."""
    p = payer(owner, "ACME")
    members = [member(world.tenant, f"M00{n}") for n in range(1, 4)]
    for m in members:
        assertion(p, m)
    return p, members


def _close(actor, m=AUG, **kwargs) -> MonthClose:
    return month_close(actor=actor, payer_code="ACME", month=m, **kwargs)


# --- closing -------------------------------------------------------------------------------


def test_close_records_the_reviewed_run_its_figures_and_an_audit_entry(world, manager, acme):
    # given August billed for three members (930.00)
    aug = run_month(manager, AUG, ["ACME"])

    # when the billing manager closes August for ACME
    close = _close(manager, note="reviewed with finance")

    # then the close names the run it reviewed and what it billed
    assert (close.status, close.month, close.run, close.closed_by) == (
        "CLOSED",
        AUG,
        aug,
        manager.user,
    )
    assert (close.members, close.amount, close.open_exceptions) == (3, D("930.00"), 0)
    assert month_is_closed(world.tenant.pk, acme[0].pk, AUG)
    # and the audit chain says who closed what, on which run
    entry = AuditEntry.objects.get(action="MONTH_CLOSED")
    assert (entry.actor, entry.object_id, entry.reason) == (
        manager.user,
        str(close.pk),
        "reviewed with finance",
    )
    assert entry.payload["run"] == aug.pk
    assert entry.payload["amount"] == "930.00"
    assert entry.payload["month"] == "2026-08-01"


def test_close_needs_a_completed_production_run(world, owner, acme):
    # given August only simulated
    run_month(owner, AUG, ["ACME"], mode=BillingRun.Mode.SIMULATION)

    # when August is closed, then it is refused: nothing authoritative to review
    with pytest.raises(Conflict) as refused:
        _close(owner)
    assert refused.value.message == (
        "2026-08 has no completed production run for payer ACME; run it and review it before "
        "closing the month."
    )
    assert not MonthClose.objects.exists()


def test_close_refused_while_a_regeneration_is_queued(world, owner, acme):
    # given August billed and its regeneration queued
    aug = run_month(owner, AUG, ["ACME"])
    regen = billing_run_regenerate(actor=owner, run_id=aug.pk, reason="amended", enqueue=False)

    # when August is closed, then it waits for the regeneration
    with pytest.raises(Conflict) as refused:
        _close(owner)
    assert f"Production run #{regen.pk} for 2026-08 and payer ACME is queued" in (
        refused.value.message
    )
    assert not MonthClose.objects.exists()


def test_close_from_a_run_that_is_no_longer_authoritative_is_refused(world, owner, acme):
    # given August regenerated: run 1 is superseded by run 2
    aug1 = run_month(owner, AUG, ["ACME"])
    aug2 = execute(billing_run_regenerate(actor=owner, run_id=aug1.pk, reason="x", enqueue=False))

    # when someone closes from the old run's page, then it names the run to review
    with pytest.raises(Conflict) as refused:
        _close(owner, run_id=aug1.pk)
    assert f"run #{aug2.pk} is" in refused.value.message
    assert _close(owner, run_id=aug2.pk).run == aug2


def test_close_twice_is_refused(world, owner, acme):
    run_month(owner, AUG, ["ACME"])
    first = _close(owner)
    with pytest.raises(Conflict) as refused:
        _close(owner)
    assert refused.value.code == "month_closed"
    assert f"close #{first.pk}" in refused.value.message
    assert MonthClose.objects.count() == 1


def test_close_with_open_exceptions_needs_the_count_confirmed_and_a_note(world, owner, acme):
    # given August billed with one open exception (M004's benefit combination is unknown)
    p, _ = acme
    m4 = member(world.tenant, "M004")
    assertion(p, m4, suffix="X")
    aug = run_month(owner, AUG, ["ACME"])
    assert aug.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS

    # when it is closed without confirming, or confirming a stale count
    for confirmed in (None, 2):
        with pytest.raises(DomainError) as refused:
            _close(owner, note="month end", confirm_open_exceptions=confirmed)
        # then the refusal names the count
        assert refused.value.code == "confirm_open_exceptions"
        assert refused.value.message == (
            f"confirm_open_exceptions: run #{aug.pk} still has 1 open exception for payer ACME; "
            "resolve them, or confirm closing with 1 open."
        )
    # and a confirmation without a note asks why
    with pytest.raises(DomainError) as refused:
        _close(owner, confirm_open_exceptions=1)
    assert refused.value.message == "note: say why 2026-08 closes with 1 open exception."

    # when confirmed with a note, then the close records the count
    close = _close(owner, note="payer confirms the suffix later", confirm_open_exceptions=1)
    assert close.open_exceptions == 1
    assert AuditEntry.objects.get(action="MONTH_CLOSED").payload["open_exceptions"] == 1

    # and resolving the exception afterwards is still possible (exceptions block nothing)
    exc = aug.exceptions.get()
    run_exception_resolve(actor=owner, exception_id=exc.pk, resolution="suffix fixed")
    assert MonthClose.objects.get().status == "CLOSED"


def test_close_refused_to_operations_and_viewer(world, owner, acme):
    run_month(owner, AUG, ["ACME"])
    for role in (R.OPERATIONS, R.VIEWER):
        with pytest.raises(ScopeDenied):
            _close(world.actor(role))
    assert not MonthClose.objects.exists()


def test_close_of_an_unknown_payer_names_the_field(world, owner):
    with pytest.raises(NotFound) as refused:
        month_close(actor=owner, payer_code="NOPE", month=AUG)
    assert refused.value.message == "payer: no payer with code 'NOPE'."


# --- a closed month takes no new production run ----------------------------------------------


def test_closed_month_refuses_regeneration_and_production_triggers(world, owner, acme):
    # given August billed and closed
    aug = run_month(owner, AUG, ["ACME"])
    close = _close(owner)
    expected = (
        f"2026-08 is closed for payer ACME (close #{close.pk}, by alpha-owner on "
        f"{close.closed_at:%Y-%m-%d}); no production run or regeneration until the month is "
        "reopened."
    )

    # when August is regenerated, then it is refused naming payer, month and the close
    with pytest.raises(Conflict) as refused:
        billing_run_regenerate(actor=owner, run_id=aug.pk, reason="late file", enqueue=False)
    assert (refused.value.code, refused.value.message) == ("month_closed", expected)
    assert refused.value.http_status == 409

    # when a production run of August is triggered (for ACME, or all payers), then likewise
    for payers in (["ACME"], "all"):
        with pytest.raises(Conflict) as refused:
            billing_run_trigger(actor=owner, month=AUG, payers=payers, enqueue=False)
        assert refused.value.message == expected

    # then no run was created, and August's run stays authoritative
    assert BillingRun.objects.filter(month=AUG).count() == 1
    aug.refresh_from_db()
    assert aug.status == BillingRun.Status.COMPLETED

    # but a simulation (nothing authoritative) may still look at August
    sim = run_month(owner, AUG, ["ACME"], mode=BillingRun.Mode.SIMULATION)
    assert sim.status == BillingRun.Status.COMPLETED


def test_closing_one_payer_leaves_the_other_payers_month_open(world, owner, acme):
    # given ACME and BETA billed together for August, and only ACME's August closed
    beta = payer(owner, "BETA")
    assertion(beta, member(world.tenant, "B001"))
    aug = run_month(owner, AUG, ["ACME", "BETA"])
    close = _close(owner)
    assert (close.members, close.amount) == (3, D("930.00"))

    # then regenerating the joint run is refused for ACME ...
    with pytest.raises(Conflict) as refused:
        billing_run_regenerate(actor=owner, run_id=aug.pk, reason="late file", enqueue=False)
    assert "closed for payer ACME" in refused.value.message
    # ... and BETA's August may still be closed on its own
    assert month_close(actor=owner, payer_code="BETA", month=AUG).amount == D("310.00")


# --- late facts for a closed month -----------------------------------------------------------


def test_late_fact_for_a_closed_month_flows_into_the_next_open_month(world, owner, acme):
    # given August billed (310.00 for M001) and closed
    p, (m1, _, _) = acme
    aug = run_month(owner, AUG, ["ACME"])
    close = _close(owner)

    # when a file arrives saying M001 ended on July 31, and September is billed
    late_assertion(p, m1, status="TERMINATED", termination=date(2026, 7, 31))
    sep = run_month(owner, SEP, ["ACME"])

    # then September's run carries August's refund ...
    assert months_decided(sep, m1) == {
        AUG: ("NOT_BILLED_RETROACTIVE", D("-310.00")),
        SEP: ("NOT_BILLED_TERMINATED", D("0.00")),
    }
    # ... and August was not reopened: still closed, its run untouched and authoritative
    close.refresh_from_db()
    aug.refresh_from_db()
    assert close.status == MonthClose.Status.CLOSED
    assert aug.status == BillingRun.Status.COMPLETED
    assert Decision.objects.get(run=aug, member=m1).amount == D("310.00")
    assert BillingRun.objects.filter(month=AUG, mode="PRODUCTION").count() == 1
    assert not AuditEntry.objects.filter(action="MONTH_REOPENED").exists()


def test_late_fact_when_the_next_month_is_closed_too_is_refused_there(world, owner, acme):
    # given August and September billed and both closed
    p, (m1, _, _) = acme
    run_month(owner, AUG, ["ACME"])
    sep = run_month(owner, SEP, ["ACME"])
    _close(owner, AUG)
    _close(owner, SEP)

    # when a late termination arrives, September cannot carry it (closed) ...
    late_assertion(p, m1, status="TERMINATED", termination=date(2026, 7, 31))
    with pytest.raises(Conflict) as refused:
        billing_run_regenerate(actor=owner, run_id=sep.pk, reason="late file", enqueue=False)
    assert "2026-09 is closed for payer ACME" in refused.value.message

    # ... so October, the next open month, carries both refunds
    octo = run_month(owner, OCT, ["ACME"])
    assert months_decided(octo, m1) == {
        AUG: ("NOT_BILLED_RETROACTIVE", D("-310.00")),
        SEP: ("NOT_BILLED_RETROACTIVE", D("-310.00")),
        OCT: ("NOT_BILLED_TERMINATED", D("0.00")),
    }
    assert MonthClose.objects.filter(status="CLOSED").count() == 2


# --- reopening -------------------------------------------------------------------------------


def test_reopen_needs_a_reason_and_the_trigger_scope(world, owner, manager, acme):
    # given August billed and closed
    aug = run_month(owner, AUG, ["ACME"])
    close = _close(owner)

    # when operations or a viewer reopen it, then that is refused
    for role in (R.OPERATIONS, R.VIEWER):
        with pytest.raises(ScopeDenied):
            month_reopen(actor=world.actor(role), close_id=close.pk, reason="late file")
    # and without a reason, too
    with pytest.raises(DomainError) as refused:
        month_reopen(actor=manager, close_id=close.pk, reason="  ")
    assert refused.value.message == "reason: say why the month is reopened."
    close.refresh_from_db()
    assert close.status == MonthClose.Status.CLOSED

    # when the billing manager reopens it with a reason
    outcome = month_reopen(actor=manager, close_id=close.pk, reason="payer sent a correction")

    # then it is reopened at once and audited with the reason
    assert outcome.executed
    close.refresh_from_db()
    assert (close.status, close.reopened_by, close.reopen_reason) == (
        "REOPENED",
        manager.user,
        "payer sent a correction",
    )
    entry = AuditEntry.objects.get(action="MONTH_REOPENED")
    assert (entry.actor, entry.reason, entry.payload["from"], entry.payload["to"]) == (
        manager.user,
        "payer sent a correction",
        "CLOSED",
        "REOPENED",
    )

    # and August can be regenerated, then closed again: a new close, the old one kept
    aug2 = execute(
        billing_run_regenerate(actor=manager, run_id=aug.pk, reason="correction", enqueue=False)
    )
    again = _close(manager)
    assert again.pk != close.pk and again.run == aug2
    assert list(MonthClose.objects.order_by("id").values_list("status", flat=True)) == [
        "REOPENED",
        "CLOSED",
    ]

    # and reopening the old close again is refused: it is history
    with pytest.raises(Conflict):
        month_reopen(actor=manager, close_id=close.pk, reason="again")


def test_reopen_under_dual_control_waits_for_a_second_person(world, owner, manager, acme):
    # given a tenant that lists billing.run.trigger under dual control, and August closed
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_RUN_TRIGGER])
    aug = run_month(owner, AUG, ["ACME"])
    close = _close(manager)

    # when the billing manager asks to reopen
    filed = month_reopen(actor=manager, close_id=close.pk, reason="payer sent a correction")

    # then it waits, and August stays closed
    assert not filed.executed
    assert (filed.request.status, filed.request.scope) == ("PENDING", S.BILLING_RUN_TRIGGER)
    assert filed.request.summary == f"Reopen 2026-08 for payer ACME (month close #{close.pk})"
    close.refresh_from_db()
    assert close.status == "CLOSED"
    with pytest.raises(Conflict):
        billing_run_regenerate(actor=manager, run_id=aug.pk, reason="x", enqueue=False)
    # and a second request for the same close is refused while the first waits
    with pytest.raises(Conflict) as refused:
        month_reopen(actor=owner, close_id=close.pk, reason="also")
    assert f"override request #{filed.request.pk}" in refused.value.message

    # when the requester approves it, then that is refused
    with pytest.raises(ScopeDenied):
        override_request_approve(actor=manager, request_id=filed.request.pk)

    # when an admin approves it, then the month is reopened
    admin = world.actor(R.ADMIN)
    override_request_approve(actor=admin, request_id=filed.request.pk, note="checked")
    close.refresh_from_db()
    assert (close.status, close.reopened_by, close.reopen_approved_by) == (
        "REOPENED",
        manager.user,
        admin.user,
    )
    entry = AuditEntry.objects.get(action="MONTH_REOPENED")
    assert (entry.payload["requested_by"], entry.payload["approved_by"]) == (
        "alpha-billing_manager",
        "alpha-admin",
    )
    assert OverrideRequest.objects.get().status == "APPROVED"
    regen = billing_run_regenerate(actor=manager, run_id=aug.pk, reason="fix", enqueue=False)
    assert regen.status == BillingRun.Status.QUEUED


def test_dual_control_for_reopening_leaves_triggers_single_person(world, owner, acme):
    # given billing.run.trigger under dual control
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_RUN_TRIGGER])

    # when a run is triggered, then it is queued at once, with no approval request
    run = billing_run_trigger(actor=owner, month=AUG, payers=["ACME"], enqueue=False)
    assert run.status == BillingRun.Status.QUEUED
    assert not OverrideRequest.objects.exists()
