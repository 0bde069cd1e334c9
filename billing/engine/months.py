"""Month arithmetic on first-of-month dates."""

import calendar
from datetime import date, timedelta
from functools import lru_cache


@lru_cache(maxsize=512)  # a run asks for the same few months once per member
def month_bounds(month: date) -> tuple[date, date, int]:
    """First day, last day and number of days of the month containing `month`."""
    first = month.replace(day=1)
    days = calendar.monthrange(first.year, first.month)[1]
    return first, first + timedelta(days=days - 1), days


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (or before) `month`."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def age_on(birth: date, day: date) -> int:
    """Age in whole years on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
