"""Billing runs (SPEC 4, Runs): decisions, summary, roster, exceptions, audit closure, refusals,
cancel, regeneration, simulations, overrides, replay and rule versions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.engine.months import add_months
from billing.models import (
    BillingRun,
    Decision,
    MemberMonthOverride,
    RuleVersion,
    RunException,
    RunPayer,
)
from billing.services.exceptions import run_exception_resolve
from billing.services.finalize import decisions_digest
from billing.services.overrides import member_month_override_request
from billing.services.replay import decision_replay
from billing.services.rules import rule_version_for_month, rule_version_retire, rules_load
from billing.services.runs import (
    billing_run_cancel,
    billing_run_regenerate,
    billing_run_trigger,
    simulations_purge,
)
from core import scopes as S
from core.audit import verify_chain
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied, TransitionRefused
from core.models import AuditEntry, OverrideRequest
from core.overrides import override_request_approve
from core.services import tenant_policy_update
from tests.billing.run_builders import (
    assertion,
    decision,
    execute,
    late_assertion,
    member,
    month,
    months_decided,
    outcome,
    params,
    payer,
    roster_rows,
    rule_version,
    run_month,
    service,
)

SEP = month(2026, 9)  # 30 days: the MED 0-64 rate of 310.00 is 10.33.. a day
AUG = month(2026, 8)
SIM = BillingRun.Mode.SIMULATION


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Rosters are files: keep them in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def acme(world, owner):
    """ACME bills MED 0-64 at 310.00, 65+ at 300.00, MED+D at 450.00; a qualifying service
    (99213/99214) is required. Seven members have ACME assertions, one has only BETA's."""
    p = payer(
        owner,
        "ACME",
        requires_service_delivery=True,
        qualifying_service_codes=["99213", "99214"],
    )
    t = world.tenant
    m = {n: member(t, f"M00{n}") for n in range(1, 8)}
    m[4].birth_date = date(1950, 6, 1)  # 76 on 2026-09-01: the 65+ tier
    m[4].save()
    assertion(p, m[1])
    service(p, m[1], date(2026, 9, 10))
    assertion(p, m[2], status="TERMINATED", termination=date(2026, 9, 15))
    service(p, m[2], date(2026, 9, 5))
    assertion(p, m[3])
    service(p, m[3], date(2026, 9, 12), code="80050")  # not a qualifying code
    assertion(p, m[4], effective=date(2026, 9, 11))
    service(p, m[4], date(2026, 9, 20))
    assertion(p, m[5], suffix="D")
    service(p, m[5], date(2026, 9, 1), code="99214")
    assertion(p, m[6], status="TERMINATED", termination=date(2026, 8, 31))
    assertion(p, m[7], status="PENDING")
    other = payer(owner, "BETA")
    m[8] = member(t, "M008")
    assertion(other, m[8])
    return p, m


# --- a production run ------------------------------------------------------------------------


def test_run_production_decides_every_member_in_scope(owner, acme):
    # given ACME's seven members (and M008, who only BETA covers)
    p, m = acme
    rv = RuleVersion.objects.get(payer=p)

    # when September is billed for ACME
    run = run_month(owner, SEP, ["ACME"])

    # then the run completed with one decision per ACME member, as the rules say
    assert run.status == BillingRun.Status.COMPLETED
    assert run.members_total == 7
    assert run.members_done == run.members_total
    assert run.chunks_done == run.chunks_total == 1
    assert run.decisions_count == 7
    assert Decision.objects.filter(run=run).count() == 7
    assert not Decision.objects.filter(run=run, member=m[8]).exists()
    assert outcome(run, m[1]) == ("BILLED_ACTIVE", 30, Decimal("310.00"))
    assert outcome(run, m[2]) == ("BILLED_PARTIAL_TERM", 15, Decimal("155.00"))
    assert outcome(run, m[3]) == ("NOT_BILLED_NO_SERVICE", 0, Decimal("0.00"))
    assert decision(run, m[3]).inputs["covered_days"] == 30
    assert outcome(run, m[4]) == ("BILLED_ACTIVE", 20, Decimal("200.00"))
    assert outcome(run, m[5]) == ("BILLED_ACTIVE", 30, Decimal("450.00"))
    assert outcome(run, m[6]) == ("NOT_BILLED_TERMINATED", 0, Decimal("0.00"))
    assert outcome(run, m[7]) == ("NOT_BILLED_PENDING", 0, Decimal("0.00"))
    assert decision(run, m[4]).tier == "MED 65-150"
    assert decision(run, m[5]).tier == "MED_DENTAL 0-150"
    assert {d.rule_version_id for d in Decision.objects.filter(run=run)} == {rv.pk}
    d2 = decision(run, m[2])
    assert d2.inputs["period"] == ["2026-09-01", "2026-09-15"]
    assert d2.inputs["rule_version"]["params_hash"] == rv.params_hash
    assert not RunException.objects.filter(run=run).exists()
    assert not RunPayer.objects.filter(run=run, active=True).exists()


