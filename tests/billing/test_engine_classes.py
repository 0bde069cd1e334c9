"""Worked examples for every decision class and engine exception code (SPEC 4, steps 1-9).

June 2026 throughout unless said: F = 06-01, L = 06-30, N = 30; MED 0-64 at 412.50 a month.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.engine import BILLABLE_CLASSES, DecisionClass, retro_delta
from billing.engine.types import Code
from tests.billing.engine_builders import (
    RATE,
    assertion,
    at,
    codes,
    decide,
    facts,
    month,
    override,
    params,
    recorded_assertions,
    recorded_services,
    rules,
    service,
)

C = DecisionClass
TWO_TIERS = [
    {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"},
    {"benefit": "MED", "min_age": 65, "max_age": 150, "rate": "300.00"},
]


# --- BILLED_ACTIVE -------------------------------------------------------------------------------


def test_billed_active_full_month_daily_is_the_whole_rate():
    # given an ACTIVE member covered since 2025 with a qualifying service in June
    # when June is evaluated under DAILY proration
    out = decide(facts(assertion()))
    # then the whole month is billed at the tier rate
    assert out.decision_class == C.BILLED_ACTIVE
    assert out.billable is True
    assert out.billable_days == 30
    assert out.amount == Decimal("412.50")
    assert str(out.amount) == "412.50"
    assert out.tier == "MED 0-64"
    assert out.exceptions == ()
    assert out.inputs["step"] == "billed"


def test_billed_active_full_month_full_month_proration():
    out = decide(facts(assertion()), rules(proration="FULL_MONTH"))
    assert (out.decision_class, out.billable_days, out.amount) == (C.BILLED_ACTIVE, 30, RATE)


def test_billed_active_mid_month_start_is_prorated_daily():
    # given coverage starting on the 11th of a 30-day month: days 11..30 = 20 days
    out = decide(facts(assertion(effective_date=date(2026, 6, 11))))
    # then it is BILLED_ACTIVE (not partial term) at 412.50 x 20 / 30
    assert out.decision_class == C.BILLED_ACTIVE
    assert out.billable_days == 20
    assert out.amount == Decimal("275.00")
    assert out.inputs["period"] == ["2026-06-11", "2026-06-30"]
    assert out.inputs["termination_inside_month"] is False


def test_billed_active_mid_month_start_full_month_proration_bills_the_rate():
    out = decide(facts(assertion(effective_date=date(2026, 6, 11))), rules(proration="FULL_MONTH"))
    assert (out.decision_class, out.billable_days, out.amount) == (C.BILLED_ACTIVE, 20, RATE)


def test_billed_active_effective_on_the_last_day_is_one_day():
    out = decide(
        facts(
            assertion(effective_date=date(2026, 6, 30)),
            services=[service(service_date=date(2026, 6, 30))],
        )
    )
    # 412.50 / 30 = 13.75
    assert (out.decision_class, out.billable_days, out.amount) == (
        C.BILLED_ACTIVE,
        1,
        Decimal("13.75"),
    )


def test_billed_active_daily_amount_rounds_half_up_to_cents():
    # given a rate of 0.15 and 1 day of 30: 0.005 exactly, which half-up makes 0.01
    # (banker's rounding would give 0.00)
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "0.15"}]
    out = decide(
        facts(
            assertion(effective_date=date(2026, 6, 30)),
            services=[service(service_date=date(2026, 6, 30))],
        ),
        rules(pricing_tiers=tiers),
    )
    assert out.amount == Decimal("0.01")


def test_billed_active_daily_amount_in_a_31_day_month():
    # July: 10 days (22..31) of 31 at 412.50 = 133.0645... -> 133.06
    out = decide(
        facts(
            assertion(effective_date=date(2026, 7, 22)),
            services=[service(service_date=date(2026, 7, 25))],
        ),
        on=month(2026, 7),
        cutoff=at(2026, 8, 1),
    )
    assert (out.billable_days, out.amount) == (10, Decimal("133.06"))
    assert out.inputs["days_in_month"] == 31


def test_billed_active_full_month_rate_is_given_in_cents_even_if_written_shorter():
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "400.5"}]
    out = decide(facts(assertion()), rules(pricing_tiers=tiers, proration="FULL_MONTH"))
    assert str(out.amount) == "400.50"


def test_billed_active_coverage_ending_on_the_last_day_is_a_full_month():
    # given a TERMINATED assertion whose last covered day is L
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 30))
    out = decide(facts(a))
    # then this is not a termination inside M: a full month, BILLED_ACTIVE
    assert out.decision_class == C.BILLED_ACTIVE
    assert (out.billable_days, out.amount) == (30, RATE)
    assert out.inputs["termination_inside_month"] is False


def test_billed_active_termination_after_the_month_is_a_full_month():
    a = assertion(status="TERMINATED", termination_date=date(2026, 8, 15))
    out = decide(facts(a))
    assert (out.decision_class, out.billable_days, out.amount) == (C.BILLED_ACTIVE, 30, RATE)
    assert out.inputs["period"] == ["2026-06-01", "2026-06-30"]


# --- BILLED_PARTIAL_TERM -------------------------------------------------------------------------


def test_billed_partial_term_termination_inside_the_month_is_prorated():
    # given coverage ending on the 10th: days 1..10
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 10))
    out = decide(facts(a, services=[service(service_date=date(2026, 6, 5))]))
    # then 412.50 x 10 / 30 = 137.50, partial term
    assert out.decision_class == C.BILLED_PARTIAL_TERM
    assert out.billable is True
    assert (out.billable_days, out.amount) == (10, Decimal("137.50"))
    assert out.inputs["termination_inside_month"] is True
    assert out.inputs["period"] == ["2026-06-01", "2026-06-10"]


def test_billed_partial_term_termination_on_the_first_day_is_one_day():
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 1))
    out = decide(facts(a, services=[service(service_date=date(2026, 6, 1))]))
    assert (out.decision_class, out.billable_days, out.amount) == (
        C.BILLED_PARTIAL_TERM,
        1,
        Decimal("13.75"),
    )


def test_billed_partial_term_termination_on_the_day_before_last():
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 29))
    out = decide(facts(a))
    assert (out.decision_class, out.billable_days, out.amount) == (
        C.BILLED_PARTIAL_TERM,
        29,
        Decimal("398.75"),
    )


def test_billed_partial_term_full_month_proration_bills_the_rate():
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 20))
    out = decide(facts(a), rules(proration="FULL_MONTH"))
    assert (out.decision_class, out.billable_days, out.amount) == (C.BILLED_PARTIAL_TERM, 20, RATE)


def test_billed_partial_term_mid_month_start_and_termination():
    # days 11..20 = 10 days
    a = assertion(effective_date=date(2026, 6, 11), termination_date=date(2026, 6, 20))
    out = decide(facts(a))
    assert (out.decision_class, out.billable_days, out.amount) == (
        C.BILLED_PARTIAL_TERM,
        10,
        Decimal("137.50"),
    )


# --- NOT_BILLED_PENDING --------------------------------------------------------------------------


def test_not_billed_pending_without_any_assertion():
    out = decide(facts())
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert out.billable is False
    assert (out.billable_days, out.amount, out.tier, out.exceptions) == (0, Decimal("0.00"), "", ())
    assert out.inputs["step"] == "no_assertion"
    assert out.inputs["winner"] is None


def test_not_billed_pending_status_pending():
    out = decide(facts(assertion(status="PENDING")))
    assert (out.decision_class, out.amount) == (C.NOT_BILLED_PENDING, Decimal("0.00"))
    assert out.inputs["step"] == "status_pending"
    assert out.inputs["winner"] == 1


def test_not_billed_pending_effective_after_the_month():
    out = decide(facts(assertion(effective_date=date(2026, 7, 1))))
    assert (out.decision_class, out.amount) == (C.NOT_BILLED_PENDING, Decimal("0.00"))
    assert out.inputs["step"] == "starts_after_month"


def test_not_billed_pending_comes_before_cancelled():
    # step 2 runs before step 3: a cancelled assertion starting after M is pending for M
    out = decide(facts(assertion(status="CANCELLED", effective_date=date(2026, 7, 1))))
    assert out.decision_class == C.NOT_BILLED_PENDING


def test_not_billed_pending_below_min_billable_days_without_termination_inside():
    # given min_billable_days 5 and coverage starting on the 27th: 4 days, no termination
    out = decide(facts(assertion(effective_date=date(2026, 6, 27))), rules(min_billable_days=5))
    assert out.decision_class == C.NOT_BILLED_PENDING
    # a decision that bills nothing bills no day; the 4 covered days stay in the inputs
    assert (out.billable_days, out.amount) == (0, Decimal("0.00"))
    assert (out.inputs["covered_days"], out.inputs["days"]) == (4, 0)
    assert out.inputs["step"] == "below_min_billable_days"


def test_min_billable_days_reached_exactly_is_billed():
    out = decide(
        facts(
            assertion(effective_date=date(2026, 6, 26)),
            services=[service(service_date=date(2026, 6, 28))],
        ),
        rules(min_billable_days=5),
    )
    # 412.50 x 5 / 30 = 68.75
    assert (out.decision_class, out.billable_days, out.amount) == (
        C.BILLED_ACTIVE,
        5,
        Decimal("68.75"),
    )


# --- NOT_BILLED_TERMINATED -----------------------------------------------------------------------


def test_not_billed_terminated_cancelled():
    out = decide(facts(assertion(status="CANCELLED")))
    assert (out.decision_class, out.billable, out.amount) == (
        C.NOT_BILLED_TERMINATED,
        False,
        Decimal("0.00"),
    )
    assert out.inputs["step"] == "cancelled"


def test_not_billed_terminated_termination_before_the_first_day():
    a = assertion(status="TERMINATED", termination_date=date(2026, 5, 31))
    out = decide(facts(a))
    assert (out.decision_class, out.amount) == (C.NOT_BILLED_TERMINATED, Decimal("0.00"))
    assert out.inputs["step"] == "terminated_before_month"


def test_not_billed_terminated_any_status_with_termination_before_the_month():
    # the termination date decides, whatever the status says
    a = assertion(status="ACTIVE", termination_date=date(2026, 3, 31))
    assert decide(facts(a)).decision_class == C.NOT_BILLED_TERMINATED


def test_not_billed_terminated_below_min_billable_days_with_termination_inside():
    # given min_billable_days 5 and coverage ending on the 3rd: 3 days, terminated inside M
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 3))
    out = decide(
        facts(a, services=[service(service_date=date(2026, 6, 2))]), rules(min_billable_days=5)
    )
    assert out.decision_class == C.NOT_BILLED_TERMINATED
    assert (out.billable_days, out.amount) == (0, Decimal("0.00"))
    assert out.inputs["covered_days"] == 3
    assert out.inputs["step"] == "below_min_billable_days"


def test_not_billed_terminated_termination_before_effective_inside_the_month_is_zero_days():
    a = assertion(effective_date=date(2026, 6, 15), termination_date=date(2026, 6, 10))
    out = decide(facts(a))
    assert (out.decision_class, out.billable_days) == (C.NOT_BILLED_TERMINATED, 0)


def test_not_billed_terminated_status_terminated_without_a_date():
    out = decide(facts(assertion(status="TERMINATED", termination_date=None)))
    assert (out.decision_class, out.amount) == (C.NOT_BILLED_TERMINATED, Decimal("0.00"))
    assert out.inputs["step"] == "terminated_without_date"


# --- NOT_BILLED_NO_SERVICE -----------------------------------------------------------------------


def test_not_billed_no_service_without_any_event():
    out = decide(facts(assertion(), services=[]))
    assert out.decision_class == C.NOT_BILLED_NO_SERVICE
    # not billed: 0 billable days, the 30 covered days kept apart in the inputs
    assert (out.billable, out.billable_days, out.amount) == (False, 0, Decimal("0.00"))
    assert out.inputs["covered_days"] == 30
    assert out.inputs["qualifying_services"] == []
    assert out.inputs["step"] == "no_qualifying_service"


@pytest.mark.parametrize(
    "service_date",
    [date(2026, 5, 31), date(2026, 7, 1)],
    ids=["day-before-month", "day-after-month"],
)
def test_not_billed_no_service_event_outside_the_month(service_date):
    out = decide(facts(assertion(), services=[service(service_date=service_date)]))
    assert out.decision_class == C.NOT_BILLED_NO_SERVICE
    # events outside the month are not even inputs
    assert out.inputs["services"] == []


def test_not_billed_no_service_event_inside_the_month_but_before_coverage_starts():
    # coverage from the 11th, service on the 10th: outside the billable days
    out = decide(
        facts(
            assertion(effective_date=date(2026, 6, 11)),
            services=[service(service_date=date(2026, 6, 10))],
        )
    )
    assert out.decision_class == C.NOT_BILLED_NO_SERVICE
    assert (out.billable_days, out.inputs["covered_days"]) == (0, 20)
    assert [s["id"] for s in recorded_services(out)] == [100]
    assert out.inputs["qualifying_services"] == []


def test_not_billed_no_service_event_after_termination_inside_the_month():
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 10))
    out = decide(facts(a, services=[service(service_date=date(2026, 6, 11))]))
    assert out.decision_class == C.NOT_BILLED_NO_SERVICE


def test_event_on_the_termination_day_qualifies():
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 10))
    out = decide(facts(a, services=[service(service_date=date(2026, 6, 10))]))
    assert out.decision_class == C.BILLED_PARTIAL_TERM


def test_not_billed_no_service_event_with_a_non_qualifying_code():
    out = decide(facts(assertion(), services=[service(service_code="99999")]))
    assert out.decision_class == C.NOT_BILLED_NO_SERVICE
    assert out.amount == Decimal("0.00")


def test_second_qualifying_code_qualifies_and_only_qualifying_events_are_listed():
    events = [service(1, service_code="99999"), service(2, service_code="99214")]
    out = decide(facts(assertion(), services=events))
    assert out.decision_class == C.BILLED_ACTIVE
    assert out.inputs["qualifying_services"] == [2]


def test_empty_qualifying_service_codes_means_any_code_qualifies():
    out = decide(
        facts(assertion(), services=[service(service_code="ANY1")]),
        rules(qualifying_service_codes=[]),
    )
    assert (out.decision_class, out.amount) == (C.BILLED_ACTIVE, RATE)
    assert out.inputs["qualifying_services"] == [100]


def test_empty_qualifying_service_codes_still_needs_an_event():
    out = decide(facts(assertion(), services=[]), rules(qualifying_service_codes=[]))
    assert out.decision_class == C.NOT_BILLED_NO_SERVICE


def test_service_delivery_not_required_bills_without_events():
    out = decide(facts(assertion(), services=[]), rules(requires_service_delivery=False))
    assert (out.decision_class, out.amount) == (C.BILLED_ACTIVE, RATE)
    assert "qualifying_services" not in out.inputs


# --- OVERRIDE_APPLIED ----------------------------------------------------------------------------


def test_override_not_billable_on_a_billable_month_bills_zero():
    out = decide(facts(assertion(), override=override(outcome="NOT_BILLABLE")))
    assert out.decision_class == C.OVERRIDE_APPLIED
    assert out.billable is False
    assert (out.billable_days, out.amount) == (0, Decimal("0.00"))
    assert out.inputs["override"] == {
        "id": 500,
        "outcome": "NOT_BILLABLE",
        "rate": None,
        "applied": True,
    }
    # what steps 1-8 found is still on record; the override bills no day
    assert out.inputs["step"] == "billed"
    assert (out.inputs["covered_days"], out.inputs["days"]) == (30, 0)


def test_override_billable_on_a_non_billable_month_uses_the_override_rate():
    # given no qualifying service (NOT_BILLED_NO_SERVICE) and a BILLABLE override at 300.00
    out = decide(facts(assertion(), services=[], override=override(rate="300.00")))
    assert out.decision_class == C.OVERRIDE_APPLIED
    assert out.billable is True
    assert (out.billable_days, out.amount) == (30, Decimal("300.00"))
    assert out.inputs["override"] == {
        "id": 500,
        "outcome": "BILLABLE",
        "rate": "300.00",
        "applied": True,
    }
    assert out.inputs["step"] == "no_qualifying_service"
    assert (out.inputs["covered_days"], out.inputs["days"]) == (30, 30)


def test_override_billable_without_a_rate_uses_the_member_tier_rate():
    # given no qualifying service and a BILLABLE override without a rate
    out = decide(facts(assertion(), services=[], override=override()))
    # then the month is billed at the member's tier (MED, age 46 -> MED 0-64 at 412.50)
    assert out.decision_class == C.OVERRIDE_APPLIED
    assert (out.billable, out.amount, out.tier) == (True, RATE, "MED 0-64")
    assert out.exceptions == ()
    assert out.inputs["override"]["applied"] is True
    assert out.inputs["tier"] == {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"}


def test_override_billable_without_a_rate_on_a_terminated_month_uses_the_combined_tier():
    # the tier follows the member's benefit combination and age, like step 7 would
    tiers = [{"benefit": "MED_DENTAL", "min_age": 0, "max_age": 64, "rate": "450.00"}]
    a = assertion(status="CANCELLED", benefit_suffix="D")
    out = decide(facts(a, override=override()), rules(pricing_tiers=tiers))
    assert (out.decision_class, out.amount, out.tier) == (
        C.OVERRIDE_APPLIED,
        Decimal("450.00"),
        "MED_DENTAL 0-64",
    )


def test_override_billable_with_a_rate_wins_over_the_tier_rate():
    out = decide(facts(assertion(status="PENDING"), override=override(rate="99.99")))
    assert (out.decision_class, out.amount) == (C.OVERRIDE_APPLIED, Decimal("99.99"))


def test_override_billable_agreeing_with_a_billed_month_changes_nothing_but_is_recorded():
    plain = decide(facts(assertion()))
    out = decide(facts(assertion(), override=override(rate="1.00")))
    assert (out.decision_class, out.billable, out.billable_days, out.amount, out.tier) == (
        plain.decision_class,
        plain.billable,
        plain.billable_days,
        plain.amount,
        plain.tier,
    )
    assert out.decision_class == C.BILLED_ACTIVE
    assert out.inputs["override"] == {
        "id": 500,
        "outcome": "BILLABLE",
        "rate": "1.00",
        "applied": False,
    }


def test_override_not_billable_agreeing_with_a_non_billable_month_changes_nothing():
    out = decide(facts(assertion(status="CANCELLED"), override=override(outcome="NOT_BILLABLE")))
    assert (out.decision_class, out.amount) == (C.NOT_BILLED_TERMINATED, Decimal("0.00"))
    assert out.inputs["override"]["applied"] is False


def test_override_billable_without_rate_or_tier_stays_pending_with_no_pricing_tier():
    # given no assertion at all: no benefit, hence no tier, and an override without a rate
    out = decide(facts(override=override()))
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert (out.billable, out.amount) == (False, Decimal("0.00"))
    assert codes(out) == [Code.NO_PRICING_TIER]
    assert out.inputs["override"]["applied"] is False


def test_override_billable_without_rate_on_an_unknown_combination_has_no_tier():
    out = decide(facts(assertion(benefit_suffix="X"), override=override()))
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert codes(out) == [Code.UNKNOWN_BENEFIT_COMBINATION, Code.NO_PRICING_TIER]


def test_override_billable_without_rate_when_age_has_no_tier():
    # a 70-year-old has no MED tier in the SPEC example
    out = decide(facts(assertion(), birth_date=date(1956, 1, 1), override=override()))
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert codes(out) == [Code.NO_PRICING_TIER, Code.NO_PRICING_TIER]


def test_override_billable_keeps_the_engine_exceptions():
    same = {"file_date": date(2026, 5, 1), "received_at": at(2026, 5, 1, 8)}
    out = decide(
        facts(
            assertion(1, status="ACTIVE", **same),
            assertion(2, status="CANCELLED", **same),
            override=override(rate="200.00"),
        )
    )
    assert (out.decision_class, out.amount) == (C.OVERRIDE_APPLIED, Decimal("200.00"))
    assert codes(out) == [Code.CONTRADICTORY_ASSERTIONS]


# --- BILLED_RETROACTIVE / NOT_BILLED_RETROACTIVE -------------------------------------------------


def test_billed_retroactive_newly_billable():
    now = decide(facts(assertion()))
    retro = retro_delta(now, Decimal("0.00"))
    assert retro.decision_class == C.BILLED_RETROACTIVE
    assert retro.billable is True
    assert retro.amount == Decimal("412.50")
    assert (retro.billable_days, retro.tier) == (30, "MED 0-64")
    assert retro.inputs["retro"] == {
        "evaluated_class": "BILLED_ACTIVE",
        "new_amount": "412.50",
        "billed_before": "0.00",
        "delta": "412.50",
    }


def test_billed_retroactive_more_days_now():
    # billed 137.50 for 10 days; late evidence extends coverage to the whole month
    retro = retro_delta(decide(facts(assertion())), Decimal("137.50"))
    assert (retro.decision_class, retro.amount) == (C.BILLED_RETROACTIVE, Decimal("275.00"))


def test_billed_retroactive_negative_when_still_billable_for_less():
    # billed a full month; late termination on the 10th: still billable, money goes back
    a = assertion(status="TERMINATED", termination_date=date(2026, 6, 10))
    now = decide(facts(a, services=[service(service_date=date(2026, 6, 5))]))
    assert now.amount == Decimal("137.50")
    retro = retro_delta(now, Decimal("412.50"))
    assert (retro.decision_class, retro.amount) == (C.BILLED_RETROACTIVE, Decimal("-275.00"))


def test_not_billed_retroactive_money_goes_back():
    now = decide(facts(assertion(status="CANCELLED")))
    retro = retro_delta(now, Decimal("412.50"))
    assert retro.decision_class == C.NOT_BILLED_RETROACTIVE
    assert retro.billable is False
    assert retro.amount == Decimal("-412.50")
    assert retro.inputs["retro"]["evaluated_class"] == "NOT_BILLED_TERMINATED"
    # the evaluated inputs are kept alongside
    assert retro.inputs["step"] == "cancelled"


def test_billed_retroactive_through_a_billable_override():
    now = decide(facts(assertion(), services=[], override=override(rate="300.00")))
    retro = retro_delta(now, Decimal("0.00"))
    assert (retro.decision_class, retro.amount) == (C.BILLED_RETROACTIVE, Decimal("300.00"))


def test_not_billed_retroactive_through_a_not_billable_override():
    now = decide(facts(assertion(), override=override(outcome="NOT_BILLABLE")))
    retro = retro_delta(now, Decimal("412.50"))
    assert (retro.decision_class, retro.amount) == (C.NOT_BILLED_RETROACTIVE, Decimal("-412.50"))


def test_retro_delta_zero_writes_nothing():
    assert retro_delta(decide(facts(assertion())), Decimal("412.50")) is None
    assert retro_delta(decide(facts(assertion(status="CANCELLED"))), Decimal("0.00")) is None
    assert retro_delta(decide(facts(assertion(status="CANCELLED"))), Decimal("0")) is None


def test_retroactive_classes_and_billable_classes():
    assert C.BILLED_RETROACTIVE in BILLABLE_CLASSES
    assert C.NOT_BILLED_RETROACTIVE not in BILLABLE_CLASSES
    assert {C.BILLED_ACTIVE, C.BILLED_PARTIAL_TERM, C.BILLED_RETROACTIVE} == BILLABLE_CLASSES


# --- CONTRADICTORY_ASSERTIONS --------------------------------------------------------------------

TIE = {"source_kind": "FULL_FILE", "file_date": date(2026, 5, 1), "received_at": at(2026, 5, 1, 8)}


@pytest.mark.parametrize(
    "difference",
    [
        {"status": "CANCELLED"},
        {"effective_date": date(2026, 6, 11)},
        {"termination_date": date(2026, 6, 20)},
        {"benefit_code": "VIS"},
        {"benefit_suffix": "D"},
    ],
    ids=["status", "effective", "termination", "benefit", "suffix"],
)
def test_contradictory_assertions_tie_on_kind_file_date_and_arrival_yet_disagree(difference):
    # given two assertions tying on source_kind, file_date and received_at
    out = decide(facts(assertion(7, **TIE), assertion(3, **TIE, **difference)))
    # then no winner, an exception, and NOT_BILLED_PENDING
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert (out.billable, out.amount) == (False, Decimal("0.00"))
    assert codes(out) == [Code.CONTRADICTORY_ASSERTIONS]
    assert "3, 7" in out.exceptions[0].message
    assert out.inputs["contradicting"] == [3, 7]
    assert out.inputs["winner"] is None
    assert out.inputs["step"] == "contradictory_assertions"


def test_contradictory_assertions_three_way_tie_lists_every_tied_id():
    out = decide(
        facts(assertion(1, **TIE), assertion(2, **TIE), assertion(3, **TIE, status="PENDING"))
    )
    assert out.inputs["contradicting"] == [1, 2, 3]


def test_ties_that_agree_are_one_fact():
    out = decide(facts(assertion(9, **TIE), assertion(4, **TIE)))
    assert (out.decision_class, out.amount, out.exceptions) == (C.BILLED_ACTIVE, RATE, ())
    assert out.inputs["winner"] == 4
    assert [a["id"] for a in recorded_assertions(out)] == [4, 9]


def test_disagreement_below_the_winner_is_no_exception():
    # two tying CHANGE_FILE assertions disagree, but a FULL_FILE outranks both
    change = {**TIE, "source_kind": "CHANGE_FILE"}
    out = decide(
        facts(
            assertion(1, **TIE),
            assertion(2, **change, status="CANCELLED"),
            assertion(3, **change, status="PENDING"),
        )
    )
    assert (out.decision_class, out.exceptions) == (C.BILLED_ACTIVE, ())
    assert out.inputs["winner"] == 1


def test_same_kind_and_file_date_but_different_arrival_is_no_contradiction():
    out = decide(
        facts(
            assertion(1, **{**TIE, "received_at": at(2026, 5, 1, 9)}),
            assertion(2, **TIE, status="CANCELLED"),
        )
    )
    assert (out.decision_class, out.exceptions) == (C.BILLED_ACTIVE, ())
    assert out.inputs["winner"] == 1


# --- UNKNOWN_BENEFIT_COMBINATION -----------------------------------------------------------------


def test_unknown_benefit_combination():
    out = decide(facts(assertion(benefit_suffix="X")))
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert (out.billable, out.amount) == (False, Decimal("0.00"))
    assert codes(out) == [Code.UNKNOWN_BENEFIT_COMBINATION]
    assert out.exceptions[0].message == "no benefit combination for MED + X"
    # pending with an exception: nothing billed, so 0 billable days; 30 days covered
    assert (out.billable_days, out.inputs["covered_days"]) == (0, 30)
    assert out.inputs["step"] == "unknown_benefit_combination"


def test_suffix_of_another_primary_is_unknown():
    # MED+D is known, VIS+D is not
    out = decide(facts(assertion(benefit_code="VIS", benefit_suffix="D")))
    assert codes(out) == [Code.UNKNOWN_BENEFIT_COMBINATION]


def test_known_benefit_combination_is_priced_at_the_combined_tier():
    tiers = [
        {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"},
        {"benefit": "MED_DENTAL", "min_age": 0, "max_age": 64, "rate": "450.00"},
    ]
    out = decide(facts(assertion(benefit_suffix="D")), rules(pricing_tiers=tiers))
    assert (out.decision_class, out.amount, out.tier) == (
        C.BILLED_ACTIVE,
        Decimal("450.00"),
        "MED_DENTAL 0-64",
    )
    assert out.inputs["benefit"] == "MED_DENTAL"


def test_no_suffix_uses_the_code_itself():
    out = decide(facts(assertion()))
    assert out.inputs["benefit"] == "MED"


# --- NO_PRICING_TIER -----------------------------------------------------------------------------


def test_no_pricing_tier_for_the_benefit():
    out = decide(facts(assertion(benefit_code="VIS")))
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert (out.billable, out.amount, out.tier) == (False, Decimal("0.00"), "")
    assert codes(out) == [Code.NO_PRICING_TIER]
    assert out.exceptions[0].message == "no pricing tier for VIS at age 46"
    assert out.inputs["step"] == "no_pricing_tier"


def test_no_pricing_tier_for_a_known_combination_without_its_own_tier():
    # MED+D combines into MED_DENTAL, which the SPEC example prices nowhere
    out = decide(facts(assertion(benefit_suffix="D")))
    assert codes(out) == [Code.NO_PRICING_TIER]
    assert out.inputs["benefit"] == "MED_DENTAL"


def test_no_pricing_tier_for_an_age_outside_every_tier():
    # born 1956-01-01: 70 on 2026-06-01, beyond MED 0-64
    out = decide(facts(assertion(), birth_date=date(1956, 1, 1)))
    assert out.decision_class == C.NOT_BILLED_PENDING
    assert codes(out) == [Code.NO_PRICING_TIER]
    assert out.inputs["age"] == 70


def test_no_pricing_tier_without_a_birth_date():
    out = decide(facts(assertion(), birth_date=None))
    assert codes(out) == [Code.NO_PRICING_TIER]
    assert out.inputs["age"] is None


def test_age_is_taken_on_the_first_day_turning_65_on_the_2nd_is_64():
    # born 1961-06-02: still 64 on 2026-06-01
    out = decide(facts(assertion(), birth_date=date(1961, 6, 2)), rules(pricing_tiers=TWO_TIERS))
    assert out.inputs["age"] == 64
    assert (out.tier, out.amount) == ("MED 0-64", Decimal("412.50"))


def test_age_is_taken_on_the_first_day_turning_65_on_the_1st_is_65():
    out = decide(facts(assertion(), birth_date=date(1961, 6, 1)), rules(pricing_tiers=TWO_TIERS))
    assert out.inputs["age"] == 65
    assert (out.tier, out.amount) == ("MED 65-150", Decimal("300.00"))


def test_turning_65_on_the_1st_without_a_65_tier_has_no_pricing_tier():
    out = decide(facts(assertion(), birth_date=date(1961, 6, 1)))
    assert codes(out) == [Code.NO_PRICING_TIER]


def test_first_matching_tier_wins_when_tiers_overlap():
    tiers = [
        {"benefit": "VIS", "min_age": 0, "max_age": 150, "rate": "5.00"},
        {"benefit": "MED", "min_age": 40, "max_age": 50, "rate": "100.00"},
        {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"},
    ]
    out = decide(facts(assertion()), rules(pricing_tiers=tiers))
    assert (out.tier, out.amount) == ("MED 40-50", Decimal("100.00"))


def test_tier_bounds_are_inclusive():
    tiers = [{"benefit": "MED", "min_age": 46, "max_age": 46, "rate": "46.00"}]
    out = decide(facts(assertion()), rules(pricing_tiers=tiers))
    assert (out.decision_class, out.amount) == (C.BILLED_ACTIVE, Decimal("46.00"))


def test_params_example_builder_matches_the_spec():
    # guard: the worked examples above assume the SPEC example params
    assert params()["pricing_tiers"][0]["rate"] == "412.50"
    assert rules().params.min_billable_days == 1
