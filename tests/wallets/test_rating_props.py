"""Hypothesis (pure): repeated rating never loses or doubles a day or a cent; debit plans add up."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.engine.money import cents
from wallets.rating import (
    BurnFacts,
    Item,
    ServiceFacts,
    ServiceRating,
    StatePeriod,
    WalletFacts,
    active_days,
    debit_plan,
    estimate,
    first_active_day,
    rate_service,
)

BASE = date(2026, 1, 1)
money = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def life_cycles(draw) -> tuple[StatePeriod, ...]:
    """Back-to-back periods from around BASE, the last one sometimes open."""
    start = BASE + timedelta(days=draw(st.integers(-40, 40)))
    periods = []
    for _n in range(draw(st.integers(1, 4))):
        state = draw(st.sampled_from(["ACTIVE", "ACTIVE", "SUSPENDED", "CANCELLED"]))
        length = draw(st.integers(1, 60))
        end = start + timedelta(days=length)
        periods.append(StatePeriod(state, start, end))
        start = end
    if draw(st.booleans()):
        last = periods[-1]
        periods[-1] = StatePeriod(last.state, last.start, None)
    return tuple(periods)


@settings(max_examples=300, deadline=None)
@given(
    periods=life_cycles(),
    rating=st.sampled_from(["PRE", "POST"]),
    price=money,
    period_days=st.integers(1, 45),
    rated_offset=st.one_of(st.none(), st.integers(-30, 30)),
    steps=st.lists(st.integers(0, 50), min_size=1, max_size=6),
)
def test_repeated_runs_tile_the_active_days_and_round_per_item(
    periods, rating, price, period_days, rated_offset, steps
):
    rated_up_to = None if rated_offset is None else BASE + timedelta(days=rated_offset)
    as_of = BASE
    items: list[Item] = []
    origin = rated_up_to
    for step in steps:
        as_of = as_of + timedelta(days=step)
        facts = ServiceFacts(1, "DATA", price, period_days, rating, rated_up_to, periods)
        r = rate_service(facts, [], as_of)
        if origin is None and r.rated_up_to is not None:
            first = first_active_day(periods)
            origin = first if rating == "POST" else max(first, as_of)
        for item in r.items:
            # each item: its ACTIVE days, > 0, priced half-up on its own
            assert item.active_days == active_days(periods, item.start, item.end) > 0
            assert item.amount == cents(price * item.active_days / period_days)
            assert item.start >= (origin or item.start)
        if r.rated_up_to is not None and rated_up_to is not None:
            assert r.rated_up_to >= rated_up_to  # never goes back
        if rating == "POST" and r.rated_up_to is not None:
            assert r.rated_up_to <= max(as_of, rated_up_to or as_of)
        if rating == "PRE" and r.rated_up_to is not None and r.identified:
            assert r.rated_up_to > as_of  # caught up: the next period is paid in advance
        items.extend(r.items)
        rated_up_to = r.rated_up_to
    # no overlap between runs, and every ACTIVE day from the origin to rated_up_to rated once
    ordered = sorted(items, key=lambda i: i.start)
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert a.end <= b.start
    if origin is not None and rated_up_to is not None:
        assert sum(i.active_days for i in items) == active_days(periods, origin, rated_up_to)
        assert sum((i.amount for i in items), Decimal("0")) == sum(
            (cents(price * i.active_days / period_days) for i in items), Decimal("0")
        )
    else:
        assert items == []


@st.composite
def ratings(draw) -> list[ServiceRating]:
    out = []
    for sid in range(1, draw(st.integers(1, 5)) + 1):
        amounts = draw(
            st.lists(
                st.decimals(min_value=-200, max_value=200, places=2, allow_nan=False),
                max_size=4,
            )
        )
        items = tuple(Item(sid, "SERVICE", BASE, BASE + timedelta(days=1), 1, a) for a in amounts)
        out.append(ServiceRating(sid, items, BASE + timedelta(days=1), BASE))
    return out


@settings(max_examples=400, deadline=None)
@given(
    balance=money,
    unbilled=money,
    min_balance=money,
    stop=money,
    restrict=st.booleans(),
    services=ratings(),
)
def test_debit_plan_never_overdraws_and_ties_out(
    balance, unbilled, min_balance, stop, restrict, services
):
    available = max(balance - unbilled, Decimal("0.00"))
    wallet = WalletFacts(balance, available, min_balance, stop, restrict)
    plan = debit_plan(wallet, services)
    running = available
    moved = Decimal("0.00")
    for out, rating in zip(plan.outcomes, services, strict=True):
        assert out.service_id == rating.service_id
        assert len(out.items) == len(out.debits)
        if out.state == "INVALID":
            assert rating.total > 0 and out.items == () and out.rated_up_to == BASE
        for item, debit in zip(out.items, out.debits, strict=True):
            if item.amount < 0:
                assert debit == item.amount  # credits always apply
            else:
                assert Decimal("0.00") <= debit <= item.amount
                if not restrict:
                    assert debit == item.amount
            running -= debit
            moved += debit
            assert running >= 0  # never below zero on the way
    assert plan.available_after == running
    assert plan.balance_after == balance - moved
    assert plan.balance_after >= 0


@settings(max_examples=300, deadline=None)
@given(
    balance=money,
    services=st.lists(
        st.tuples(
            st.sampled_from(["DATA", "VOICE", "SMS"]),
            money,
            st.integers(1, 400),
            st.booleans(),
            st.booleans(),
        ),
        max_size=8,
    ),
    max_days=st.integers(0, 2000),
)
def test_estimate_matches_exact_fractions(balance, services, max_days):
    facts = [BurnFacts(p, price, pd, valid, active) for p, price, pd, valid, active in services]
    est = estimate(balance=balance, services=facts, as_of=BASE, max_days=max_days)
    burns: dict[str, Fraction] = {}
    for f in facts:
        if f.valid and f.active:
            burns[f.product] = burns.get(f.product, Fraction(0)) + Fraction(f.price_per_period) / (
                f.period_days
            )
    total = sum(burns.values(), Fraction(0))
    if total == 0:
        assert (est.days, est.date, est.products) == (None, None, ())
        return
    expected = min(math.floor(Fraction(balance) / total), max_days)
    assert est.days == expected and est.date == BASE + timedelta(days=expected)
    assert abs(Fraction(est.daily_burn) - total) <= Fraction(1, 20000)
    shares = {p.product: p for p in est.products}
    assert set(shares) == {code for code, burn in burns.items() if burn > 0}
    for code, p in shares.items():
        exact = Fraction(balance) * burns[code] / total
        assert abs(Fraction(p.available_amount) - exact) <= Fraction(1, 200)
        assert p.days == min(math.floor(Fraction(p.available_amount) / burns[code]), max_days)
