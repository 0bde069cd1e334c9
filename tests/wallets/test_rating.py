"""Worked examples for identification and rating (SPEC 7): amounts computed by hand in comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from wallets.rating import (
    Item,
    ServiceFacts,
    StatePeriod,
    UsageFacts,
    active_days,
    is_active_on,
    rate_service,
)

D = Decimal


def svc(
    *,
    rating: str = "POST",
    price: str = "30.00",
    period_days: int = 30,
    rated_up_to: date | None = None,
    periods: tuple[StatePeriod, ...] = (StatePeriod("ACTIVE", date(2025, 12, 1)),),
    id: int = 1,
) -> ServiceFacts:
    return ServiceFacts(
        id=id,
        product="DATA",
        price_per_period=D(price),
        period_days=period_days,
        rating=rating,
        rated_up_to=rated_up_to,
        periods=periods,
    )


def spans(rating_) -> list[tuple[date, date, int, Decimal]]:
    return [(i.start, i.end, i.active_days, i.amount) for i in rating_.items]


# --- helpers on periods -------------------------------------------------------------------------


def test_active_days_counts_half_open_active_periods_only():
    periods = (
        StatePeriod("ACTIVE", date(2026, 1, 1), date(2026, 1, 11)),  # 10 days
        StatePeriod("SUSPENDED", date(2026, 1, 11), date(2026, 1, 21)),
        StatePeriod("ACTIVE", date(2026, 1, 21), None),  # open
    )
    assert active_days(periods, date(2026, 1, 1), date(2026, 2, 1)) == 10 + 11
    assert active_days(periods, date(2026, 1, 11), date(2026, 1, 21)) == 0
    assert is_active_on(periods, date(2026, 1, 10))
    assert not is_active_on(periods, date(2026, 1, 11))  # end is exclusive
    assert is_active_on(periods, date(2030, 1, 1))


def test_active_days_never_counts_an_overlap_twice():
    periods = (
        StatePeriod("ACTIVE", date(2026, 1, 1), date(2026, 1, 11)),
        StatePeriod("ACTIVE", date(2026, 1, 6), date(2026, 1, 16)),
    )
    assert active_days(periods, date(2026, 1, 1), date(2026, 2, 1)) == 15


# --- POST ----------------------------------------------------------------------------------------


def test_post_rated_bills_from_rated_up_to_until_as_of():
    # 30.00 / 30 days x 10 ACTIVE days in [Jan 1, Jan 11) = 10.00
    r = rate_service(svc(rated_up_to=date(2026, 1, 1)), [], date(2026, 1, 11))
    assert spans(r) == [(date(2026, 1, 1), date(2026, 1, 11), 10, D("10.00"))]
    assert r.rated_up_to == date(2026, 1, 11)
    assert r.total == D("10.00")
    item = r.items[0]
    assert (item.kind, item.price_per_period, item.period_days) == ("SERVICE", D("30.00"), 30)


def test_post_rated_up_to_as_of_is_not_identified():
    r = rate_service(svc(rated_up_to=date(2026, 1, 11)), [], date(2026, 1, 11))
    assert r.items == ()
    assert r.rated_up_to == date(2026, 1, 11)
    assert not r.identified


def test_post_never_rated_starts_at_first_active_day():
    # ACTIVE from Jan 5; as_of Jan 15: [Jan 5, Jan 15) = 10 days x 1.00 = 10.00
    s = svc(periods=(StatePeriod("ACTIVE", date(2026, 1, 5)),))
    r = rate_service(s, [], date(2026, 1, 15))
    assert spans(r) == [(date(2026, 1, 5), date(2026, 1, 15), 10, D("10.00"))]
    assert r.rated_up_to == date(2026, 1, 15)


def test_post_never_active_is_not_identified():
    s = svc(periods=(StatePeriod("SUSPENDED", date(2026, 1, 5)),))
    r = rate_service(s, [], date(2026, 1, 15))
    assert r.items == () and r.rated_up_to is None and not r.identified


# --- PRE -----------------------------------------------------------------------------------------


def test_pre_rated_bills_the_next_period_in_advance():
    # [Jan 31, Mar 2) = 30 days x 30.00/30 = 30.00; rated_up_to moves a whole period
    s = svc(rating="PRE", rated_up_to=date(2026, 1, 31))
    r = rate_service(s, [], date(2026, 1, 31))
    assert spans(r) == [(date(2026, 1, 31), date(2026, 3, 2), 30, D("30.00"))]
    assert r.rated_up_to == date(2026, 3, 2)


def test_pre_rated_not_due_before_rated_up_to():
    s = svc(rating="PRE", rated_up_to=date(2026, 1, 31))
    r = rate_service(s, [], date(2026, 1, 30))
    assert r.items == () and r.rated_up_to == date(2026, 1, 31) and not r.identified


def test_pre_never_rated_starts_at_as_of_when_active_before():
    # first ACTIVE Jan 5, as_of Jan 15 -> [Jan 15, Feb 14) = 30 days = 30.00
    s = svc(rating="PRE", periods=(StatePeriod("ACTIVE", date(2026, 1, 5)),))
    r = rate_service(s, [], date(2026, 1, 15))
    assert spans(r) == [(date(2026, 1, 15), date(2026, 2, 14), 30, D("30.00"))]
    assert r.rated_up_to == date(2026, 2, 14)


def test_pre_never_rated_starts_at_first_active_day_when_that_is_as_of():
    s = svc(rating="PRE", periods=(StatePeriod("ACTIVE", date(2026, 1, 15)),))
    r = rate_service(s, [], date(2026, 1, 15))
    assert spans(r) == [(date(2026, 1, 15), date(2026, 2, 14), 30, D("30.00"))]


def test_pre_never_rated_active_only_after_as_of_is_not_identified():
    s = svc(rating="PRE", periods=(StatePeriod("ACTIVE", date(2026, 1, 20)),))
    r = rate_service(s, [], date(2026, 1, 15))
    assert r.items == () and r.rated_up_to is None and not r.identified


def test_pre_catches_up_one_item_per_period():
    # 10.00 per 7 days, rated up to Jan 1, as_of Jan 20:
    # [Jan 1, Jan 8) 10.00, [Jan 8, Jan 15) 10.00, [Jan 15, Jan 22) 10.00 (Jan 15 <= as_of);
    # Jan 22 > Jan 20 stops. Total 30.00, rated_up_to Jan 22.
    s = svc(rating="PRE", price="10.00", period_days=7, rated_up_to=date(2026, 1, 1))
    r = rate_service(s, [], date(2026, 1, 20))
    assert spans(r) == [
        (date(2026, 1, 1), date(2026, 1, 8), 7, D("10.00")),
        (date(2026, 1, 8), date(2026, 1, 15), 7, D("10.00")),
        (date(2026, 1, 15), date(2026, 1, 22), 7, D("10.00")),
    ]
    assert r.total == D("30.00")
    assert r.rated_up_to == date(2026, 1, 22)


# --- partial ACTIVE periods ----------------------------------------------------------------------


def test_post_suspension_mid_period_charges_only_active_days():
    # 31.00 / 31 days = 1.00 a day; [Jan 1, Feb 1): ACTIVE Jan 1-10 (10) + Jan 21-31 (11) = 21.00
    periods = (
        StatePeriod("ACTIVE", date(2025, 12, 1), date(2026, 1, 11)),
        StatePeriod("SUSPENDED", date(2026, 1, 11), date(2026, 1, 21)),
        StatePeriod("ACTIVE", date(2026, 1, 21), None),
    )
    s = svc(price="31.00", period_days=31, rated_up_to=date(2026, 1, 1), periods=periods)
    r = rate_service(s, [], date(2026, 2, 1))
    assert spans(r) == [(date(2026, 1, 1), date(2026, 2, 1), 21, D("21.00"))]


def test_pre_cancellation_mid_period_charges_the_active_part():
    # [Jan 1, Jan 31): ACTIVE until Jan 16 -> 15 days x 1.00 = 15.00
    periods = (
        StatePeriod("ACTIVE", date(2025, 12, 1), date(2026, 1, 16)),
        StatePeriod("CANCELLED", date(2026, 1, 16), None),
    )
    s = svc(rating="PRE", rated_up_to=date(2026, 1, 1), periods=periods)
    r = rate_service(s, [], date(2026, 1, 1))
    assert spans(r) == [(date(2026, 1, 1), date(2026, 1, 31), 15, D("15.00"))]
    assert r.rated_up_to == date(2026, 1, 31)


def test_zero_active_days_creates_no_item_but_advances_rated_up_to():
    # POST suspended for the whole of [Jan 1, Jan 10): nothing charged, rated_up_to -> Jan 10
    periods = (
        StatePeriod("ACTIVE", date(2025, 12, 1), date(2025, 12, 20)),
        StatePeriod("SUSPENDED", date(2025, 12, 20), None),
    )
    r = rate_service(svc(rated_up_to=date(2026, 1, 1), periods=periods), [], date(2026, 1, 10))
    assert r.items == ()
    assert r.rated_up_to == date(2026, 1, 10)
    assert r.identified and r.total == D("0.00")


def test_pre_never_rated_suspended_at_as_of_advances_without_item():
    # first ACTIVE Jan 1, suspended from Jan 10; as_of Jan 15 -> [Jan 15, Feb 14) has 0 ACTIVE days
    periods = (
        StatePeriod("ACTIVE", date(2026, 1, 1), date(2026, 1, 10)),
        StatePeriod("SUSPENDED", date(2026, 1, 10), None),
    )
    r = rate_service(svc(rating="PRE", periods=periods), [], date(2026, 1, 15))
    assert r.items == () and r.rated_up_to == date(2026, 2, 14)


# --- rounding ------------------------------------------------------------------------------------


def test_half_up_rounding_per_item():
    # 10.00 / 3 x 1 day = 3.3333 -> 3.33; x 2 days = 6.6667 -> 6.67
    s = svc(price="10.00", period_days=3, rated_up_to=date(2026, 1, 1))
    assert rate_service(s, [], date(2026, 1, 2)).total == D("3.33")
    assert rate_service(s, [], date(2026, 1, 3)).total == D("6.67")
    # 0.05 / 2 x 1 day = 0.025 -> 0.03 half-up (banker's rounding would give 0.02)
    s = svc(price="0.05", period_days=2, rated_up_to=date(2026, 1, 1))
    assert rate_service(s, [], date(2026, 1, 2)).total == D("0.03")


def test_rounding_is_per_item_across_runs():
    # three daily POST runs of 10.00/3: 3.33 + 3.33 + 3.33 = 9.99 (one 3-day run would be 10.00)
    s = svc(price="10.00", period_days=3, rated_up_to=date(2026, 1, 1))
    total = D("0.00")
    for day in (2, 3, 4):
        r = rate_service(s, [], date(2026, 1, day))
        total += r.total
        s = svc(price="10.00", period_days=3, rated_up_to=r.rated_up_to)
    assert total == D("9.99")


def test_price_is_the_one_in_force_when_rated():
    s = svc(rating="PRE", price="30.00", rated_up_to=date(2026, 1, 1))
    first = rate_service(s, [], date(2026, 1, 1))
    assert first.items[0].price_per_period == D("30.00") and first.total == D("30.00")
    # a later price change only touches periods not yet rated
    s2 = svc(rating="PRE", price="60.00", rated_up_to=first.rated_up_to)
    assert rate_service(s2, [], date(2026, 1, 15)).items == ()
    later = rate_service(s2, [], date(2026, 1, 31))
    assert later.items[0].start == date(2026, 1, 31) and later.total == D("60.00")


# --- usage ---------------------------------------------------------------------------------------


def usage(id: int, amount: str, directive: str, on: date, service_id: int = 1) -> UsageFacts:
    return UsageFacts(
        id=id,
        service_id=service_id,
        amount=D(amount),
        directive=directive,
        billing_effective_date=on,
    )


def test_usage_of_each_directive():
    # service already rated to as_of: only usage. billed +5.00, credited -2.50,
    # cancelled never, effective after as_of not yet -> total 2.50
    s = svc(rated_up_to=date(2026, 1, 15))
    records = [
        usage(11, "5.00", "TO_BE_BILLED", date(2026, 1, 10)),
        usage(12, "2.50", "TO_BE_CREDITED", date(2026, 1, 12)),
        usage(13, "9.00", "CANCELLED", date(2026, 1, 12)),
        usage(14, "7.00", "TO_BE_BILLED", date(2026, 1, 16)),
    ]
    r = rate_service(s, records, date(2026, 1, 15))
    assert [(i.usage_id, i.kind, i.start, i.end, i.amount) for i in r.items] == [
        (11, "USAGE", date(2026, 1, 10), date(2026, 1, 11), D("5.00")),
        (12, "USAGE", date(2026, 1, 12), date(2026, 1, 13), D("-2.50")),
    ]
    assert r.total == D("2.50")
    assert r.rated_up_to == date(2026, 1, 15)  # usage does not move rated_up_to
    assert r.identified


def test_usage_on_as_of_is_billed_with_the_period():
    # [Jan 1, Jan 11) 10.00 + usage on Jan 11 (== as_of) 1.25 = 11.25
    s = svc(rated_up_to=date(2026, 1, 1))
    r = rate_service(s, [usage(5, "1.25", "TO_BE_BILLED", date(2026, 1, 11))], date(2026, 1, 11))
    assert r.total == D("11.25")
    assert [i.kind for i in r.items] == ["SERVICE", "USAGE"]


def test_usage_of_another_service_is_ignored():
    s = svc(rated_up_to=date(2026, 1, 15))
    r = rate_service(
        s, [usage(5, "1.25", "TO_BE_BILLED", date(2026, 1, 10), service_id=2)], date(2026, 1, 15)
    )
    assert r.items == ()


def test_bad_service_facts_are_refused_by_field():
    with pytest.raises(ValueError, match="period_days"):
        rate_service(svc(period_days=0), [], date(2026, 1, 1))
    with pytest.raises(ValueError, match="rating"):
        rate_service(svc(rating="MID"), [], date(2026, 1, 1))


def test_item_is_a_plain_value():
    i = Item(1, "SERVICE", date(2026, 1, 1), date(2026, 1, 2), 1, D("1.00"))
    assert i.usage_id is None and i.price_per_period is None


def test_rating_module_is_pure():
    import subprocess
    import sys

    code = "import sys, wallets.rating; print(any(m.startswith('django') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
