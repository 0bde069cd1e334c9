"""Hypothesis (pure, issue 18): splitting a period at rate, discount and VAT changes never moves
the undiscounted, untaxed total by more than a cent per split; every item adds up
(gross = net - discount + vat, 0 <= discount <= net, the applied discounts sum to the discount);
identities are unique within a rating and stable when the same facts are rated again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.engine.money import cents
from wallets.rating import (
    DiscountFacts,
    Pricing,
    ProductPricing,
    Rate,
    ServiceFacts,
    StatePeriod,
    UsageFacts,
    VatRate,
    active_days,
    rate_service,
)

BASE = date(2026, 1, 1)
money = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
percent = st.decimals(
    min_value=Decimal("0.0001"), max_value=100, places=4, allow_nan=False, allow_infinity=False
)
vat_percent = st.decimals(
    min_value=0, max_value=30, places=4, allow_nan=False, allow_infinity=False
)


@st.composite
def life_cycles(draw, period_days: int) -> tuple[StatePeriod, ...]:
    """Back-to-back ACTIVE / SUSPENDED / CANCELLED stretches covering the period, mostly ACTIVE."""
    start = BASE - timedelta(days=draw(st.integers(0, 5)))
    periods = []
    while start < BASE + timedelta(days=period_days):
        state = draw(st.sampled_from(["ACTIVE", "ACTIVE", "ACTIVE", "SUSPENDED", "CANCELLED"]))
        end = start + timedelta(days=draw(st.integers(1, max(1, period_days))))
        periods.append(StatePeriod(state, start, end))
        start = end
    last = periods[-1]
    periods[-1] = StatePeriod(last.state, last.start, None)
    return tuple(periods)


@st.composite
def discounts(draw, period_days: int, prefix: str, automatic: bool) -> tuple[DiscountFacts, ...]:
    out = []
    for n in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["PERCENT", "FIXED"]))
        value = draw(percent) if kind == "PERCENT" else draw(money.filter(lambda v: v > 0))
        start = BASE + timedelta(days=draw(st.integers(-3, period_days + 1)))
        end = draw(st.one_of(st.none(), st.integers(1, period_days + 2)))
        out.append(
            DiscountFacts(
                code=f"{prefix}{n}",
                name=f"{prefix} discount {n}",
                kind=kind,
                value=value,
                effective_from=start,
                effective_to=None if end is None else start + timedelta(days=end),
                period_days=None
                if kind == "PERCENT"
                else draw(st.one_of(st.none(), st.integers(1, 60))),
                automatic=automatic,
            )
        )
    return tuple(out)


def vat_rates(period_days: int):
    return st.lists(
        st.builds(
            VatRate,
            st.integers(-5, period_days - 1).map(lambda d: BASE + timedelta(days=d)),
            vat_percent,
        ),
        max_size=3,
        unique_by=lambda v: v.effective_from,
    )


def change_days(period_days: int):
    """Effective dates strictly inside the period [BASE, BASE + period_days)."""
    if period_days < 2:
        return st.just([])
    return st.lists(
        st.integers(1, period_days - 1).map(lambda d: BASE + timedelta(days=d)),
        max_size=4,
        unique=True,
    )


def check_items(rating, pricing: Pricing) -> None:
    identities = [i.identity for i in rating.items]
    assert len(identities) == len(set(identities))
    assert all(len(i) <= 255 for i in identities)  # RatedItem.identity column
    for item in rating.items:
        assert item.gross == item.amount == item.net - item.discount + item.vat
        assert Decimal("0.00") <= item.discount <= item.net
        assert sum((d.amount for d in item.discounts), Decimal("0.00")) == item.discount
        assert all(d.amount >= 0 for d in item.discounts)
        if item.kind == "SERVICE":
            assert item.vat == cents((item.net - item.discount) * item.vat_rate / 100)
            assert item.net == cents(item.price_per_period * item.active_days / item.period_days)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), period_days=st.integers(1, 45), price=money, rate_period=st.integers(1, 60))
def test_splitting_at_changes_moves_the_net_by_at_most_a_cent_per_split(
    data, period_days, price, rate_period
):
    periods = data.draw(life_cycles(period_days))
    # ONE price: every rate has the same price and period, only the dates differ
    rate_days = data.draw(change_days(period_days))
    rates = (Rate(BASE - timedelta(days=1), price, rate_period),) + tuple(
        Rate(d, price, rate_period) for d in rate_days
    )
    pricing = Pricing(
        product=ProductPricing(
            code="P",
            rates=rates,
            discounts=data.draw(discounts(period_days, "A", True)),
            vat=tuple(data.draw(vat_rates(period_days))),
        ),
        ad_hoc=data.draw(discounts(period_days, "H", False)),
    )
    s = ServiceFacts(7, "P", Decimal("1.00"), period_days, "PRE", BASE, periods, pricing)
    r = rate_service(s, [], BASE)
    end = BASE + timedelta(days=period_days)
    assert r.rated_up_to == end
    days = active_days(periods, BASE, end)
    # the items tile the ACTIVE days of the period without a gap or an overlap
    assert sum(i.active_days for i in r.items) == days
    for a, b in zip(r.items, r.items[1:], strict=False):
        assert a.end <= b.start
    assert all(BASE <= i.start < i.end <= end and i.active_days > 0 for i in r.items)
    unsplit = cents(price * days / rate_period)
    splits = max(len(r.items) - 1, 0)
    assert abs(sum(i.net for i in r.items) - unsplit) <= Decimal("0.01") * splits
    check_items(r, pricing)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    period_days=st.integers(1, 40),
    rating=st.sampled_from(["PRE", "POST"]),
    model=st.sampled_from(["", "BUNDLE", "FIXED", "COMPONENTS", "BOTH"]),
)
def test_every_item_adds_up_and_identities_are_unique_and_stable(data, period_days, rating, model):
    periods = data.draw(life_cycles(period_days))

    def line(code: str) -> ProductPricing:
        days = data.draw(change_days(period_days))
        rates = [Rate(BASE - timedelta(days=1), data.draw(money), data.draw(st.integers(1, 60)))]
        rates += [Rate(d, data.draw(money), data.draw(st.integers(1, 60))) for d in days]
        return ProductPricing(
            code=code,
            rates=tuple(rates),
            discounts=data.draw(discounts(period_days, f"{code}-", True)),
            vat=tuple(data.draw(vat_rates(period_days))),
        )

    components = ()
    if model in ("COMPONENTS", "BOTH"):
        components = tuple(line(f"C{n}") for n in range(data.draw(st.integers(1, 3))))
    pricing = Pricing(
        product=line("B"),
        bundle_pricing=model,
        components=components,
        ad_hoc=data.draw(discounts(period_days, "H", False)),
    )
    as_of = BASE + timedelta(days=data.draw(st.integers(0, period_days)))
    usage = [UsageFacts(100, 7, Decimal("2.50"), "TO_BE_BILLED", BASE)]
    s = ServiceFacts(7, "B", Decimal("1.00"), period_days, rating, BASE, periods, pricing)
    r = rate_service(s, usage, as_of)
    check_items(r, pricing)
    assert [i.identity for i in rate_service(s, usage, as_of).items] == [
        i.identity for i in r.items
    ]
    # per line, the service items tile the ACTIVE days that were rated
    rated_end = r.rated_up_to or BASE
    expected = active_days(periods, BASE, rated_end)
    lines = [None] if model in ("", "BUNDLE", "FIXED") else [c.code for c in components]
    if model == "BOTH":
        lines = [None, *lines]
    for key in lines:
        got = sum(i.active_days for i in r.items if i.kind == "SERVICE" and i.component == key)
        assert got == expected


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    kind=st.sampled_from(["REMAINING_FEES", "FIXED"]),
    binding=st.integers(-10, 120),
    steps=st.lists(st.integers(0, 40), min_size=1, max_size=5),
)
def test_a_cancellation_is_penalised_exactly_once_over_repeated_runs(data, kind, binding, steps):
    # ACTIVE / CANCELLED stretches from BASE; each run feeds back the penalties it charged
    periods = data.draw(life_cycles(60))
    binding_end = BASE + timedelta(days=binding)
    price = data.draw(money)
    charged: set[date] = set()
    as_of = BASE
    for step in steps:
        as_of = as_of + timedelta(days=step)
        pricing = Pricing(
            product=ProductPricing("P", rates=(Rate(BASE - timedelta(days=10), price, 30),)),
            binding_end=binding_end,
            penalty_kind=kind,
            penalty_amount=price if kind == "FIXED" else None,
            penalties_charged=frozenset(charged),
        )
        # post-rated and rated far ahead: no period item, only penalties
        s = ServiceFacts(7, "P", price, 30, "POST", BASE + timedelta(days=999), periods, pricing)
        for item in rate_service(s, [], as_of).items:
            assert item.kind == "PENALTY_EARLY_CANCELLATION"
            assert item.start < binding_end and item.start <= as_of
            assert item.start not in charged
            assert item.end == binding_end
            expected = price if kind == "FIXED" else price * (binding_end - item.start).days / 30
            assert item.net == cents(expected) and item.gross == item.net
            charged.add(item.start)

    def owed(c: date) -> Decimal:
        return cents(price if kind == "FIXED" else price * (binding_end - c).days / 30)

    cancels = {p.start for p in periods if p.state == "CANCELLED"}
    # every cancellation before the binding end, by the last run, with something to charge
    assert charged == {c for c in cancels if c < binding_end and c <= as_of and owed(c) > 0}