def test_run_summary_counts_and_amounts(owner, acme):
    # given ACME's members
    # when September is billed
    run = run_month(owner, SEP, ["ACME"])

    # then the summary ties out: 4 billable members for 310 + 155 + 200 + 450
    assert run.summary == {
        "members": 7,
        "billable_members": 4,
        "total_charge": "1115.00",
        "mean_charge": "278.75",
        "by_class": {
            "BILLED_ACTIVE": {"count": 3, "amount": "960.00"},
            "BILLED_PARTIAL_TERM": {"count": 1, "amount": "155.00"},
            "NOT_BILLED_NO_SERVICE": {"count": 1, "amount": "0.00"},
            "NOT_BILLED_PENDING": {"count": 1, "amount": "0.00"},
            "NOT_BILLED_TERMINATED": {"count": 1, "amount": "0.00"},
        },
        "by_payer": {"ACME": {"decisions": 7, "billable": 4, "amount": "1115.00"}},
    }


def test_run_roster_has_one_row_per_billable_decision_and_a_footer(owner, acme):
    # given ACME's members
    # when September is billed in production
    run = run_month(owner, SEP, ["ACME"])

    # then the roster file lists the four billable decisions, then the totals
    rows = roster_rows(run)
    assert rows[0] == [
        "member_id",
        "first_name",
        "last_name",
        "payer",
        "month",
        "decision_class",
        "billable_days",
        "tier",
        "amount",
    ]
    same = ["Ada", "Lovelace", "ACME", "2026-09-01"]
    assert rows[1:] == [
        ["M001", *same, "BILLED_ACTIVE", "30", "MED 0-64", "310.00"],
        ["M002", *same, "BILLED_PARTIAL_TERM", "15", "MED 0-64", "155.00"],
        ["M004", *same, "BILLED_ACTIVE", "20", "MED 65-150", "200.00"],
        ["M005", *same, "BILLED_ACTIVE", "30", "MED_DENTAL 0-150", "450.00"],
        ["# rows", "4"],
        ["# total_amount", "1115.00"],
        ["# unresolved_exceptions", "0"],
    ]


def test_run_all_takes_every_active_payer(world, owner):
    # given two active payers and an inactive one, each with a member
    acme, beta, gone = payer(owner, "ACME"), payer(owner, "BETA"), payer(owner, "GONE")
    gone.active = False
    gone.save()
    for n, p in enumerate((acme, beta, gone), start=1):
        assertion(p, member(world.tenant, f"M00{n}"))

    # when September is billed for all payers
    run = run_month(owner, SEP, "all")

    # then the active payers are billed, the inactive one is not
    assert sorted(run.payers.values_list("code", flat=True)) == ["ACME", "BETA"]
    assert run.summary["by_payer"] == {
        "ACME": {"decisions": 1, "billable": 1, "amount": "310.00"},
        "BETA": {"decisions": 1, "billable": 1, "amount": "310.00"},
    }


def test_run_payer_without_members_completes_empty(world, owner):
    # given a payer with rules but nobody covered
    payer(owner, "ACME")

    # when September is billed
    run = run_month(owner, SEP, ["ACME"])

    # then the run completes with nothing to bill and an empty roster
    assert run.status == BillingRun.Status.COMPLETED
    assert (run.members_total, run.chunks_total, run.decisions_count) == (0, 0, 0)
    assert run.summary["total_charge"] == "0.00"
    assert run.summary["mean_charge"] == "0.00"
    assert roster_rows(run)[1:] == [
        ["# rows", "0"],
        ["# total_amount", "0.00"],
        ["# unresolved_exceptions", "0"],
    ]
    assert run.final_hash


# --- exceptions ------------------------------------------------------------------------------


def test_run_unknown_benefit_combination_is_an_open_exception(world, owner):
    # given a member whose benefit suffix no combination knows
    p = payer(owner, "ACME")
    ok, odd = member(world.tenant, "M001"), member(world.tenant, "M002")
    assertion(p, ok)
    assertion(p, odd, suffix="X")

    # when September is billed
    run = run_month(owner, SEP, ["ACME"])

    # then the member still has a decision, with an open exception next to it
    assert run.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS
    assert run.open_exceptions == run.exceptions_count == 1
    assert outcome(run, odd) == ("NOT_BILLED_PENDING", 0, Decimal("0.00"))
    assert decision(run, odd).inputs["covered_days"] == 30
    assert outcome(run, ok) == ("BILLED_ACTIVE", 30, Decimal("310.00"))
    exc = RunException.objects.get(run=run)
    assert (exc.code, exc.status, exc.member, exc.payer, exc.month) == (
        "UNKNOWN_BENEFIT_COMBINATION",
        "OPEN",
        odd,
        p,
        SEP,
    )
    assert exc.message == "no benefit combination for MED + X"
    assert roster_rows(run)[-1] == ["# unresolved_exceptions", "1"]


def test_run_exception_resolved_completes_the_run(world, owner):
    # given a run completed with one open exception
    p = payer(owner, "ACME")
    assertion(p, member(world.tenant, "M001"), suffix="X")
    run = run_month(owner, SEP, ["ACME"])
    exc = RunException.objects.get(run=run)

    # when someone resolves it without saying what was done
    with pytest.raises(DomainError) as refused:
        run_exception_resolve(
            actor=world.actor(S.Role.OPERATIONS), exception_id=exc.pk, resolution="  "
        )
    # then it is refused and nothing changes
    assert refused.value.code == "reason_required"
    exc.refresh_from_db()
    run.refresh_from_db()
    assert exc.status == "OPEN"
    assert run.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS

    # when a viewer tries, it is refused too
    with pytest.raises(ScopeDenied):
        run_exception_resolve(
            actor=world.actor(S.Role.VIEWER), exception_id=exc.pk, resolution="Looked at it"
        )

    # when an operator resolves it with a note
    ops = world.actor(S.Role.OPERATIONS)
    run_exception_resolve(actor=ops, exception_id=exc.pk, resolution="Payer confirms rider X")

    # then the exception is resolved, the run completed, and the audit trail says so
    exc.refresh_from_db()
    run.refresh_from_db()
    assert (exc.status, exc.resolution, exc.resolved_by) == (
        "RESOLVED",
        "Payer confirms rider X",
        ops.user,
    )
    assert run.status == BillingRun.Status.COMPLETED
    assert run.open_exceptions == 0
    entry = AuditEntry.objects.get(action="RUN_EXCEPTION_RESOLVED", object_id=str(exc.pk))
    assert entry.reason == "Payer confirms rider X"
    assert AuditEntry.objects.filter(
        action="RUN_EXCEPTIONS_RESOLVED", object_id=str(run.pk)
    ).exists()


