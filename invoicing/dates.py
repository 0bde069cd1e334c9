"""Invoice request dates (SPEC 5), pure: no ORM, plain dates and a frozen calendar in, dates out.

Manual requests: the user gives cutoff, bill and accounting dates; only the processing date is
computed (the next working day on or after today + wait_days).

Automatic requests (the C1-INVRDTCIM algorithm), with D the business date of the message:
P = next working day on or after D + wait_days; B = first date >= P whose day is bill_cycle_day;
cutoff = B when (B - P).days > threshold_days, else the next cycle date after B;
bill_date = cutoff; accounting_date = P.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAY_CODES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Calendar:
    """Weekend weekdays (0=Mon..6=Sun) and holiday dates."""

    weekend_days: frozenset[int]
    holidays: frozenset[date]

    def __post_init__(self) -> None:
        if len(self.weekend_days) >= 7:
            # Every day off: no working day would ever be found.
            raise ValueError("weekend_days: at least one weekday must be a working day")
        if any(d not in range(7) for d in self.weekend_days):
            raise ValueError(
                f"weekend_days: expected weekdays 0-6, found {sorted(self.weekend_days)}"
            )

    @classmethod
    def from_codes(cls, codes: Iterable[str], holidays: Iterable[date] = ()) -> Calendar:
        """Calendar.from_codes(["SAT", "SUN"], holidays) from weekday codes MON..SUN."""
        days = set()
        for code in codes:
            text = str(code).upper()
            if text not in WEEKDAY_CODES:
                raise ValueError(
                    f"weekend_days: expected one of {', '.join(WEEKDAY_CODES)}, found {code!r}"
                )
            days.add(WEEKDAY_CODES.index(text))
        return cls(frozenset(days), frozenset(holidays))


WEEKENDS_OFF = Calendar(frozenset({5, 6}), frozenset())


def calendar_for(type_calendar: Calendar | None, division_calendar: Calendar | None) -> Calendar:
    """SPEC 5 precedence: the request type's calendar, else the division's, else Sat/Sun off."""
    if type_calendar is not None:
        return type_calendar
    if division_calendar is not None:
        return division_calendar
    return WEEKENDS_OFF


def is_working_day(day: date, cal: Calendar) -> bool:
    """Neither a weekend day nor a holiday."""
    return day.weekday() not in cal.weekend_days and day not in cal.holidays


def next_working_day(on_or_after: date, cal: Calendar) -> date:
    """The first working day on or after the given date."""
    day = on_or_after
    # Terminates: the calendar has a working weekday and finitely many holidays.
    while not is_working_day(day, cal):
        day += _ONE_DAY
    return day


def _non_negative(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name}: expected 0 or more, found {value}")


def manual_processing_date(today: date, wait_days: int, cal: Calendar) -> date:
    """Next working day on or after today + wait_days."""
    _non_negative("wait_days", wait_days)
    return next_working_day(today + timedelta(days=wait_days), cal)


def next_cycle_date(on_or_after: date, bill_cycle_day: int) -> date:
    """The first date on or after the given one whose day of month is bill_cycle_day (1-28)."""
    if not 1 <= bill_cycle_day <= 28:
        raise ValueError(f"bill_cycle_day: expected 1-28, found {bill_cycle_day}")
    if on_or_after.day <= bill_cycle_day:
        return on_or_after.replace(day=bill_cycle_day)
    # Day 28 plus 4 days always lands in the next month; every month has days 1-28.
    next_month = on_or_after.replace(day=28) + timedelta(days=4)
    return next_month.replace(day=bill_cycle_day)


@dataclass(frozen=True)
class AutomaticDates:
    """The dates of an automatic request."""

    processing_date: date
    cutoff_date: date
    bill_date: date
    accounting_date: date


def automatic_dates(
    business_date: date,
    *,
    wait_days: int,
    threshold_days: int,
    bill_cycle_day: int,
    cal: Calendar,
) -> AutomaticDates:
    """P, then the bill-cycle window B (the next one when (B - P).days <= threshold_days)."""
    _non_negative("threshold_days", threshold_days)
    processing = manual_processing_date(business_date, wait_days, cal)
    cycle = next_cycle_date(processing, bill_cycle_day)
    if (cycle - processing).days <= threshold_days:
        cycle = next_cycle_date(cycle + _ONE_DAY, bill_cycle_day)
    return AutomaticDates(
        processing_date=processing,
        cutoff_date=cycle,
        bill_date=cycle,
        accounting_date=processing,
    )
