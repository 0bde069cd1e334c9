"""The retroactive window (SPEC 4): late facts reopen months that already have an authoritative
production run, by writing the difference from what was billed.

ACME bills MED 0-64 at 310.00 a month, prorated daily (August: 10.00 a day), with a three-month
window. Facts from `assertion` arrived long ago; `late_assertion` facts arrive after every run
executed so far.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from billing.models import BillingRun, Decision, RunException
from billing.services.chunks import billing_run_process_chunk
from billing.services.runs import (
    billing_run_cancel,
    billing_run_regenerate,
    billing_run_start,
    billing_run_trigger,
)
from core import scopes as S
from tests.billing.run_builders import (
    assertion,
    decision,
    execute,
    late_assertion,
    member,
    month,
    months_decided,
    payer,
    run_month,
    service,
)

JUL, AUG, SEP, OCT = month(2026, 7), month(2026, 8), month(2026, 9), month(2026, 10)
D = Decimal
BEFORE_AUG = date(2026, 7, 31)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Rosters are files: keep them in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def acme(world, owner):
    """ACME with three members covered since January."""
    p = payer(owner, "ACME")
    members = [member(world.tenant, f"M00{n}") for n in range(1, 4)]
    for m in members:
        assertion(p, m)
    return p, members


def billed_for(m, billing_month) -> Decimal:
    """What authoritative runs billed a member for a month: own decision plus retro deltas."""
    authoritative = Decision.objects.filter(
        member=m,
        month=billing_month,
        run__mode=BillingRun.Mode.PRODUCTION,
        run__status__in=BillingRun.DONE,
    )
    base = authoritative.filter(run__month=billing_month, billable=True)
    retro = authoritative.filter(
        decision_class__in=["BILLED_RETROACTIVE", "NOT_BILLED_RETROACTIVE"]
    ).exclude(run__month=billing_month)
    total = D("0.00")
    for qs in (base, retro):
        total += qs.aggregate(s=Sum("amount"))["s"] or D("0.00")
    return total


# --- late evidence reopens the month ---------------------------------------------------------


def test_retro_late_termination_refunds_the_billed_month(owner, acme):
    # given August billed for three members
    p, (m1, m2, m3) = acme
    aug = run_month(owner, AUG, ["ACME"])
    assert months_decided(aug, m1) == {AUG: ("BILLED_ACTIVE", D("310.00"))}

    # when a file arrives saying M001 ended on July 31, and M003's line is sent again unchanged
    late_assertion(p, m1, status="TERMINATED", termination=BEFORE_AUG)
    late_assertion(p, m3)
    sep = run_month(owner, SEP, ["ACME"])

    # then September's run takes back August's 310.00 next to its own decision
    assert months_decided(sep, m1) == {
        AUG: ("NOT_BILLED_RETROACTIVE", D("-310.00")),
        SEP: ("NOT_BILLED_TERMINATED", D("0.00")),
    }
    retro = decision(sep, m1, AUG)
    assert (retro.billable, retro.billable_days) == (False, 0)
    assert retro.rule_version_id == decision(aug, m1).rule_version_id
    assert retro.inputs["retro"] == {
        "evaluated_class": "NOT_BILLED_TERMINATED",
        "new_amount": "0.00",
        "billed_before": "310.00",
        "delta": "-310.00",
    }
    # and members whose August did not change get nothing for August (M003: delta 0)
    assert months_decided(sep, m2) == {SEP: ("BILLED_ACTIVE", D("310.00"))}
    assert months_decided(sep, m3) == {SEP: ("BILLED_ACTIVE", D("310.00"))}
    assert sep.summary["total_charge"] == "310.00"
    assert sep.summary["billable_members"] == 2
    assert sep.summary["by_class"]["NOT_BILLED_RETROACTIVE"] == {"count": 1, "amount": "-310.00"}
    assert billed_for(m1, AUG) == D("0.00")


def test_retro_late_mid_month_termination_still_billable_is_billed_retroactive(owner, acme):
    # given August billed in full for M001
    p, (m1, _, _) = acme
    run_month(owner, AUG, ["ACME"])

    # when a file arrives saying M001 ended on August 15
    late_assertion(p, m1, status="TERMINATED", termination=date(2026, 8, 15))
    sep = run_month(owner, SEP, ["ACME"])

    # then August is still billable (15 days, 150.00): BILLED_RETROACTIVE for -160.00
    assert months_decided(sep, m1) == {
        AUG: ("BILLED_RETROACTIVE", D("-160.00")),
        SEP: ("NOT_BILLED_TERMINATED", D("0.00")),
    }
    retro = decision(sep, m1, AUG)
    assert (retro.billable, retro.billable_days, retro.tier) == (True, 15, "MED 0-64")
    assert retro.inputs["retro"]["evaluated_class"] == "BILLED_PARTIAL_TERM"
    assert billed_for(m1, AUG) == D("150.00")


def test_retro_late_enrolment_bills_the_month(world, owner, acme):
    # given August billed while M004 and M005 had no assertion and M006 was pending
    p, _ = acme
    m4, m5, m6 = (member(world.tenant, f"M00{n}") for n in (4, 5, 6))
    assertion(p, m6, status="PENDING")
    aug = run_month(owner, AUG, ["ACME"])
    assert not Decision.objects.filter(run=aug, member__in=[m4, m5]).exists()
    assert decision(aug, m6).amount == D("0.00")

    # when coverage arrives: M004 from August 1, M005 from August 11, M006 now active
    late_assertion(p, m4, effective=AUG)
    late_assertion(p, m5, effective=date(2026, 8, 11))
    late_assertion(p, m6)
    sep = run_month(owner, SEP, ["ACME"])

    # then a member with no August decision was billed 0: the whole new amount is the delta
    assert months_decided(sep, m4) == {
        AUG: ("BILLED_RETROACTIVE", D("310.00")),
        SEP: ("BILLED_ACTIVE", D("310.00")),
    }
    assert months_decided(sep, m5) == {
        AUG: ("BILLED_RETROACTIVE", D("210.00")),
        SEP: ("BILLED_ACTIVE", D("310.00")),
    }
    assert months_decided(sep, m6) == {
        AUG: ("BILLED_RETROACTIVE", D("310.00")),
        SEP: ("BILLED_ACTIVE", D("310.00")),
    }
    assert decision(sep, m5, AUG).billable_days == 21
    assert decision(sep, m4, AUG).inputs["retro"]["billed_before"] == "0.00"
    assert sep.summary["by_class"]["BILLED_RETROACTIVE"] == {"count": 3, "amount": "830.00"}


def test_retro_late_service_delivery_bills_the_month(world, owner):
    # given a payer that requires a qualifying service, and August unbilled for lack of one
    p = payer(owner, "ACME", requires_service_delivery=True, qualifying_service_codes=["99213"])
    m1 = member(world.tenant, "M001")
    assertion(p, m1)
    aug = run_month(owner, AUG, ["ACME"])
    assert months_decided(aug, m1) == {AUG: ("NOT_BILLED_NO_SERVICE", D("0.00"))}

    # when a service delivered on August 20 is reported late
    service(p, m1, date(2026, 8, 20), received_at=timezone.now())
    sep = run_month(owner, SEP, ["ACME"])

    # then August becomes billable retroactively
    assert months_decided(sep, m1) == {
        AUG: ("BILLED_RETROACTIVE", D("310.00")),
        SEP: ("NOT_BILLED_NO_SERVICE", D("0.00")),
    }


# --- a second look at the same facts writes nothing ------------------------------------------


def test_retro_next_run_finds_delta_zero(world, owner, acme):
    # given August billed, late facts, and September's run that wrote August's deltas
    p, (m1, m2, _) = acme
    m4 = member(world.tenant, "M004")
    run_month(owner, AUG, ["ACME"])
    late_assertion(p, m1, status="TERMINATED", termination=BEFORE_AUG)
    late_assertion(p, m4, effective=AUG)
    sep = run_month(owner, SEP, ["ACME"])
    assert Decision.objects.filter(run=sep, month=AUG).count() == 2

    # when October is billed on the same facts
    octo = run_month(owner, OCT, ["ACME"])

    # then nothing is written again for August (or September)
    assert set(Decision.objects.filter(run=octo).values_list("month", flat=True)) == {OCT}
    assert months_decided(octo, m1) == {OCT: ("NOT_BILLED_TERMINATED", D("0.00"))}
    assert billed_for(m1, AUG) == D("0.00")
    assert billed_for(m4, AUG) == D("310.00")
    assert billed_for(m2, AUG) == D("310.00")


def test_retro_regeneration_neither_doubles_nor_loses_the_delta(owner, acme):
    # given September's run took back M001's August
    p, (m1, _, _) = acme
    run_month(owner, AUG, ["ACME"])
    late_assertion(p, m1, status="TERMINATED", termination=BEFORE_AUG)
    sep1 = run_month(owner, SEP, ["ACME"])
    assert decision(sep1, m1, AUG).amount == D("-310.00")

    # when September is regenerated on the same facts
    sep2 = execute(
        billing_run_regenerate(actor=owner, run_id=sep1.pk, reason="re-check", enqueue=False)
    )

    # then the regeneration writes the same delta (the run it replaces is not counted) ...
    assert months_decided(sep2, m1) == {
        AUG: ("NOT_BILLED_RETROACTIVE", D("-310.00")),
        SEP: ("NOT_BILLED_TERMINATED", D("0.00")),
    }
    assert decision(sep2, m1, AUG).inputs["retro"]["billed_before"] == "310.00"
    # ... and once it completes the replaced run is SUPERSEDED: August is refunded once
    sep1.refresh_from_db()
    assert sep1.status == BillingRun.Status.SUPERSEDED
    assert billed_for(m1, AUG) == D("0.00")

    # when September is regenerated again, and October billed
    sep3 = execute(
        billing_run_regenerate(actor=owner, run_id=sep2.pk, reason="once more", enqueue=False)
    )
    octo = run_month(owner, OCT, ["ACME"])

    # then each regeneration carries the single delta, and October adds nothing for August
    assert decision(sep3, m1, AUG).amount == D("-310.00")
    assert billed_for(m1, AUG) == D("0.00")
    assert not Decision.objects.filter(run=octo, month=AUG).exists()


def test_retro_billed_amount_counts_deltas_only_after_the_latest_run(owner, acme):
    # given August billed, then ended before August, refunded by September's run,
    # then August regenerated (now 0.00 in its own run)
    p, (m1, _, _) = acme
    aug1 = run_month(owner, AUG, ["ACME"])
    late_assertion(p, m1, status="TERMINATED", termination=BEFORE_AUG)
    run_month(owner, SEP, ["ACME"])
    aug2 = execute(
        billing_run_regenerate(actor=owner, run_id=aug1.pk, reason="amended", enqueue=False)
    )
    assert months_decided(aug2, m1) == {AUG: ("NOT_BILLED_TERMINATED", D("0.00"))}

    # when a manual correction says M001 was covered all along
    late_assertion(p, m1, source_kind="MANUAL")
    octo = run_month(owner, OCT, ["ACME"])

    # then August is billed 310.00 again: September's refund predates August's latest run
    # and is not counted (counting it would give 620.00)
    assert months_decided(octo, m1) == {
        AUG: ("BILLED_RETROACTIVE", D("310.00")),
        SEP: ("BILLED_RETROACTIVE", D("310.00")),
        OCT: ("BILLED_ACTIVE", D("310.00")),
    }
    assert D(decision(octo, m1, AUG).inputs["retro"]["billed_before"]) == 0


def test_retro_deltas_of_simulations_and_cancelled_runs_do_not_count(owner, acme):
    # given August billed, then ended before August
    p, (m1, _, _) = acme
    run_month(owner, AUG, ["ACME"])
    late_assertion(p, m1, status="TERMINATED", termination=BEFORE_AUG)
    # and September simulated, and a production September cancelled after writing its decisions
    sim = run_month(owner, SEP, ["ACME"], mode=BillingRun.Mode.SIMULATION)
    assert decision(sim, m1, AUG).amount == D("-310.00")
    cancelled = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    for chunk_id in billing_run_start(run_id=cancelled.pk):
        billing_run_process_chunk(chunk_id=chunk_id)
    assert decision(cancelled, m1, AUG).amount == D("-310.00")
    billing_run_cancel(actor=owner, run_id=cancelled.pk, reason="stopped")

    # when September is billed in production
    sep = run_month(owner, SEP, ["ACME"])

    # then August's refund is written, as if neither had happened
    assert decision(sep, m1, AUG).amount == D("-310.00")
    assert billed_for(m1, AUG) == D("0.00")


# --- what is not reopened --------------------------------------------------------------------


def test_retro_month_never_run_is_not_reopened(owner, acme):
    # given September billed but August never run
    p, (m1, _, _) = acme
    run_month(owner, SEP, ["ACME"])

    # when a file says M001 ended on July 31
    late_assertion(p, m1, status="TERMINATED", termination=BEFORE_AUG)
    octo = run_month(owner, OCT, ["ACME"])

    # then September is refunded, August is left alone (run it)
    assert months_decided(octo, m1) == {
        SEP: ("NOT_BILLED_RETROACTIVE", D("-310.00")),
        OCT: ("NOT_BILLED_TERMINATED", D("0.00")),
    }
    assert not RunException.objects.filter(run=octo).exists()


def test_retro_month_outside_the_window_raises_an_exception(world, owner):
    # given a one-month window, August and September billed for two members
    p = payer(owner, "ACME", retro_window_months=1)
    m1, m2 = member(world.tenant, "M001"), member(world.tenant, "M002")
    assertion(p, m1)
    assertion(p, m2)
    run_month(owner, AUG, ["ACME"])
    run_month(owner, SEP, ["ACME"])

    # when a file says M001 ended on July 31
    late_assertion(p, m1, status="TERMINATED", termination=BEFORE_AUG)
    octo = run_month(owner, OCT, ["ACME"])

    # then September (inside the window) is refunded, August (outside) only raises an exception
    assert months_decided(octo, m1) == {
        SEP: ("NOT_BILLED_RETROACTIVE", D("-310.00")),
        OCT: ("NOT_BILLED_TERMINATED", D("0.00")),
    }
    assert months_decided(octo, m2) == {OCT: ("BILLED_ACTIVE", D("310.00"))}
    assert octo.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS
    exc = RunException.objects.get(run=octo)
    assert (exc.code, exc.member, exc.month, exc.status) == (
        "RETRO_OUTSIDE_WINDOW",
        m1,
        AUG,
        "OPEN",
    )
    assert "-310.00" in exc.message
    assert "1-month retroactive window" in exc.message
    assert billed_for(m1, AUG) == D("310.00")


def test_retro_window_zero_reopens_nothing(world, owner):
    # given no retroactive window and August billed
    p = payer(owner, "ACME", retro_window_months=0)
    m1 = member(world.tenant, "M001")
    assertion(p, m1)
    run_month(owner, AUG, ["ACME"])

    # when a file says M001 ended on July 31
    late_assertion(p, m1, status="TERMINATED", termination=BEFORE_AUG)
    sep = run_month(owner, SEP, ["ACME"])

    # then August is not changed; the late fact is reported
    assert months_decided(sep, m1) == {SEP: ("NOT_BILLED_TERMINATED", D("0.00"))}
    assert list(RunException.objects.filter(run=sep).values_list("code", "month")) == [
        ("RETRO_OUTSIDE_WINDOW", AUG)
    ]