def test_run_each_engine_exception_is_kept_and_the_last_resolution_completes(world, owner):
    # given a contradictory pair of lines, a benefit without a tier, and an unknown suffix
    p = payer(owner, "ACME")
    m1, m2, m3 = (member(world.tenant, f"M00{n}") for n in range(1, 4))
    assertion(p, m1, benefit="MED")
    assertion(p, m1, benefit="VIS")  # same source, file date and arrival: they contradict
    assertion(p, m2, benefit="VIS")
    assertion(p, m3, suffix="Q")

    # when September is billed
    run = run_month(owner, SEP, ["ACME"])

    # then each member has a NOT_BILLED_PENDING decision and its own open exception
    excs = {e.member.external_id: e for e in RunException.objects.filter(run=run)}
    assert {k: e.code for k, e in excs.items()} == {
        "M001": "CONTRADICTORY_ASSERTIONS",
        "M002": "NO_PRICING_TIER",
        "M003": "UNKNOWN_BENEFIT_COMBINATION",
    }
    assert {outcome(run, m)[0] for m in (m1, m2, m3)} == {"NOT_BILLED_PENDING"}
    assert (run.status, run.open_exceptions) == ("COMPLETED_WITH_EXCEPTIONS", 3)

    # when two are resolved the run still has exceptions; the third completes it
    for key in ("M001", "M002"):
        run_exception_resolve(actor=owner, exception_id=excs[key].pk, resolution="checked")
    run.refresh_from_db()
    assert (run.status, run.open_exceptions) == ("COMPLETED_WITH_EXCEPTIONS", 1)
    run_exception_resolve(actor=owner, exception_id=excs["M003"].pk, resolution="checked")
    run.refresh_from_db()
    assert (run.status, run.open_exceptions) == ("COMPLETED", 0)

    # and a resolved exception cannot be resolved again
    with pytest.raises(TransitionRefused, match="it is RESOLVED"):
        run_exception_resolve(actor=owner, exception_id=excs["M003"].pk, resolution="again")
    run.refresh_from_db()
    assert run.open_exceptions == 0


def test_run_payer_without_rule_version_gets_one_exception_and_no_decisions(world, owner):
    # given ACME with rules, and BETA whose only versions are a draft and one from October on
    acme = payer(owner, "ACME")
    beta = payer(owner, "BETA", rules=False)
    rule_version(owner, beta, version="0", activate=False)
    rule_version(owner, beta, version="1", effective_from=date(2026, 10, 1))
    a1, a2, b1, b2 = (member(world.tenant, f"M00{n}") for n in range(1, 5))
    for p, m in ((acme, a1), (acme, a2), (beta, b1), (beta, b2)):
        assertion(p, m)

    # when September is billed for both
    run = run_month(owner, SEP, ["ACME", "BETA"])

    # then BETA has a single NO_RULE_VERSION exception and no decision; ACME is decided
    assert run.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS
    excs = list(RunException.objects.filter(run=run))
    assert [(e.code, e.payer, e.member) for e in excs] == [("NO_RULE_VERSION", beta, None)]
    assert "BETA" in excs[0].message
    assert not Decision.objects.filter(run=run, payer=beta).exists()
    assert outcome(run, a1) == ("BILLED_ACTIVE", 30, Decimal("310.00"))
    assert outcome(run, a2) == ("BILLED_ACTIVE", 30, Decimal("310.00"))
    assert run.members_total == run.members_done == 2


# --- audit closure ---------------------------------------------------------------------------


def test_run_production_closes_its_audit_segment(world, owner, acme):
    # given ACME's members
    # when September is billed in production
    run = run_month(owner, SEP, ["ACME"])

    # then a RUN_CLOSED entry holds the digest of the decisions and its hash is the final hash
    closing = AuditEntry.objects.get(
        tenant=world.tenant, action="RUN_CLOSED", object_id=str(run.pk)
    )
    assert closing.object_type == "billing.BillingRun"
    assert run.final_hash == closing.hash
    assert len(run.final_hash) == 64
    assert closing.payload["digest"] == decisions_digest(run) == run.digest
    assert closing.payload["decisions"] == 7
    assert closing.payload["total_charge"] == "1115.00"
    assert verify_chain(world.tenant).ok


def test_run_digest_changes_with_any_decision(world, owner, acme):
    # given a completed run and its digest
    run = run_month(owner, SEP, ["ACME"])
    before = decisions_digest(run)

    # when one decision's amount is altered behind the services' back
    Decision.objects.filter(run=run, member__external_id="M001").update(amount=Decimal("1.00"))

    # then the digest no longer matches the one the audit entry holds
    assert decisions_digest(run) != before == run.digest


