"""The one parser for a billing month typed by a person or sent by a system: exactly `YYYY-MM`.

Every entry point (API fields and filters, commands, screens, stored override payloads) uses it,
so "2026-02-30", "2026-12-garbage", a 20-digit year or 1900 are refused alike.
"""

from __future__ import annotations

import re
from datetime import date

from django.conf import settings
from django.utils import timezone

_MONTH = re.compile(r"\d{4}-\d{2}", re.ASCII)
_FIRST_DAY = re.compile(r"\d{4}-\d{2}-01", re.ASCII)


class MonthError(ValueError):
    """A month that is not `YYYY-MM` inside the accepted years; the message says what is."""


def month_year_range() -> tuple[int, int]:
    """The accepted years, inclusive: MONTH_YEAR_MIN to this year + MONTH_YEARS_AHEAD."""
    low = getattr(settings, "MONTH_YEAR_MIN", 2000)
    high = timezone.localdate().year + getattr(settings, "MONTH_YEARS_AHEAD", 2)
    return low, high


def month_expected() -> str:
    """'expected YYYY-MM with a year from 2000 to 2028'."""
    low, high = month_year_range()
    return f"expected YYYY-MM with a year from {low} to {high}"


def parse_month(text, *, first_day_ok: bool = False) -> date:
    """'2026-11' -> date(2026, 11, 1); MonthError otherwise.

    `first_day_ok` also takes '2026-11-01' (how months are stored in JSON payloads).
    """
    if not isinstance(text, str):
        raise MonthError(month_expected())
    if first_day_ok and _FIRST_DAY.fullmatch(text):
        text = text[:7]
    if not _MONTH.fullmatch(text):
        raise MonthError(month_expected())
    year, month = int(text[:4]), int(text[5:7])
    low, high = month_year_range()
    if not (1 <= month <= 12 and low <= year <= high):
        raise MonthError(month_expected())
    return date(year, month, 1)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def date_expected() -> str:
    """'expected YYYY-MM-DD with a year from 2000 to 2028'."""
    low, high = month_year_range()
    return f"expected YYYY-MM-DD with a year from {low} to {high}"


def parse_date(text) -> date:
    """'2026-11-30' -> date(2026, 11, 30); MonthError otherwise (a real day, accepted years)."""
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise MonthError(date_expected())
    try:
        day = date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        raise MonthError(date_expected()) from None
    low, high = month_year_range()
    if not low <= day.year <= high:
        raise MonthError(date_expected())
    return day
