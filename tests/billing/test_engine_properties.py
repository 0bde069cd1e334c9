"""Hypothesis invariants of the billing engine (SPEC 4): proration sums, determinism,
outcome invariants, replay, and the month helpers."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.engine import (
    BILLABLE_CLASSES,
    Assertion,
    DecisionClass,
    MemberFacts,
    Override,
    ServiceEvent,
    evaluate,
    facts_from_inputs,
    retro_delta,
)
from billing.engine.money import cents
from billing.engine.months import add_months, age_on, month_bounds
from billing.engine.params import SOURCE_KINDS
from billing.engine.types import Code
from tests.billing.engine_builders import (
    assertion,
    at,
    decide,
    facts,
    month,
    override,
    params,
    rules,
)

C = DecisionClass
NOT_BILLED = {c for c in C if c.name.startswith("NOT_BILLED_")}
ENGINE_CODES = {
    Code.CONTRADICTORY_ASSERTIONS,
    Code.UNKNOWN_BENEFIT_COMBINATION,
    Code.NO_PRICING_TIER,
}
SLOW_OK = settings(deadline=None, max_examples=150)

months = st.dates(date(1990, 1, 1), date(2099, 12, 31)).map(lambda d: d.replace(day=1))
rates = st.integers(0, 10_000_000).map(lambda c: Decimal(c).scaleb(-2))


# --- (a) proration of a split month adds up ---------------------------------------------------


@SLOW_OK
@given(on=months, rate=rates, data=st.data())
def test_daily_proration_of_a_split_month_adds_up_to_the_rate(on, rate, data):
    # given a month cut into consecutive coverage periods (one member-month per period)
    first, last, n_days = month_bounds(on)
    cuts = data.draw(st.sets(st.integers(1, n_days - 1), max_size=6), label="cuts")
    bounds = [0, *sorted(cuts), n_days]
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 150, "rate": str(rate)}]
    rule_version = rules(requires_service_delivery=False, pricing_tiers=tiers)
    total, days = Decimal("0.00"), 0
    for start, end in zip(bounds, bounds[1:], strict=False):
        start_day, end_day = first + timedelta(days=start), first + timedelta(days=end - 1)
        a = assertion(
            effective_date=start_day,
            termination_date=end_day,
            status="TERMINATED" if end_day < last else "ACTIVE",
        )
        # when each period is evaluated on its own under DAILY proration
        out = evaluate(facts(a), rule_version, on, at(2100, 1, 1))
        expected = C.BILLED_ACTIVE if end_day == last else C.BILLED_PARTIAL_TERM
        assert out.decision_class == expected
        assert out.billable_days == end - start
        total += out.amount
        days += out.billable_days
    # then days tie out and each part is off the exact share by at most half a cent
    parts = len(bounds) - 1
    assert days == n_days
    assert abs(total - rate) <= Decimal("0.005") * parts


@given(on=months, rate=rates)
def test_whole_month_is_exactly_the_rate_under_either_proration(on, rate):
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 150, "rate": str(rate)}]
    for proration in ("DAILY", "FULL_MONTH"):
        rule_version = rules(
            requires_service_delivery=False, pricing_tiers=tiers, proration=proration
        )
        out = evaluate(
            facts(assertion(effective_date=date(1980, 1, 1))), rule_version, on, at(2100, 1, 1)
        )
        assert (out.decision_class, out.amount) == (C.BILLED_ACTIVE, rate)


@given(value=st.decimals(min_value=-10_000, max_value=10_000, places=6, allow_nan=False))
def test_cents_rounds_half_up_to_two_places(value):
    rounded = cents(value)
    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - value) <= Decimal("0.005")
    if abs(rounded - value) == Decimal("0.005"):
        # a tie goes away from zero
        assert abs(rounded) > abs(value)


# --- random facts and rules --------------------------------------------------------------------

KINDS = [*SOURCE_KINDS, "PAPER"]  # PAPER is in no precedence list: it ranks last
BENEFITS = ["MED", "VIS"]
SUFFIXES = ["", "", "D", "X"]
SERVICE_CODES = ["99213", "99214", "00000"]


@st.composite
def rule_versions(draw):
    tiers = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "benefit": st.sampled_from(["MED", "VIS", "MED_DENTAL"]),
                    "min_age": st.integers(0, 70),
                    "span": st.integers(0, 80),
                    "rate": rates.map(str),
                }
            ),
            max_size=4,
        )
    )
    raw = params(
        requires_service_delivery=draw(st.booleans()),
        qualifying_service_codes=draw(st.lists(st.sampled_from(SERVICE_CODES), unique=True)),
        proration=draw(st.sampled_from(["DAILY", "FULL_MONTH"])),
        min_billable_days=draw(st.integers(0, 10)),
        file_precedence=draw(st.permutations(SOURCE_KINDS)),
        pricing_tiers=[
            {
                "benefit": t["benefit"],
                "min_age": t["min_age"],
                "max_age": min(t["min_age"] + t["span"], 150),
                "rate": t["rate"],
            }
            for t in tiers
        ],
    )
    if draw(st.booleans()):
        raw["file_precedence"] = raw["file_precedence"][: draw(st.integers(0, 4))]
    return rules(raw)


@st.composite
def member_months(draw):
    """(facts, month, cutoff) with deliberately few distinct dates, so that ties happen."""
    on = draw(st.sampled_from([month(2024, 2), month(2026, 2), month(2026, 6), month(2026, 7)]))
    first, last, _ = month_bounds(on)
    cutoff = at(last.year, last.month, last.day, 12)
    around = st.integers(-40, 70).map(lambda n: first + timedelta(days=n))
    # the last arrival is after the cutoff: those facts must be ignored
    arrivals = st.sampled_from(
        [at(2023, 12, 1), at(first.year, first.month, 10), cutoff, cutoff + timedelta(hours=1)]
    )
    file_dates = st.sampled_from([date(2023, 11, 30), first, first + timedelta(days=9)])
    ids = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=5))
    assertions = tuple(
        Assertion(
            id=i,
            source_kind=draw(st.sampled_from(KINDS)),
            file_date=draw(file_dates),
            received_at=draw(arrivals),
            status=draw(
                st.sampled_from(["ACTIVE", "ACTIVE", "PENDING", "TERMINATED", "CANCELLED"])
            ),
            effective_date=draw(around),
            termination_date=draw(st.none() | around),
            benefit_code=draw(st.sampled_from(BENEFITS)),
            benefit_suffix=draw(st.sampled_from(SUFFIXES)),
        )
        for i in ids
    )
    service_ids = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=4))
    services = tuple(
        ServiceEvent(
            id=i,
            service_date=draw(around),
            service_code=draw(st.sampled_from(SERVICE_CODES)),
            received_at=draw(arrivals),
        )
        for i in service_ids
    )
    member_override = draw(
        st.none()
        | st.builds(
            Override,
            id=st.integers(1, 100),
            outcome=st.sampled_from(["BILLABLE", "NOT_BILLABLE"]),
            rate=st.none() | rates,
        )
    )
    birth = draw(st.none() | st.dates(date(1930, 1, 1), date(2026, 1, 1)))
    member = MemberFacts(
        member_id=1,
        birth_date=birth,
        assertions=assertions,
        services=services,
        override=member_override,
    )
    return member, on, cutoff


def _key(out):
    return (
        out.decision_class,
        out.billable,
        out.billable_days,
        out.amount,
        out.tier,
        out.exceptions,
    )


# --- (b) determinism ---------------------------------------------------------------------------


@SLOW_OK
@given(case=member_months(), rule_version=rule_versions(), data=st.data())
def test_same_facts_in_any_order_give_the_same_outcome(case, rule_version, data):
    member, on, cutoff = case
    shuffled = MemberFacts(
        member_id=member.member_id,
        birth_date=member.birth_date,
        assertions=tuple(data.draw(st.permutations(member.assertions), label="assertions")),
        services=tuple(data.draw(st.permutations(member.services), label="services")),
        override=member.override,
    )
    one = evaluate(member, rule_version, on, cutoff)
    other = evaluate(shuffled, rule_version, on, cutoff)
    assert _key(one) == _key(other)
    assert one.inputs == other.inputs


# --- (c) invariants ----------------------------------------------------------------------------


@SLOW_OK
@given(case=member_months(), rule_version=rule_versions())
def test_outcome_invariants(case, rule_version):
    member, on, cutoff = case
    _, _, n_days = month_bounds(on)
    out = evaluate(member, rule_version, on, cutoff)
    ov = member.override
    # billable iff a billable class, or an override that made the month billable
    assert out.billable == (
        out.decision_class in BILLABLE_CLASSES
        or (out.decision_class == C.OVERRIDE_APPLIED and ov.outcome == "BILLABLE")
    )
    # evaluate itself never decides a retroactive class
    assert out.decision_class not in {C.BILLED_RETROACTIVE, C.NOT_BILLED_RETROACTIVE}
    # amounts: cents, never negative, never above the highest rate that could apply
    ceiling = max([Decimal(0)] + [t.rate for t in rule_version.params.pricing_tiers])
    if ov is not None and ov.rate is not None:
        ceiling = max(ceiling, ov.rate)
    assert out.amount.as_tuple().exponent == -2
    assert Decimal(0) <= out.amount <= ceiling
    if not out.billable:
        assert out.amount == 0
    if out.decision_class in NOT_BILLED:
        assert out.amount == 0
        assert not out.billable
    assert 0 <= out.billable_days <= n_days
    assert {f.code for f in out.exceptions} <= ENGINE_CODES
    if out.decision_class in {C.BILLED_ACTIVE, C.BILLED_PARTIAL_TERM}:
        assert out.tier
        assert out.inputs["winner"] is not None
        assert (out.decision_class == C.BILLED_PARTIAL_TERM) == out.inputs[
            "termination_inside_month"
        ]
    # every recorded assertion and service was received by the cutoff
    assert all(row[3] <= cutoff.isoformat() for row in out.inputs["assertions"])
    assert all(row[3] <= cutoff.isoformat() for row in out.inputs["services"])


@SLOW_OK
@given(case=member_months(), rule_version=rule_versions(), billed=rates)
def test_retro_delta_ties_out(case, rule_version, billed):
    member, on, cutoff = case
    now = evaluate(member, rule_version, on, cutoff)
    retro = retro_delta(now, billed)
    new_amount = now.amount if now.billable else Decimal("0.00")
    if new_amount == billed:
        assert retro is None
        return
    # billed before + delta = what the month is worth now
    assert billed + retro.amount == new_amount
    assert retro.decision_class == (
        C.BILLED_RETROACTIVE if now.billable else C.NOT_BILLED_RETROACTIVE
    )
    if not now.billable:
        assert retro.amount < 0
    # a second run that already counted this delta finds nothing left
    assert retro_delta(now, billed + retro.amount) is None


# --- (d) replay ----------------------------------------------------------------------------------


@SLOW_OK
@given(case=member_months(), rule_version=rule_versions())
def test_replaying_recorded_inputs_gives_the_same_outcome(case, rule_version):
    member, on, cutoff = case
    out = evaluate(member, rule_version, on, cutoff)
    again = evaluate(facts_from_inputs(out.inputs, member_id=1), rule_version, on, cutoff)
    assert _key(again) == _key(out)
    assert again.inputs == out.inputs


def test_replay_against_another_rule_version():
    # given a June decision under v1 (412.50)
    out = decide(facts(assertion()))
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "500.00"}]
    v2 = rules(pricing_tiers=tiers, version_id=2, version="v2")
    # when its inputs are replayed under v2
    again = evaluate(facts_from_inputs(out.inputs), v2, month(2026, 6), at(2026, 7, 1, 6))
    # then v2's rate applies to the very same facts
    assert (again.decision_class, again.amount) == (C.BILLED_ACTIVE, Decimal("500.00"))
    assert again.inputs["rule_version"]["id"] == 2
    assert again.inputs["age"] == out.inputs["age"] == 46
    assert again.inputs["assertions"] == out.inputs["assertions"]


def test_replay_keeps_the_override_and_its_rate():
    out = decide(facts(assertion(), services=[], override=override(9, rate="0.00")))
    replayed = facts_from_inputs(out.inputs, member_id=5)
    assert replayed.member_id == 5
    assert replayed.override == Override(9, "BILLABLE", Decimal("0.00"))
    assert replayed.birth_date is None
    again = evaluate(replayed, rules(), month(2026, 6), at(2026, 7, 1, 6))
    assert (again.decision_class, again.amount) == (C.OVERRIDE_APPLIED, Decimal("0.00"))


# --- (e) month helpers ---------------------------------------------------------------------------


@given(on=months, count=st.integers(-1200, 1200))
def test_add_months_round_trips(on, count):
    there = add_months(on, count)
    assert there.day == 1
    assert add_months(there, -count) == on
    assert (there.year - on.year) * 12 + there.month - on.month == count


@given(on=months, years=st.integers(-50, 50))
def test_add_months_by_twelve_is_a_year(on, years):
    assert add_months(on, 12 * years) == on.replace(year=on.year + years)


@given(day=st.dates(date(1900, 1, 1), date(2199, 12, 31)))
def test_month_bounds(day):
    first, last, n_days = month_bounds(day)
    assert first == day.replace(day=1)
    assert (last.year, last.month) == (day.year, day.month)
    assert last.day == n_days
    assert (last + timedelta(days=1)).day == 1
    assert add_months(first, 1) == last + timedelta(days=1)
    if day.month == 2:
        assert n_days == (29 if calendar.isleap(day.year) else 28)


def test_month_bounds_worked_examples():
    assert month_bounds(date(2024, 2, 17)) == (date(2024, 2, 1), date(2024, 2, 29), 29)
    assert month_bounds(date(2026, 2, 1)) == (date(2026, 2, 1), date(2026, 2, 28), 28)
    assert month_bounds(date(2000, 2, 1))[2] == 29
    assert month_bounds(date(2100, 2, 1))[2] == 28
    assert month_bounds(date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31), 31)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)


@given(birth=st.dates(date(1900, 1, 1), date(2100, 12, 31)), later=st.integers(0, 40_000))
def test_age_on_counts_birthdays_passed(birth, later):
    day = birth + timedelta(days=later)

    def anniversary(year):
        # a leap-day birthday falls on 1 March in common years
        try:
            return birth.replace(year=year)
        except ValueError:
            return date(year, 3, 1)

    expected = sum(1 for y in range(birth.year + 1, day.year + 1) if anniversary(y) <= day)
    assert age_on(birth, day) == expected


def test_age_on_worked_examples():
    # whole years on the first of the month: turning 65 on the 2nd is still 64
    assert age_on(date(1961, 6, 2), date(2026, 6, 1)) == 64
    assert age_on(date(1961, 6, 1), date(2026, 6, 1)) == 65
    assert age_on(date(1961, 5, 31), date(2026, 6, 1)) == 65
    # a leap-day birthday counts on 1 March in common years
    assert age_on(date(2024, 2, 29), date(2025, 2, 28)) == 0
    assert age_on(date(2024, 2, 29), date(2025, 3, 1)) == 1
    assert age_on(date(2024, 2, 29), date(2028, 2, 29)) == 4
