"""core.months.parse_month: the one parser for a month typed or sent (issue 11, defect 4)."""

from datetime import date

import pytest
from django.utils import timezone

from core.months import MonthError, month_expected, parse_month

THIS_YEAR = timezone.localdate().year


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "2026-12-garbage",
        "99999999999999999999-01",
        "1900-01",
        "2026-13",
        "2026-00",
        "2026-1",
        "26-01",
        " 2026-01",
        "2026-01 ",
        "2026-01\n",
        "２０２６-０１",  # full-width digits match \d in Python unless ASCII-only
        "2026/01",
        "",
        None,
        202601,
        f"{THIS_YEAR + 3}-01",
    ],
)
def test_parse_month_refuses_anything_but_yyyy_mm_in_range(text):
    with pytest.raises(MonthError) as exc:
        parse_month(text)
    assert str(exc.value) == f"expected YYYY-MM with a year from 2000 to {THIS_YEAR + 2}"
    assert isinstance(exc.value, ValueError)


def test_parse_month_reads_valid_months_as_their_first_day():
    assert parse_month("2026-02") == date(2026, 2, 1)
    assert parse_month("2000-01") == date(2000, 1, 1)
    assert parse_month(f"{THIS_YEAR + 2}-12") == date(THIS_YEAR + 2, 12, 1)


def test_parse_month_first_day_form_only_when_asked():
    assert parse_month("2026-11-01", first_day_ok=True) == date(2026, 11, 1)
    with pytest.raises(MonthError):
        parse_month("2026-11-01")
    with pytest.raises(MonthError):
        parse_month("2026-11-02", first_day_ok=True)


def test_parse_month_year_range_comes_from_settings(settings):
    settings.MONTH_YEAR_MIN = 2020
    settings.MONTH_YEARS_AHEAD = 0
    assert month_expected() == f"expected YYYY-MM with a year from 2020 to {THIS_YEAR}"
    with pytest.raises(MonthError):
        parse_month("2019-12")
    with pytest.raises(MonthError):
        parse_month(f"{THIS_YEAR + 1}-01")
    assert parse_month("2020-01") == date(2020, 1, 1)


@pytest.mark.parametrize(
    "text",
    ["2026-02-30", "2026-2-01", "2026-02-01x", "26-02-01", "1999-12-31", " 2026-02-01", 20260201],
)
def test_parse_date_refuses_anything_but_a_real_yyyy_mm_dd(text):
    from core.months import parse_date

    with pytest.raises(MonthError) as err:
        parse_date(text)
    assert "expected YYYY-MM-DD" in str(err.value)


def test_parse_date_reads_a_real_day():
    from core.months import parse_date

    assert parse_date("2026-02-28") == date(2026, 2, 28)