def test_run_simulation_is_not_closed_and_has_no_roster(world, owner, acme):
    # given ACME's members
    # when September is simulated
    run = run_month(owner, SEP, ["ACME"], mode=SIM)

    # then the results are there to view, but nothing is closed or exported
    assert run.status == BillingRun.Status.COMPLETED
    assert run.decisions_count == 7
    assert outcome(run, acme[1][1]) == ("BILLED_ACTIVE", 30, Decimal("310.00"))
    assert run.final_hash == ""
    assert not run.roster
    assert not AuditEntry.objects.filter(action="RUN_CLOSED", object_id=str(run.pk)).exists()
    assert verify_chain(world.tenant).ok


# --- refusals --------------------------------------------------------------------------------


def test_trigger_future_month_refused(world, owner, acme):
    # given today's month
    next_month = add_months(timezone.localdate().replace(day=1), 1)

    # when next month is triggered, then it is refused and no run exists
    with pytest.raises(DomainError, match="future"):
        billing_run_trigger(actor=owner, month=next_month, payers=["ACME"], enqueue=False)
    assert not BillingRun.objects.exists()


def test_trigger_current_month_allowed(world, owner, acme):
    # given today's month, when it is triggered, then a queued run is there
    run = billing_run_trigger(
        actor=owner, month=timezone.localdate(), payers=["ACME"], enqueue=False
    )
    assert (run.status, run.month) == ("QUEUED", timezone.localdate().replace(day=1))


def test_trigger_unknown_payer_refused(world, owner, acme):
    # when a payer code that does not exist is named, then the refusal names it
    with pytest.raises(DomainError) as refused:
        billing_run_trigger(actor=owner, month=SEP, payers=["ACME", "NOPE"], enqueue=False)
    assert "NOPE" in refused.value.message
    assert refused.value.details == {"payers": ["NOPE"]}
    assert not BillingRun.objects.exists()


@pytest.mark.parametrize("role", [S.Role.OPERATIONS, S.Role.VIEWER])
def test_trigger_refused_without_scope(world, acme, role):
    # when an operator or a viewer triggers a run, then it is refused
    with pytest.raises(ScopeDenied):
        billing_run_trigger(actor=world.actor(role), month=SEP, payers=["ACME"], enqueue=False)
    assert not BillingRun.objects.exists()


@pytest.mark.parametrize("role", [S.Role.ADMIN, S.Role.BILLING_MANAGER])
def test_trigger_allowed_for_admin_and_billing_manager(world, acme, role):
    run = billing_run_trigger(actor=world.actor(role), month=SEP, payers=["ACME"], enqueue=False)
    assert run.triggered_by == world.users[role]


def test_trigger_second_production_after_completion_refused(world, owner, acme):
    # given September billed for ACME
    done = run_month(owner, SEP, ["ACME"])

    # when September is triggered again for ACME (and BETA)
    with pytest.raises(Conflict) as refused:
        billing_run_trigger(actor=owner, month=SEP, payers=["ACME", "BETA"], enqueue=False)

    # then the refusal names the completed run and says to regenerate it
    assert f"#{done.pk}" in refused.value.message
    assert "regenerate" in refused.value.message
    assert refused.value.details == {"run": done.pk, "payer": "ACME"}
    assert BillingRun.objects.count() == 1


def test_trigger_second_while_queued_refused(world, owner, acme):
    # given a queued production run for September and ACME
    first = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)

    # when September is triggered again for BETA and ACME
    with pytest.raises(Conflict) as refused:
        billing_run_trigger(actor=owner, month=SEP, payers=["BETA", "ACME"], enqueue=False)

    # then the refusal names the busy payer and run; nothing else was created
    assert "already queued or running" in refused.value.message
    assert f"ACME (run #{first.pk})" in refused.value.message
    assert list(BillingRun.objects.values_list("pk", flat=True)) == [first.pk]
    assert RunPayer.objects.filter(active=True).count() == 1


def test_trigger_queued_refusal_is_held_by_the_database(world, owner, acme):
    # given a queued production run for September and ACME
    first = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    other = BillingRun.objects.create(tenant=world.tenant, month=SEP, mode="PRODUCTION")
    acme_payer = first.payers.get()

    # when a second active production row for the same month and payer is written directly
    # then the partial unique index refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        RunPayer.objects.create(
            tenant=world.tenant, run=other, payer=acme_payer, month=SEP, mode="PRODUCTION"
        )
    # while an inactive one, or a simulation's, is allowed
    RunPayer.objects.create(
        tenant=world.tenant, run=other, payer=acme_payer, month=SEP, mode="PRODUCTION", active=False
    )
    sim = BillingRun.objects.create(tenant=world.tenant, month=SEP, mode=SIM)
    RunPayer.objects.create(tenant=world.tenant, run=sim, payer=acme_payer, month=SEP, mode=SIM)


def test_trigger_simulation_while_production_queued_allowed(world, owner, acme):
    # given a queued production run for September
    billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)

    # when September is simulated (twice), then both simulations run
    one = run_month(owner, SEP, ["ACME"], mode=SIM)
    two = run_month(owner, SEP, ["ACME"], mode=SIM)
    assert (one.status, two.status) == ("COMPLETED", "COMPLETED")
    assert (one.version, two.version) == (1, 2)


