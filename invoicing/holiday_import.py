"""Public holidays for a work calendar, from the `holidays` package (observed days included).

When a holiday falls on a weekend the package adds the day off people actually get, named
"... (observed)" (US Independence Day 2026 is a Saturday: Friday 2026-07-03 is observed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays

YEAR_MIN, YEAR_MAX = 1950, 2100


def holiday_dates(country: str, years: Iterable[int]) -> dict[date, str]:
    """{day: name} of the country's public holidays in those years, observed days included."""
    code = str(country or "").strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise ValueError(
            f"country: expected a country code the holidays package supports "
            f"(e.g. US, GB, DE), found {country!r}"
        )
    wanted = list(years)
    bad = [
        y
        for y in wanted
        if isinstance(y, bool) or not isinstance(y, int) or not YEAR_MIN <= y <= YEAR_MAX
    ]
    if not wanted or bad:
        found = ", ".join(repr(y) for y in bad) if bad else "none"
        raise ValueError(f"years: expected years from {YEAR_MIN} to {YEAR_MAX}, found {found}")
    found_days = holidays.country_holidays(code, years=sorted(set(wanted)), observed=True)
    # A day observed in the year before (New Year's Day 2022 -> Friday 2021-12-31) belongs to
    # the year whose holiday it replaces; the package files it there, so keep what it gives.
    return dict(sorted(found_days.items()))
