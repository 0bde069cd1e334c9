"""Invoice request dates (SPEC 5): worked examples and properties of the pure date module."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.dates import (
    WEEKENDS_OFF,
    AutomaticDates,
    Calendar,
    automatic_dates,
    calendar_for,
    is_working_day,
    manual_processing_date,
    next_cycle_date,
    next_working_day,
)
from invoicing.holiday_import import holiday_dates

D = date.fromisoformat


def us_calendar(*years: int) -> Calendar:
    return Calendar.from_codes(["SAT", "SUN"], holiday_dates("US", list(years)))


# --- calendars -------------------------------------------------------------------------------


def test_calendar_from_codes_maps_weekday_codes_and_holidays():
    cal = Calendar.from_codes(["fri", "SAT"], [D("2026-05-01")])
    assert cal.weekend_days == frozenset({4, 5})
    assert cal.holidays == frozenset({D("2026-05-01")})
    assert Calendar.from_codes([]) == Calendar(frozenset(), frozenset())


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (["SAT", "SUNDAY"], "weekend_days: expected one of MON, TUE, WED, THU, FRI, SAT, SUN"),
        (["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], "at least one weekday"),
    ],
)
def test_calendar_from_codes_refuses_bad_codes_and_all_days_off(codes, message):
    with pytest.raises(ValueError, match=message):
        Calendar.from_codes(codes)


def test_calendar_refuses_weekday_numbers_outside_0_to_6():
    with pytest.raises(ValueError, match=r"expected weekdays 0-6, found \[5, 7\]"):
        Calendar(frozenset({5, 7}), frozenset())


def test_calendar_for_prefers_the_types_then_the_divisions_then_weekends_off():
    type_cal = Calendar.from_codes(["FRI", "SAT"])
    division_cal = Calendar.from_codes(["SUN"])
    assert calendar_for(type_cal, division_cal) is type_cal
    assert calendar_for(None, division_cal) is division_cal
    assert calendar_for(None, None) is WEEKENDS_OFF


def test_is_working_day_weekend_and_holiday():
    cal = us_calendar(2026)
    assert is_working_day(D("2026-07-02"), cal)  # Thursday
    assert not is_working_day(D("2026-07-03"), cal)  # Friday, Independence Day (observed)
    assert not is_working_day(D("2026-07-04"), cal)  # Saturday
    assert not is_working_day(D("2026-01-01"), cal)  # Thursday, New Year's Day
    assert is_working_day(D("2026-07-03"), WEEKENDS_OFF)


# --- manual processing date --------------------------------------------------------------------


def test_manual_processing_date_on_a_working_day_is_that_day():
    assert manual_processing_date(D("2026-03-06"), 0, WEEKENDS_OFF) == D("2026-03-06")  # Friday


def test_manual_processing_date_skips_the_weekend():
    # Friday + 1 = Saturday -> Monday.
    assert manual_processing_date(D("2026-03-06"), 1, WEEKENDS_OFF) == D("2026-03-09")


def test_manual_processing_date_skips_an_observed_holiday_and_the_weekend_after_it():
    # Independence Day 2026 is a Saturday; the package observes it on Friday 2026-07-03.
    # Thursday + 1 = Friday (observed) -> Saturday, Sunday -> Monday 2026-07-06.
    assert manual_processing_date(D("2026-07-02"), 1, us_calendar(2026)) == D("2026-07-06")
    # Without the holiday the Friday is a working day.
    assert manual_processing_date(D("2026-07-02"), 1, WEEKENDS_OFF) == D("2026-07-03")


def test_manual_processing_date_uses_the_chosen_calendar_type_over_division():
    type_cal = Calendar.from_codes(["FRI", "SAT"])  # a Sunday-to-Thursday week
    division_cal = WEEKENDS_OFF
    friday = D("2026-03-06")
    assert manual_processing_date(friday, 0, calendar_for(type_cal, division_cal)) == D(
        "2026-03-08"
    )
    assert manual_processing_date(friday, 0, calendar_for(None, division_cal)) == friday


def test_manual_processing_date_counts_wait_days_in_calendar_days():
    # Monday + 10 = Thursday 2026-03-12 (the wait is calendar days, only the result must work).
    assert manual_processing_date(D("2026-03-02"), 10, WEEKENDS_OFF) == D("2026-03-12")


def test_manual_processing_date_refuses_negative_wait():
    with pytest.raises(ValueError, match="wait_days: expected 0 or more, found -1"):
        manual_processing_date(D("2026-03-02"), -1, WEEKENDS_OFF)


def test_next_working_day_crosses_a_run_of_holidays():
    cal = Calendar.from_codes(["SAT", "SUN"], [D("2026-03-02"), D("2026-03-03")])
    assert next_working_day(D("2026-02-28"), cal) == D("2026-03-04")


# --- bill cycle ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "cycle_day", "expected"),
    [
        ("2026-03-10", 10, "2026-03-10"),  # on the day itself
        ("2026-03-11", 10, "2026-04-10"),  # just after: next month
        ("2026-01-31", 28, "2026-02-28"),  # month end into February
        ("2026-02-28", 28, "2026-02-28"),
        ("2028-02-29", 28, "2028-03-28"),  # leap day
        ("2026-12-29", 1, "2027-01-01"),  # year end
        ("2026-12-15", 10, "2027-01-10"),
        ("2026-06-01", 1, "2026-06-01"),
    ],
)
def test_next_cycle_date(given, cycle_day, expected):
    assert next_cycle_date(D(given), cycle_day) == D(expected)


@pytest.mark.parametrize("cycle_day", [0, 29, 31])
def test_next_cycle_date_refuses_days_outside_1_to_28(cycle_day):
    with pytest.raises(ValueError, match=f"bill_cycle_day: expected 1-28, found {cycle_day}"):
        next_cycle_date(D("2026-03-01"), cycle_day)


# --- automatic algorithm -------------------------------------------------------------------


def auto(business_date, *, wait=0, threshold=0, cycle_day=10, cal=WEEKENDS_OFF):
    return automatic_dates(
        D(business_date),
        wait_days=wait,
        threshold_days=threshold,
        bill_cycle_day=cycle_day,
        cal=cal,
    )


def expect(processing, cutoff):
    return AutomaticDates(
        processing_date=D(processing),
        cutoff_date=D(cutoff),
        bill_date=D(cutoff),
        accounting_date=D(processing),
    )


def test_automatic_dates_window_kept_when_the_gap_exceeds_the_threshold():
    # P = Monday 2026-03-02, B = 2026-03-10: (B - P) = 8 > 7.
    assert auto("2026-03-02", threshold=7) == expect("2026-03-02", "2026-03-10")


def test_automatic_dates_gap_equal_to_the_threshold_takes_the_next_window():
    # (B - P) = 8 is not > 8: the next cycle date after B.
    assert auto("2026-03-02", threshold=8) == expect("2026-03-02", "2026-04-10")


def test_automatic_dates_gap_below_the_threshold_takes_the_next_window():
    assert auto("2026-03-02", threshold=9) == expect("2026-03-02", "2026-04-10")


def test_automatic_dates_processing_date_on_the_cycle_day_moves_to_the_next_window():
    # P = B = Monday 2026-06-01 with cycle day 1: (B - P) = 0 is never > a threshold >= 0.
    assert auto("2026-06-01", cycle_day=1) == expect("2026-06-01", "2026-07-01")


def test_automatic_dates_weekend_moves_p_then_the_window_follows_p():
    # Friday 2026-01-30 + 1 = Saturday -> Monday 2026-02-02; cycle day 28: B = 2026-02-28,
    # (B - P) = 26.
    assert auto("2026-01-30", wait=1, cycle_day=28, threshold=25) == expect(
        "2026-02-02", "2026-02-28"
    )
    assert auto("2026-01-30", wait=1, cycle_day=28, threshold=26) == expect(
        "2026-02-02", "2026-03-28"
    )


def test_automatic_dates_month_end_after_the_cycle_day():
    # P = Friday 2026-07-31, cycle day 28: B = 2026-08-28, (B - P) = 28.
    assert auto("2026-07-31", cycle_day=28, threshold=27) == expect("2026-07-31", "2026-08-28")
    assert auto("2026-07-31", cycle_day=28, threshold=28) == expect("2026-07-31", "2026-09-28")


def test_automatic_dates_year_end_with_cycle_day_1():
    # P = Thursday 2026-12-31, B = 2027-01-01, (B - P) = 1.
    assert auto("2026-12-31", cycle_day=1, threshold=0) == expect("2026-12-31", "2027-01-01")
    assert auto("2026-12-31", cycle_day=1, threshold=1) == expect("2026-12-31", "2027-02-01")


def test_automatic_dates_year_end_observed_new_year_from_the_holidays_package():
    # New Year's Day 2028 is a Saturday, observed Friday 2027-12-31. Thursday 2027-12-30 + 1
    # -> Friday (observed) -> Monday 2028-01-03. Cycle day 1: B = 2028-02-01, (B - P) = 29.
    cal = us_calendar(2027, 2028)
    assert auto("2027-12-30", wait=1, cycle_day=1, threshold=28, cal=cal) == expect(
        "2028-01-03", "2028-02-01"
    )
    assert auto("2027-12-30", wait=1, cycle_day=1, threshold=29, cal=cal) == expect(
        "2028-01-03", "2028-03-01"
    )


def test_automatic_dates_type_calendar_over_division_calendar():
    # Friday 2026-03-06: a working day in the division's week, off in the type's (Fri/Sat off).
    type_cal = Calendar.from_codes(["FRI", "SAT"])
    assert auto("2026-03-06", cal=calendar_for(type_cal, WEEKENDS_OFF)) == expect(
        "2026-03-08", "2026-03-10"
    )
    assert auto("2026-03-06", cal=calendar_for(None, WEEKENDS_OFF)) == expect(
        "2026-03-06", "2026-03-10"
    )


def test_automatic_dates_refuses_negative_threshold():
    with pytest.raises(ValueError, match="threshold_days: expected 0 or more, found -2"):
        auto("2026-03-02", threshold=-2)


# --- properties ----------------------------------------------------------------------------


@st.composite
def calendars_near(draw, start: date) -> Calendar:
    """A calendar with 0-6 weekend days and holidays within ~4 months of `start`."""
    weekend = draw(st.frozensets(st.integers(0, 6), max_size=6))
    offsets = draw(st.frozensets(st.integers(0, 120), max_size=40))
    return Calendar(weekend, frozenset(start + timedelta(days=o) for o in offsets))


business_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), business_date=business_dates, wait=st.integers(0, 60))
def test_property_manual_processing_date_is_the_first_working_day_from_d_plus_wait(
    data, business_date, wait
):
    earliest = business_date + timedelta(days=wait)
    cal = data.draw(calendars_near(earliest))
    p = manual_processing_date(business_date, wait, cal)
    assert is_working_day(p, cal)
    assert p >= earliest
    day = earliest
    while day < p:
        assert not is_working_day(day, cal)
        day += timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(given_day=business_dates, cycle_day=st.integers(1, 28))
def test_property_next_cycle_date_is_the_first_cycle_day_on_or_after(given_day, cycle_day):
    result = next_cycle_date(given_day, cycle_day)
    assert result >= given_day
    assert result.day == cycle_day
    assert all(
        (given_day + timedelta(days=n)).day != cycle_day for n in range((result - given_day).days)
    )


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    business_date=business_dates,
    wait=st.integers(0, 60),
    threshold=st.integers(0, 60),
    cycle_day=st.integers(1, 28),
)
def test_property_automatic_cutoff_is_the_first_or_second_window_by_the_threshold(
    data, business_date, wait, threshold, cycle_day
):
    cal = data.draw(calendars_near(business_date + timedelta(days=wait)))
    result = automatic_dates(
        business_date, wait_days=wait, threshold_days=threshold, bill_cycle_day=cycle_day, cal=cal
    )
    p, cutoff = result.processing_date, result.cutoff_date
    assert p == manual_processing_date(business_date, wait, cal)
    assert result.accounting_date == p
    assert result.bill_date == cutoff
    assert cutoff.day == cycle_day
    assert cutoff > p
    # The cycle days in [P, cutoff): none when the first window B was kept (then the gap
    # exceeds the threshold), exactly B when it was skipped (then B's gap did not).
    skipped = [
        p + timedelta(days=n)
        for n in range((cutoff - p).days)
        if (p + timedelta(days=n)).day == cycle_day
    ]
    assert len(skipped) <= 1
    if skipped:
        assert (skipped[0] - p).days <= threshold
    else:
        assert (cutoff - p).days > threshold