def test_trigger_simulation_of_a_completed_month_allowed(world, owner, acme):
    # given September billed in production
    done = run_month(owner, SEP, ["ACME"])

    # when September is simulated, then it runs and the production run is untouched
    sim = run_month(owner, SEP, ["ACME"], mode=SIM)
    assert sim.status == BillingRun.Status.COMPLETED
    done.refresh_from_db()
    assert done.status == BillingRun.Status.COMPLETED
    assert done.final_hash


# --- cancel ----------------------------------------------------------------------------------


def test_cancel_queued_run_frees_the_month(world, owner, acme):
    # given a queued production run
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)

    # when it is cancelled
    billing_run_cancel(actor=owner, run_id=run.pk, reason="wrong month")

    # then it is CANCELLED, audited, and September can be triggered again
    run.refresh_from_db()
    assert run.status == BillingRun.Status.CANCELLED
    assert not RunPayer.objects.filter(run=run, active=True).exists()
    entry = AuditEntry.objects.get(action="RUN_CANCELLED", object_id=str(run.pk))
    assert entry.payload["from"] == "QUEUED"
    again = run_month(owner, SEP, ["ACME"])
    assert again.status == BillingRun.Status.COMPLETED
    # a cancelled run is never authoritative: the completed one is what a new trigger names
    with pytest.raises(Conflict, match=f"#{again.pk}"):
        billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)


def test_cancel_refused_for_viewer(world, owner, acme):
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    with pytest.raises(ScopeDenied):
        billing_run_cancel(actor=world.actor(S.Role.VIEWER), run_id=run.pk)
    run.refresh_from_db()
    assert run.status == BillingRun.Status.QUEUED


def test_cancel_completed_run_refused(world, owner, acme):
    # given a completed run
    run = run_month(owner, SEP, ["ACME"])

    # when it is cancelled, then the refusal names its state and the transitions allowed
    with pytest.raises(TransitionRefused) as refused:
        billing_run_cancel(actor=owner, run_id=run.pk)
    assert "it is COMPLETED" in refused.value.message
    assert "allowed from here: supersede" in refused.value.message
    assert refused.value.details == {"current": "COMPLETED", "allowed": ["supersede"]}
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED


# --- regeneration ----------------------------------------------------------------------------


def test_regenerate_requires_a_reason(world, owner, acme):
    run = run_month(owner, SEP, ["ACME"])
    for reason in ("", "   "):
        with pytest.raises(DomainError) as refused:
            billing_run_regenerate(actor=owner, run_id=run.pk, reason=reason, enqueue=False)
        assert refused.value.code == "reason_required"
    assert BillingRun.objects.count() == 1


def test_regenerate_supersedes_the_prior_run_and_keeps_it(world, owner):
    # given September billed for a member, then an amended file ending coverage on the 15th
    p = payer(owner, "ACME")
    m1 = member(world.tenant, "M001")
    assertion(p, m1)
    first = run_month(owner, SEP, ["ACME"])
    first_roster = roster_rows(first)
    late_assertion(
        p, m1, source_kind="AMENDED_FILE", status="TERMINATED", termination=date(2026, 9, 15)
    )

    # when the run is regenerated
    second = billing_run_regenerate(
        actor=owner, run_id=first.pk, reason="Amended file from Acme", enqueue=False
    )

    # then a new version is queued that supersedes it; the prior stays COMPLETED meanwhile
    assert (second.version, second.supersedes_id, second.reason) == (
        2,
        first.pk,
        "Amended file from Acme",
    )
    assert second.status == BillingRun.Status.QUEUED
    first.refresh_from_db()
    assert first.status == BillingRun.Status.COMPLETED

    # when the regeneration has run
    second = execute(second)

    # then it decides on the amended facts; the prior is SUPERSEDED and still readable
    assert second.status == BillingRun.Status.COMPLETED
    assert outcome(second, m1) == ("BILLED_PARTIAL_TERM", 15, Decimal("155.00"))
    first.refresh_from_db()
    assert first.status == BillingRun.Status.SUPERSEDED
    assert outcome(first, m1) == ("BILLED_ACTIVE", 30, Decimal("310.00"))
    assert roster_rows(first) == first_roster
    assert first.roster.name != second.roster.name
    assert roster_rows(second)[1][-1] == "155.00"
    assert first.final_hash and second.final_hash and first.final_hash != second.final_hash
    entry = AuditEntry.objects.get(action="RUN_SUPERSEDED", object_id=str(first.pk))
    assert entry.payload["by"] == second.pk
    assert verify_chain(world.tenant).ok

    # and a superseded run cannot be regenerated: the refusal names the newer run
    with pytest.raises(Conflict) as refused:
        billing_run_regenerate(actor=owner, run_id=first.pk, reason="again", enqueue=False)
    assert "SUPERSEDED" in refused.value.message
    assert f"regenerate run #{second.pk} instead" in refused.value.message
    # and a plain trigger now names the regeneration as the completed run
    with pytest.raises(Conflict, match=f"#{second.pk}"):
        billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)


def test_regenerate_refused_while_the_regeneration_is_queued(world, owner, acme):
    run = run_month(owner, SEP, ["ACME"])
    billing_run_regenerate(actor=owner, run_id=run.pk, reason="rules amended", enqueue=False)
    with pytest.raises(Conflict, match="already queued or running"):
        billing_run_regenerate(actor=owner, run_id=run.pk, reason="again", enqueue=False)


