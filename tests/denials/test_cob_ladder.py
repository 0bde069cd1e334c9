"""The COB ladder (denials/cob.py): SPEC 6 cases and properties."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from denials.cob import (
    COMMERCIAL,
    KINDS,
    MEDICAID,
    MEDICARE,
    OTHER,
    CoverageFact,
    apply_override,
    cob_order,
)

DAY = date(2026, 6, 1)


def cov(code, kind, *, size=None, active=False, eff=date(2025, 1, 1), term=None):
    return CoverageFact(code, kind, size, active, eff, term)


def test_medicaid_is_last_with_anything():
    for kind in (COMMERCIAL, MEDICARE, OTHER):
        ladder = cob_order(
            [cov("MCAID", MEDICAID, eff=date(2020, 1, 1)), cov("X", kind, eff=date(2025, 1, 1))],
            DAY,
        )
        assert ladder.order == ["X", "MCAID"]
        assert any("payer of last resort" in r for r in ladder.reasons)


def test_medicare_second_to_employer_of_20():
    facts = [cov("MCARE", MEDICARE, eff=date(2020, 1, 1)), cov("ACME", COMMERCIAL, size=20,
             active=True, eff=date(2025, 1, 1))]  # fmt: skip
    ladder = cob_order(facts, DAY)
    assert ladder.order == ["ACME", "MCARE"]
    assert any("Medicare pays second" in r for r in ladder.reasons)


def test_medicare_first_with_employer_of_19():
    facts = [cov("MCARE", MEDICARE, eff=date(2025, 1, 1)), cov("ACME", COMMERCIAL, size=19,
             active=True, eff=date(2020, 1, 1))]  # fmt: skip
    ladder = cob_order(facts, DAY)
    assert ladder.order == ["MCARE", "ACME"]
    assert any("Medicare pays first" in r for r in ladder.reasons)


def test_medicare_first_when_retired():
    facts = [cov("MCARE", MEDICARE, eff=date(2025, 1, 1)), cov("ACME", COMMERCIAL, size=500,
             active=False, eff=date(2020, 1, 1))]  # fmt: skip
    assert cob_order(facts, DAY).order == ["MCARE", "ACME"]


def test_medicare_employer_and_medicaid():
    facts = [
        cov("MCAID", MEDICAID, eff=date(2019, 1, 1)),
        cov("MCARE", MEDICARE, eff=date(2020, 1, 1)),
        cov("ACME", COMMERCIAL, size=250, active=True, eff=date(2025, 1, 1)),
    ]
    assert cob_order(facts, DAY).order == ["ACME", "MCARE", "MCAID"]


def test_two_commercial_by_effective_date():
    facts = [cov("LATE", COMMERCIAL, eff=date(2025, 3, 1)), cov("EARLY", COMMERCIAL,
             eff=date(2024, 3, 1))]  # fmt: skip
    ladder = cob_order(facts, DAY)
    assert ladder.order == ["EARLY", "LATE"]
    assert any("effective date" in r for r in ladder.reasons)


def test_same_date_ties_by_payer_code():
    facts = [cov("ZED", COMMERCIAL), cov("ALPHA", OTHER)]
    assert cob_order(facts, DAY).order == ["ALPHA", "ZED"]


def test_terminated_and_future_coverages_are_ignored():
    facts = [
        cov("OLD", COMMERCIAL, eff=date(2020, 1, 1), term=date(2026, 5, 31)),
        cov("NEXT", COMMERCIAL, eff=date(2026, 6, 2)),
        cov("NOW", COMMERCIAL, eff=date(2026, 1, 1), term=DAY),  # termination is inclusive
    ]
    ladder = cob_order(facts, DAY)
    assert ladder.order == ["NOW"]
    assert any("NEXT, OLD" in r for r in ladder.reasons)


def test_no_active_coverage():
    ladder = cob_order([cov("OLD", COMMERCIAL, term=date(2025, 2, 1))], DAY)
    assert ladder.order == []
    assert any("No coverage is active" in r for r in ladder.reasons)


def test_override_wins_and_reports_inactive_payers():
    got = apply_override(["A", "B", "C"], ["C", "GONE", "A"])
    assert got.order == ["C", "A", "B"]
    assert got.not_active == ["GONE"]


def test_override_removed_means_ladder_again():
    order = cob_order([cov("MCARE", MEDICARE), cov("ACME", COMMERCIAL, size=30, active=True)], DAY)
    assert apply_override(order.order, ["MCARE", "ACME"]).order == ["MCARE", "ACME"]
    assert apply_override(order.order, []).order == order.order == ["ACME", "MCARE"]


_facts = st.lists(
    st.builds(
        CoverageFact,
        payer_code=st.sampled_from(["P1", "P2", "P3", "P4", "P5"]),
        kind=st.sampled_from(KINDS),
        employer_size=st.one_of(st.none(), st.integers(0, 100)),
        active_employment=st.booleans(),
        effective=st.dates(date(2024, 1, 1), date(2026, 12, 31)),
        termination=st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2027, 12, 31))),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(_facts, st.dates(date(2024, 1, 1), date(2027, 12, 31)))
def test_ladder_properties(facts, day):
    ladder = cob_order(facts, day)
    active = {f.payer_code for f in facts if f.active_on(day)}
    assert sorted(ladder.order) == sorted(active)  # a permutation of the active payers
    medicaid_only = {f.payer_code for f in facts if f.active_on(day)} - {
        f.payer_code for f in facts if f.active_on(day) and f.kind != MEDICAID
    }
    seen_medicaid = False
    for code in ladder.order:
        if code in medicaid_only:
            seen_medicaid = True
        else:
            assert not seen_medicaid  # never a non-Medicaid payer after a Medicaid-only one
    assert cob_order(list(reversed(facts)), day).order == ladder.order  # input order is moot
    assert cob_order(facts, day) == ladder  # stable


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from("ABCDE"), unique=True), st.lists(st.sampled_from("ABCDEF")))
def test_override_properties(order, named):
    got = apply_override(order, named)
    assert sorted(got.order) == sorted(order)
    assert set(got.not_active) == set(named) - set(order)


def test_dates_helper_sanity():
    assert cov("A", OTHER, eff=DAY, term=DAY + timedelta(days=0)).active_on(DAY)
