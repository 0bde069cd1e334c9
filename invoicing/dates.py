"""Invoice request dates (SPEC 5), pure: no ORM, plain dates and a frozen calendar in, dates out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

_CODES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Calendar:
    """Weekend weekdays (0=Mon..6=Sun) and holiday dates."""

    weekend_days: frozenset[int]
    holidays: frozenset[date]

    @classmethod
    def from_codes(cls, codes: Iterable[str], holidays: Iterable[date] = ()) -> Calendar:
        """Calendar(["SAT", "SUN"], holidays) from weekday codes."""
        return cls(frozenset(_CODES.index(c.upper()) for c in codes), frozenset(holidays))


WEEKENDS_OFF = Calendar(frozenset({5, 6}), frozenset())


def is_working_day(day: date, cal: Calendar) -> bool:
    """Neither a weekend day nor a holiday."""
    return day.weekday() not in cal.weekend_days and day not in cal.holidays


def next_working_day(on_or_after: date, cal: Calendar) -> date:
    """The first working day on or after the given date."""
    if len(cal.weekend_days) >= 7:
        raise ValueError("the calendar has no working weekday")
    day = on_or_after
    while not is_working_day(day, cal):
        day += timedelta(days=1)
    return day


def manual_processing_date(today: date, wait_days: int, cal: Calendar) -> date:
    """Next working day on or after today + wait_days."""
    return next_working_day(today + timedelta(days=wait_days), cal)


def next_cycle_date(on_or_after: date, bill_cycle_day: int) -> date:
    """The first date on or after the given one whose day of month is bill_cycle_day (1-28)."""
    if on_or_after.day <= bill_cycle_day:
        return on_or_after.replace(day=bill_cycle_day)
    first_next = (on_or_after.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next.replace(day=bill_cycle_day)


@dataclass(frozen=True)
class AutomaticDates:
    """The dates of an automatic request."""

    processing_date: date
    cutoff_date: date
    bill_date: date
    accounting_date: date


def automatic_dates(
    business_date: date, *, wait_days: int, threshold_days: int, bill_cycle_day: int, cal: Calendar
) -> AutomaticDates:
    """P, then the bill-cycle window B (the next one when (B - P).days <= threshold_days)."""
    p = manual_processing_date(business_date, wait_days, cal)
    b = next_cycle_date(p, bill_cycle_day)
    cutoff = (
        b
        if (b - p).days > threshold_days
        else next_cycle_date(b + timedelta(days=1), bill_cycle_day)
    )
    return AutomaticDates(
        processing_date=p, cutoff_date=cutoff, bill_date=cutoff, accounting_date=p
    )