def test_regenerate_refused_for_a_queued_run(world, owner, acme):
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    with pytest.raises(Conflict, match="only a completed run can be regenerated"):
        billing_run_regenerate(actor=owner, run_id=run.pk, reason="why not", enqueue=False)


def test_regenerate_refused_for_simulation(world, owner, acme):
    sim = run_month(owner, SEP, ["ACME"], mode=SIM)
    with pytest.raises(DomainError, match="Only production runs are regenerated"):
        billing_run_regenerate(actor=owner, run_id=sim.pk, reason="try", enqueue=False)
    assert BillingRun.objects.count() == 1


def test_regenerate_refused_without_scope(world, owner, acme):
    run = run_month(owner, SEP, ["ACME"])
    with pytest.raises(ScopeDenied):
        billing_run_regenerate(
            actor=world.actor(S.Role.OPERATIONS), run_id=run.pk, reason="x", enqueue=False
        )


# --- simulations -----------------------------------------------------------------------------


def test_simulation_is_never_authoritative(world, owner):
    # given August simulated for a billed member, then a late termination before August
    p = payer(owner, "ACME")
    m1 = member(world.tenant, "M001")
    assertion(p, m1)
    sim = run_month(owner, AUG, ["ACME"], mode=SIM)
    assert outcome(sim, m1) == ("BILLED_ACTIVE", 31, Decimal("310.00"))
    late_assertion(p, m1, status="TERMINATED", termination=date(2026, 7, 31))

    # when September is billed in production
    sep = run_month(owner, SEP, ["ACME"])

    # then August is not reopened (the simulation is no retro baseline)
    assert months_decided(sep, m1) == {SEP: ("NOT_BILLED_TERMINATED", Decimal("0.00"))}
    # and August can still be billed in production
    aug = run_month(owner, AUG, ["ACME"])
    assert aug.status == BillingRun.Status.COMPLETED
    assert outcome(aug, m1) == ("NOT_BILLED_TERMINATED", 0, Decimal("0.00"))


def test_simulations_purge_removes_week_old_simulations_only(world, owner, acme):
    # given an old and a recent simulation, and an old production run
    old_sim = run_month(owner, SEP, ["ACME"], mode=SIM)
    new_sim = run_month(owner, SEP, ["ACME"], mode=SIM)
    prod = run_month(owner, SEP, ["ACME"])
    eight_days_ago = timezone.now() - timedelta(days=8)
    BillingRun.objects.filter(pk__in=[old_sim.pk, prod.pk]).update(triggered_at=eight_days_ago)
    BillingRun.objects.filter(pk=new_sim.pk).update(triggered_at=timezone.now() - timedelta(days=6))

    # when simulations are purged
    purged = simulations_purge()

    # then only the old simulation and its decisions are gone
    assert purged == 1
    assert not BillingRun.objects.filter(pk=old_sim.pk).exists()
    assert not Decision.objects.filter(run_id=old_sim.pk).exists()
    assert Decision.objects.filter(run=new_sim).count() == 7
    assert Decision.objects.filter(run=prod).count() == 7
    prod.refresh_from_db()
    assert prod.status == BillingRun.Status.COMPLETED


# --- overrides -------------------------------------------------------------------------------


@pytest.fixture
def pending_member(world, owner):
    """ACME with M001 billed normally and M002 still PENDING."""
    p = payer(owner, "ACME")
    m1, m2 = member(world.tenant, "M001"), member(world.tenant, "M002")
    assertion(p, m1)
    assertion(p, m2, status="PENDING")
    return p, m1, m2


def test_override_without_dual_control_applies_at_once(world, owner, pending_member):
    # given a billable override (at 250.00) for the pending member and a not-billable one for M001
    p, m1, m2 = pending_member
    done = member_month_override_request(
        actor=owner,
        payer_code="ACME",
        member_external_id="M002",
        month=SEP,
        outcome="BILLABLE",
        rate="250.00",
        reason="Payer confirmed coverage by phone",
    )
    member_month_override_request(
        actor=owner,
        payer_code="acme",
        member_external_id="M001",
        month=date(2026, 9, 17),
        outcome="NOT_BILLABLE",
        reason="Member disputes the month",
    )
    assert done.executed

    # when September is billed
    run = run_month(owner, SEP, ["ACME"])

    # then both overrides decide their member-month
    override = MemberMonthOverride.objects.get(member=m2)
    assert (override.approved, override.rate, override.month) == (True, Decimal("250.00"), SEP)
    d2 = decision(run, m2)
    assert (d2.decision_class, d2.billable, d2.billable_days, d2.amount) == (
        "OVERRIDE_APPLIED",
        True,
        30,
        Decimal("250.00"),
    )
    assert d2.inputs["override"] == {
        "id": override.pk,
        "outcome": "BILLABLE",
        "rate": "250.00",
        "applied": True,
    }
    d1 = decision(run, m1)
    assert (d1.decision_class, d1.billable, d1.amount) == (
        "OVERRIDE_APPLIED",
        False,
        Decimal("0.00"),
    )
    assert run.summary["total_charge"] == "250.00"
    # and October, which no override covers, is billed by the rules
    october = run_month(owner, month(2026, 10), ["ACME"])
    assert outcome(october, m2) == ("NOT_BILLED_PENDING", 0, Decimal("0.00"))


