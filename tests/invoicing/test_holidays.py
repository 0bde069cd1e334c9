"""Public holidays imported from the `holidays` package, observed days included."""

from datetime import date

import pytest

from invoicing.holiday_import import holiday_dates


def test_holiday_dates_us_2026_includes_the_observed_independence_day():
    days = holiday_dates("US", [2026])
    assert days[date(2026, 7, 4)] == "Independence Day"  # a Saturday
    assert days[date(2026, 7, 3)] == "Independence Day (observed)"  # the Friday off
    assert days[date(2026, 12, 25)] == "Christmas Day"
    assert date(2026, 7, 6) not in days
    assert all(d.year == 2026 for d in days)


def test_holiday_dates_several_years_and_a_lower_case_country():
    days = holiday_dates("us", [2026, 2027])
    assert date(2026, 1, 1) in days
    assert date(2027, 1, 1) in days
    # New Year's Day 2028 is a Saturday: the package files its observed Friday under 2027.
    assert days[date(2027, 12, 31)] == "New Year's Day (observed)"
    assert list(days) == sorted(days)


def test_holiday_dates_other_country():
    days = holiday_dates("GB", [2026])
    assert date(2026, 12, 25) in days
    assert date(2026, 7, 4) not in days


@pytest.mark.parametrize("country", ["XX", "", "U S", None])
def test_holiday_dates_unknown_country_is_refused_by_name(country):
    with pytest.raises(
        ValueError, match=r"country: expected a country code the holidays package supports .*found"
    ):
        holiday_dates(country, [2026])


@pytest.mark.parametrize(
    ("years", "found"),
    [([], "none"), ([1800], "1800"), (["2026"], "'2026'"), ([2026, True], "True")],
)
def test_holiday_dates_bad_years_are_refused(years, found):
    with pytest.raises(ValueError, match=f"years: expected years from 1950 to 2100, found {found}"):
        holiday_dates("US", years)
