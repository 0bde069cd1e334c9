"""Charges from billing runs (issue 12, item 9): a completed production run's billed and
retroactive decisions become charges on the account its payer is linked to, exactly once.

ACME bills MED 0-64 at 310.00 a month; its members are covered since January 2026.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.models import BillingRun, Decision
from billing.services import finalize
from billing.services.chunks import billing_run_process_chunk
from billing.services.finalize import billing_run_completed_replay, billing_run_finalize
from billing.services.runs import billing_run_regenerate, billing_run_start, billing_run_trigger
from core import scopes as S
from core.models import AuditEntry
from invoicing.models import BillableCharge
from invoicing.services.charges import charges_from_billing_run
from tests.billing.run_builders import (
    assertion,
    execute,
    late_assertion,
    member,
    month,
    payer,
    run_month,
)
from tests.invoicing.builders import account

AUG, SEP = month(2026, 8), month(2026, 9)
D = Decimal


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def acme(world, owner):
    """ACME with three members, invoiced on account A-100."""
    p = payer(owner, "ACME")
    members = [member(world.tenant, f"M00{n}") for n in range(1, 4)]
    for m in members:
        assertion(p, m)
    return p, members, account(world.tenant, "A-100", payer=p)


def _charges(acc) -> list[tuple[str, date, Decimal]]:
    return sorted(
        BillableCharge.objects.filter(account=acc).values_list(
            "source_ref", "charge_date", "amount"
        )
    )


def _refs(run, **filters) -> list[str]:
    return sorted(
        f"decision:{pk}"
        for pk in Decision.objects.filter(run=run, **filters).values_list("id", flat=True)
    )


def test_completed_run_makes_one_charge_per_billed_decision(owner, acme):
    # when September's production run completes
    _, _, acc = acme
    run = run_month(owner, SEP, ["ACME"])

    # then each of the three billed decisions is one charge on A-100, dated the run's month
    charges = list(BillableCharge.objects.filter(account=acc).order_by("source_ref"))
    assert _charges(acc) == [(ref, SEP, D("310.00")) for ref in _refs(run)]
    assert {c.source for c in charges} == {BillableCharge.Source.BILLING_RUN}
    assert {c.bill_id for c in charges} == {None}
    # and the description names the run, its month and the payer, never the member
    assert charges[0].description == (
        f"Billing run {run.pk} v1 (2026-09): ACME BILLED_ACTIVE for 2026-09"
    )
    assert not any("M00" in c.description for c in charges)
    # and one audit entry tells how many were made
    entry = AuditEntry.objects.get(action="BillableCharge.from_run", object_id=str(run.pk))
    assert entry.payload["charges"] == 3


def test_retried_completion_charges_each_decision_once(owner, acme, monkeypatch):
    # given a run whose completion dies after the charges were written, before its commit
    _, _, acc = acme
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    for chunk_id in billing_run_start(run_id=run.pk):
        billing_run_process_chunk(chunk_id=chunk_id)
    real = finalize.run_completed_notify

    def notify_then_die(r):
        real(r)
        assert BillableCharge.objects.filter(account=acc).count() == 3
        raise RuntimeError("worker lost")

    monkeypatch.setattr(finalize, "run_completed_notify", notify_then_die)
    with pytest.raises(RuntimeError):
        billing_run_finalize(run_id=run.pk, inline=True)
    assert BillableCharge.objects.filter(account=acc).count() == 0  # rolled back with the run

    # when the completion is retried, delivered once more, and replayed by an operator
    monkeypatch.undo()
    billing_run_finalize(run_id=run.pk, inline=True)
    billing_run_finalize(run_id=run.pk, inline=True)
    billing_run_completed_replay(run_id=run.pk)
    assert charges_from_billing_run(BillingRun.objects.get(pk=run.pk)) == {
        "charges": 0,
        "reversals": 0,
    }

    # then the run is complete and each decision is one charge
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert _charges(acc) == [(ref, SEP, D("310.00")) for ref in _refs(run)]
    assert AuditEntry.objects.filter(action="BillableCharge.from_run").count() == 1


def test_completion_after_a_partial_earlier_write_adds_only_the_missing(owner, acme):
    # given a run whose charges were written in part (one deleted to simulate it)
    _, _, acc = acme
    run = run_month(owner, SEP, ["ACME"])
    BillableCharge.objects.filter(account=acc).order_by("id").first().delete()

    # when the callback runs again
    assert charges_from_billing_run(run) == {"charges": 1, "reversals": 0}

    # then every decision has its one charge again
    assert _charges(acc) == [(ref, SEP, D("310.00")) for ref in _refs(run)]


def test_not_billed_retroactive_is_a_negative_charge(owner, acme):
    # given August billed for three members
    p, (m1, _, _), acc = acme
    run_month(owner, AUG, ["ACME"])

    # when M001 turns out to have ended in July and September's run takes August back
    late_assertion(p, m1, status="TERMINATED", termination=date(2026, 7, 31))
    sep = run_month(owner, SEP, ["ACME"])

    # then September's charges are M002's and M003's 310.00 and the -310.00 for August,
    # all dated September (the run that decided them)
    retro = Decision.objects.get(run=sep, member=m1, month=AUG)
    assert retro.decision_class == "NOT_BILLED_RETROACTIVE"
    charge = BillableCharge.objects.get(source_ref=f"decision:{retro.pk}")
    assert (charge.account, charge.amount, charge.charge_date) == (acc, D("-310.00"), SEP)
    assert "NOT_BILLED_RETROACTIVE for 2026-08" in charge.description
    sep_charges = BillableCharge.objects.filter(source_ref__in=_refs(sep))
    assert sorted(sep_charges.values_list("amount", flat=True)) == [
        D("-310.00"),
        D("310.00"),
        D("310.00"),
    ]
    # and the September decision that bills nothing (terminated) is no charge
    assert sep_charges.count() == 3
    # and the account's charges add up to what was billed: 3 x 310 + 2 x 310 - 310
    assert sum(BillableCharge.objects.filter(account=acc).values_list("amount", flat=True)) == D(
        "1240.00"
    )


def test_payer_not_linked_to_an_account_makes_no_charges(world, owner, acme):
    # given BETA, which no account invoices, next to ACME
    beta = payer(owner, "BETA")
    assertion(beta, member(world.tenant, "M900"))

    # when both are run
    run = run_month(owner, SEP, ["ACME", "BETA"])

    # then only ACME's decisions became charges
    assert Decision.objects.filter(run=run, payer=beta, billable=True).count() == 1
    assert BillableCharge.objects.count() == 3
    assert set(BillableCharge.objects.values_list("account__number", flat=True)) == {"A-100"}


def test_simulation_run_makes_no_charges(owner, acme):
    run_month(owner, SEP, ["ACME"], mode=BillingRun.Mode.SIMULATION)
    assert BillableCharge.objects.count() == 0


def test_regeneration_reverses_the_replaced_runs_charges(owner, acme):
    # given September's charges from its first run
    _, _, acc = acme
    sep1 = run_month(owner, SEP, ["ACME"])

    # when September is regenerated (and the completion callback runs once more)
    sep2 = execute(
        billing_run_regenerate(actor=owner, run_id=sep1.pk, reason="re-check", enqueue=False)
    )
    charges_from_billing_run(sep2)

    # then the first run's three charges are each reversed once, and the new run's added
    reversals = BillableCharge.objects.filter(source_ref__startswith="reversal:")
    assert sorted(reversals.values_list("source_ref", "amount")) == [
        (f"reversal:{ref}", D("-310.00")) for ref in _refs(sep1)
    ]
    assert BillableCharge.objects.filter(source_ref__in=_refs(sep2)).count() == 3
    # and the account owes September once
    assert sum(BillableCharge.objects.filter(account=acc).values_list("amount", flat=True)) == D(
        "930.00"
    )