def test_override_under_dual_control_waits_for_a_second_person(world, owner, pending_member):
    # given a tenant that puts member-month overrides under dual control
    p, m1, m2 = pending_member
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_OVERRIDE_CREATE])
    manager = world.actor(S.Role.BILLING_MANAGER)

    # when the billing manager asks for a billable override
    filed = member_month_override_request(
        actor=manager,
        payer_code="ACME",
        member_external_id="M002",
        month=SEP,
        outcome="BILLABLE",
        rate="250.00",
        reason="Payer confirmed coverage by phone",
    )

    # then it waits as a request and the run ignores it
    assert not filed.executed
    assert filed.request.status == OverrideRequest.Status.PENDING
    assert not MemberMonthOverride.objects.exists()
    first = run_month(owner, SEP, ["ACME"])
    assert outcome(first, m2) == ("NOT_BILLED_PENDING", 0, Decimal("0.00"))

    # when the requester approves it, then that is refused
    with pytest.raises(ScopeDenied) as refused:
        override_request_approve(actor=manager, request_id=filed.request.pk)
    assert refused.value.code == "second_person_required"
    assert not MemberMonthOverride.objects.exists()

    # when an admin approves it
    admin = world.actor(S.Role.ADMIN)
    override_request_approve(actor=admin, request_id=filed.request.pk, note="checked")

    # then the override exists, and the regenerated month applies it
    override = MemberMonthOverride.objects.get()
    assert (override.approved, override.created_by, override.approved_by) == (
        True,
        manager.user,
        admin.user,
    )
    second = execute(
        billing_run_regenerate(
            actor=owner, run_id=first.pk, reason="override approved", enqueue=False
        )
    )
    assert outcome(second, m2) == ("OVERRIDE_APPLIED", 30, Decimal("250.00"))


def test_override_refused_without_reason(world, owner, pending_member):
    for policy in ([], [S.BILLING_OVERRIDE_CREATE]):
        tenant_policy_update(actor=owner, dual_control_scopes=policy)
        with pytest.raises(DomainError) as refused:
            member_month_override_request(
                actor=owner,
                payer_code="ACME",
                member_external_id="M002",
                month=SEP,
                outcome="BILLABLE",
                reason="  ",
            )
        assert refused.value.code == "reason_required"
    assert not MemberMonthOverride.objects.exists()
    assert not OverrideRequest.objects.exists()


def test_override_refused_for_operations(world, pending_member):
    with pytest.raises(ScopeDenied):
        member_month_override_request(
            actor=world.actor(S.Role.OPERATIONS),
            payer_code="ACME",
            member_external_id="M002",
            month=SEP,
            outcome="BILLABLE",
            reason="please",
        )
    assert not MemberMonthOverride.objects.exists()


# --- replay ----------------------------------------------------------------------------------


@pytest.fixture
def partial_decision(world, owner):
    """A BILLED_PARTIAL_TERM decision (15 of 30 days at 310.00) under ACME v1."""
    p = payer(owner, "ACME")
    m = member(world.tenant, "M001")
    assertion(p, m, status="TERMINATED", termination=date(2026, 9, 15))
    run = run_month(owner, SEP, ["ACME"])
    return p, decision(run, m)


def _snapshot(run_id):
    return list(
        Decision.objects.filter(run_id=run_id)
        .order_by("pk")
        .values_list("pk", "decision_class", "billable_days", "amount", "rule_version", "inputs")
    )


def test_replay_against_another_rule_version(world, owner, partial_decision):
    # given a draft v2 billing full months at 400.00
    p, d = partial_decision
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "400.00"}]
    rule_version(
        owner,
        p,
        version="2",
        effective_from=date(2026, 12, 1),
        activate=False,
        proration="FULL_MONTH",
        pricing_tiers=tiers,
    )
    before = _snapshot(d.run_id)
    decisions_before = Decision.objects.count()

    # when an operator replays the decision against v2
    result = decision_replay(
        actor=world.actor(S.Role.OPERATIONS), decision_id=d.pk, rule_version="2"
    )

    # then old and new outcomes are shown with the inputs that differ
    assert result["old"] == {
        "decision_class": "BILLED_PARTIAL_TERM",
        "amount": "155.00",
        "billable_days": 15,
        "tier": "MED 0-64",
        "rule_version": "1",
    }
    assert result["new"] == {
        "decision_class": "BILLED_PARTIAL_TERM",
        "amount": "400.00",
        "billable_days": 15,
        "tier": "MED 0-64",
        "rule_version": "2",
        "exceptions": [],
    }
    assert result["changed"] is True
    assert set(result["differing_inputs"]) == {"rule_version", "tier"}
    assert result["differing_inputs"]["tier"]["old"]["rate"] == "310.00"
    assert result["differing_inputs"]["tier"]["new"]["rate"] == "400.00"
    assert result["differing_inputs"]["rule_version"]["new"]["version"] == "2"

    # and an audit entry is written, and no decision changed or was added
    entry = AuditEntry.objects.get(action="DECISION_REPLAYED", object_id=str(d.pk))
    assert entry.payload["new"] == {"class": "BILLED_PARTIAL_TERM", "amount": "400.00"}
    assert _snapshot(d.run_id) == before
    assert Decision.objects.count() == decisions_before


