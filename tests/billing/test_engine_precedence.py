"""Step 1 of SPEC 4: which assertion wins, what the cutoff hides, and what inputs record."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.engine import DecisionClass, params_hash
from tests.billing.engine_builders import (
    CUTOFF,
    assertion,
    at,
    decide,
    facts,
    override,
    params,
    recorded_assertions,
    recorded_services,
    rules,
    service,
)

C = DecisionClass


def test_precedence_order_beats_a_later_file_date():
    # given a MANUAL assertion (ACTIVE) and a newer CHANGE_FILE saying CANCELLED
    manual = assertion(1, source_kind="MANUAL", file_date=date(2026, 1, 5))
    change = assertion(2, source_kind="CHANGE_FILE", file_date=date(2026, 6, 5), status="CANCELLED")
    # when June is evaluated
    out = decide(facts(manual, change))
    # then MANUAL wins: file_precedence ranks it first
    assert out.inputs["winner"] == 1
    assert out.decision_class == C.BILLED_ACTIVE


def test_each_kind_outranks_the_next_one_in_the_spec_order():
    order = ["MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE"]
    for better, worse in zip(order, order[1:], strict=False):
        high = assertion(1, source_kind=better, file_date=date(2026, 1, 1))
        low = assertion(2, source_kind=worse, file_date=date(2026, 5, 1), status="CANCELLED")
        assert decide(facts(low, high)).inputs["winner"] == 1, (better, worse)


def test_precedence_follows_the_rule_version_order():
    # the same facts under a rule version that trusts change files most
    manual = assertion(1, source_kind="MANUAL", file_date=date(2026, 1, 5))
    change = assertion(2, source_kind="CHANGE_FILE", file_date=date(2026, 1, 1), status="CANCELLED")
    reversed_order = ["CHANGE_FILE", "FULL_FILE", "AMENDED_FILE", "MANUAL"]
    out = decide(facts(manual, change), rules(file_precedence=reversed_order))
    assert out.inputs["winner"] == 2
    assert out.decision_class == C.NOT_BILLED_TERMINATED


def test_same_kind_goes_to_the_later_file_date():
    older = assertion(1, file_date=date(2026, 5, 1), received_at=at(2026, 6, 20))
    newer = assertion(2, file_date=date(2026, 5, 2), received_at=at(2026, 5, 2), status="CANCELLED")
    out = decide(facts(older, newer))
    # the later file date wins even though the other file arrived later
    assert out.inputs["winner"] == 2
    assert out.decision_class == C.NOT_BILLED_TERMINATED


def test_same_kind_and_file_date_goes_to_the_later_arrival():
    first = assertion(1, file_date=date(2026, 5, 1), received_at=at(2026, 5, 1, 8))
    second = assertion(
        2, file_date=date(2026, 5, 1), received_at=at(2026, 5, 1, 9), status="CANCELLED"
    )
    out = decide(facts(second, first))
    assert out.inputs["winner"] == 2
    assert out.exceptions == ()


def test_winner_does_not_depend_on_id_order():
    newer = assertion(1, file_date=date(2026, 5, 2), status="CANCELLED")
    older = assertion(2, file_date=date(2026, 5, 1))
    assert decide(facts(newer, older)).inputs["winner"] == 1


def test_assertion_received_after_the_cutoff_is_ignored():
    # given a MANUAL cancellation that arrived after the evidence cutoff
    late = assertion(
        2,
        source_kind="MANUAL",
        file_date=date(2026, 6, 30),
        received_at=at(2026, 7, 1, 7),
        status="CANCELLED",
    )
    out = decide(facts(assertion(1), late), cutoff=at(2026, 7, 1, 6))
    # then it neither wins nor shows among the considered assertions
    assert out.decision_class == C.BILLED_ACTIVE
    assert out.inputs["winner"] == 1
    assert [a["id"] for a in recorded_assertions(out)] == [1]


def test_the_same_late_assertion_counts_once_the_cutoff_is_past_it():
    cancelled = assertion(
        2,
        source_kind="MANUAL",
        file_date=date(2026, 6, 30),
        received_at=at(2026, 7, 1, 7),
        status="CANCELLED",
    )
    out = decide(facts(assertion(1), cancelled), cutoff=at(2026, 7, 2))
    assert out.decision_class == C.NOT_BILLED_TERMINATED
    assert out.inputs["winner"] == 2


def test_only_assertions_received_after_the_cutoff_means_no_assertion():
    late = assertion(1, received_at=at(2026, 7, 3))
    out = decide(facts(late), cutoff=at(2026, 7, 1))
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert out.inputs["step"] == "no_assertion"
    assert out.inputs["assertions"] == []


def test_service_received_after_the_cutoff_is_ignored():
    late = service(100, service_date=date(2026, 6, 30), received_at=at(2026, 7, 1, 7))
    out = decide(facts(assertion(), services=[late]), cutoff=at(2026, 7, 1, 6))
    assert out.decision_class == C.NOT_BILLED_NO_SERVICE
    assert out.inputs["services"] == []


def test_service_received_before_the_cutoff_counts():
    event = service(100, service_date=date(2026, 6, 30), received_at=at(2026, 7, 1, 5))
    out = decide(facts(assertion(), services=[event]), cutoff=at(2026, 7, 1, 6))
    assert out.decision_class == C.BILLED_ACTIVE
    assert out.inputs["qualifying_services"] == [100]


def test_source_kind_missing_from_file_precedence_ranks_last():
    # precedence lists MANUAL and FULL_FILE only: a newer CHANGE_FILE loses to an older FULL_FILE
    order = ["MANUAL", "FULL_FILE"]
    full = assertion(1, source_kind="FULL_FILE", file_date=date(2026, 1, 1))
    change = assertion(2, source_kind="CHANGE_FILE", file_date=date(2026, 5, 1), status="CANCELLED")
    out = decide(facts(full, change), rules(file_precedence=order))
    assert out.inputs["winner"] == 1


def test_unlisted_source_kind_alone_still_wins():
    order = ["MANUAL", "FULL_FILE"]
    out = decide(facts(assertion(1, source_kind="CHANGE_FILE")), rules(file_precedence=order))
    assert out.inputs["winner"] == 1
    assert out.decision_class == C.BILLED_ACTIVE


def test_unlisted_source_kinds_tie_and_fall_back_to_file_date():
    order = ["MANUAL"]
    amended = assertion(1, source_kind="AMENDED_FILE", file_date=date(2026, 1, 1))
    change = assertion(2, source_kind="CHANGE_FILE", file_date=date(2026, 5, 1), status="CANCELLED")
    out = decide(facts(amended, change), rules(file_precedence=order))
    assert out.inputs["winner"] == 2


def test_empty_file_precedence_decides_by_file_date_then_arrival():
    a = assertion(1, source_kind="MANUAL", file_date=date(2026, 1, 1))
    b = assertion(2, source_kind="CHANGE_FILE", file_date=date(2026, 2, 1), status="PENDING")
    out = decide(facts(a, b), rules(file_precedence=[]))
    assert out.inputs["winner"] == 2


def test_inputs_record_everything_the_outcome_used():
    # given two assertions, two in-month services (one qualifying), one out-of-month service
    raw = params()
    rule_version = rules(raw, version_id=42, version="2.1")
    full = assertion(
        1,
        source_kind="FULL_FILE",
        file_date=date(2026, 5, 1),
        received_at=at(2026, 5, 1, 8),
        effective_date=date(2026, 6, 11),
    )
    change = assertion(
        2,
        source_kind="CHANGE_FILE",
        file_date=date(2026, 5, 20),
        received_at=at(2026, 5, 20, 9),
        status="CANCELLED",
        termination_date=date(2026, 5, 31),
    )
    events = [
        service(11, service_date=date(2026, 6, 12), service_code="99214"),
        service(12, service_date=date(2026, 6, 13), service_code="00000"),
        service(13, service_date=date(2026, 5, 12)),
    ]
    out = decide(facts(change, full, services=events), rule_version)
    # then the outcome is billed from the 11th and the inputs say why
    assert (out.decision_class, out.billable_days, out.amount) == (
        C.BILLED_ACTIVE,
        20,
        Decimal("275.00"),
    )
    inputs = out.inputs
    assert inputs["month"] == "2026-06-01"
    assert inputs["cutoff"] == CUTOFF.isoformat()
    assert inputs["rule_version"] == {"id": 42, "version": "2.1", "params_hash": params_hash(raw)}
    assert inputs["winner"] == 1
    assert recorded_assertions(out) == [
        {
            "id": 1,
            "source_kind": "FULL_FILE",
            "file_date": "2026-05-01",
            "received_at": "2026-05-01T08:00:00+00:00",
            "status": "ACTIVE",
            "effective_date": "2026-06-11",
            "termination_date": None,
            "benefit_code": "MED",
            "benefit_suffix": "",
        },
        {
            "id": 2,
            "source_kind": "CHANGE_FILE",
            "file_date": "2026-05-20",
            "received_at": "2026-05-20T09:00:00+00:00",
            "status": "CANCELLED",
            "effective_date": "2025-01-01",
            "termination_date": "2026-05-31",
            "benefit_code": "MED",
            "benefit_suffix": "",
        },
    ]
    assert recorded_services(out) == [
        {
            "id": 11,
            "date": "2026-06-12",
            "code": "99214",
            "received_at": "2026-06-12T20:00:00+00:00",
        },
        {
            "id": 12,
            "date": "2026-06-13",
            "code": "00000",
            "received_at": "2026-06-13T20:00:00+00:00",
        },
    ]
    assert inputs["qualifying_services"] == [11]
    assert inputs["age"] == 46
    assert inputs["days_in_month"] == 30
    assert (inputs["days"], inputs["covered_days"]) == (20, 20)
    assert inputs["period"] == ["2026-06-11", "2026-06-30"]
    assert inputs["termination_inside_month"] is False
    assert inputs["benefit"] == "MED"
    assert inputs["tier"] == {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"}
    assert inputs["step"] == "billed"
    assert inputs["override"] is None


def test_inputs_record_the_override():
    out = decide(facts(assertion(), override=override(77, outcome="NOT_BILLABLE")))
    assert out.inputs["override"] == {
        "id": 77,
        "outcome": "NOT_BILLABLE",
        "rate": None,
        "applied": True,
    }


def test_inputs_record_no_tier_when_none_was_used():
    out = decide(facts(assertion(status="PENDING")))
    assert "tier" not in out.inputs
    assert out.tier == ""