def test_replay_can_change_the_class(world, owner, partial_decision):
    # given v3 that needs 20 billable days
    p, d = partial_decision
    rule_version(
        owner,
        p,
        version="3",
        effective_from=date(2026, 12, 1),
        activate=False,
        min_billable_days=20,
    )

    # when the decision is replayed against v3
    result = decision_replay(actor=owner, decision_id=d.pk, rule_version="3")

    # then 15 days are too few: terminated inside the month, nothing billed
    assert (result["new"]["decision_class"], result["new"]["amount"]) == (
        "NOT_BILLED_TERMINATED",
        "0.00",
    )
    assert {"rule_version", "step", "tier"} <= set(result["differing_inputs"])


def test_replay_same_version_changes_nothing(world, owner, partial_decision):
    p, d = partial_decision
    result = decision_replay(actor=owner, decision_id=d.pk, rule_version="1")
    assert result["changed"] is False
    assert result["differing_inputs"] == {}


def test_replay_refusals(world, owner, partial_decision):
    p, d = partial_decision
    with pytest.raises(ScopeDenied):
        decision_replay(actor=world.actor(S.Role.VIEWER), decision_id=d.pk, rule_version="1")
    with pytest.raises(NotFound, match="no rule version '9'"):
        decision_replay(actor=owner, decision_id=d.pk, rule_version="9")
    assert not AuditEntry.objects.filter(action="DECISION_REPLAYED").exists()


# --- rule versions ---------------------------------------------------------------------------


def test_rule_version_for_month_latest_active_on_or_before(world, owner):
    # given v1 from January, v2 from June (both active) and a draft v3 from August
    p = payer(owner, "ACME", rules=False)
    v1 = rule_version(owner, p, version="1", effective_from=date(2026, 1, 1))
    v2 = rule_version(owner, p, version="2", effective_from=date(2026, 6, 1))
    rule_version(owner, p, version="3", effective_from=date(2026, 8, 1), activate=False)
    today = date(2026, 11, 22)

    # then each month gets the active version with the latest effective_from on or before it
    assert rule_version_for_month(p.pk, date(2025, 12, 1), today) is None
    assert rule_version_for_month(p.pk, date(2026, 5, 1), today) == v1
    assert rule_version_for_month(p.pk, date(2026, 6, 1), today) == v2
    assert rule_version_for_month(p.pk, date(2026, 9, 14), today) == v2
    assert rule_version_for_month(p.pk, date(2026, 11, 1), today) == v2


def test_rule_version_retired_still_used_for_past_months(world, owner):
    # given v1 from January and v2 from June at 320.00, then v2 retired
    p = payer(owner, "ACME", rules=False)
    v1 = rule_version(owner, p, version="1", effective_from=date(2026, 1, 1))
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "320.00"}]
    v2 = rule_version(owner, p, version="2", effective_from=date(2026, 6, 1), pricing_tiers=tiers)
    rule_version_retire(actor=owner, rule_version_id=v2.pk)

    # then past months still use v2, the current month does not
    assert rule_version_for_month(p.pk, date(2026, 7, 1), date(2026, 11, 22)) == v2
    assert rule_version_for_month(p.pk, date(2026, 11, 1), date(2026, 11, 22)) == v1
    assert rule_version_for_month(p.pk, date(2026, 7, 1), date(2026, 7, 15)) == v1

    # and a run for a past month bills under the retired version
    m = member(world.tenant, "M001")
    assertion(p, m)
    run = run_month(owner, SEP, ["ACME"])
    d = decision(run, m)
    assert (d.rule_version, d.amount) == (v2, Decimal("320.00"))
    assert RunPayer.objects.get(run=run).rule_version == v2


def _entry(code="ZED", **changes):
    return {
        "payer": {"code": code, "name": "Zed Health"},
        "version": "1",
        "effective_from": "2026-01-01",
        "status": "ACTIVE",
        "params": params(**changes),
    }


def test_rules_load_is_idempotent(world, owner):
    # when the same entries are loaded twice
    first = rules_load(actor=owner, entries=[_entry()])
    second = rules_load(actor=owner, entries=[_entry()])

    # then the version is created once, then found unchanged
    assert first == ["ZED v1: created, ACTIVE"]
    assert second == ["ZED v1: unchanged, ACTIVE"]
    rv = RuleVersion.objects.get(payer__code="ZED")
    assert (rv.status, rv.version, rv.effective_from) == ("ACTIVE", "1", date(2026, 1, 1))


def test_rules_load_refuses_changing_an_active_version(world, owner):
    # given ZED v1 loaded and active
    rules_load(actor=owner, entries=[_entry()])

    # when v1 is loaded again with other params, then the refusal names the entry
    with pytest.raises(DomainError) as refused:
        rules_load(actor=owner, entries=[_entry(), _entry(proration="FULL_MONTH")])
    assert refused.value.message.startswith("entry 2: ")
    assert "ACTIVE" in refused.value.message
    assert RuleVersion.objects.get(payer__code="ZED").params["proration"] == "DAILY"


def test_rules_load_names_the_violation_path(world, owner):
    # given an entry whose first tier rate is a number, not a decimal string
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": 412.5}]

    # when it is loaded, then the message names the entry and the path
    with pytest.raises(DomainError) as refused:
        rules_load(actor=owner, entries=[_entry("OK1"), _entry("BAD", pricing_tiers=tiers)])
    assert "entry 2: " in refused.value.message
    assert "pricing_tiers[0].rate: expected a decimal string" in refused.value.message
    assert not RuleVersion.objects.filter(payer__code="BAD").exists()
    assert RuleVersion.objects.filter(payer__code="OK1", status="ACTIVE").exists()
