"""Worked examples for pricing in rating (issue 18): price plans, discounts, VAT, penalties,
bundles, wallet definitions, item identity and burn lines. Pure: plain dataclasses, no database.

Most examples price 30.00 per 30 days (1.00 a day) over the PRE period [Jan 1, Jan 31) 2026,
30 days, so the amounts can be checked by eye; the arithmetic is in the comments.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from wallets.rating import (
    BurnLine,
    DiscountFacts,
    Item,
    Pricing,
    ProductPricing,
    Rate,
    ServiceFacts,
    ServiceRating,
    StatePeriod,
    UsageFacts,
    VatRate,
    WalletFacts,
    burn_lines,
    debit_plan,
    rate_service,
)

D = Decimal
JAN1 = date(2026, 1, 1)
JAN31 = date(2026, 1, 31)
ALWAYS = (StatePeriod("ACTIVE", date(2025, 12, 1)),)


def rate(day: date | None, price: str, period_days: int = 30) -> Rate:
    return Rate(day, D(price), period_days)


def pct(code: str, value: str, start=date(2025, 12, 1), end=None, *, auto=True) -> DiscountFacts:
    return DiscountFacts(code, f"{code} name", "PERCENT", D(value), start, end, None, auto)


def fixed(
    code: str, value: str, start=date(2025, 12, 1), end=None, *, per=None, auto=True
) -> DiscountFacts:
    return DiscountFacts(code, f"{code} name", "FIXED", D(value), start, end, per, auto)


def vat(day: date, value: str) -> VatRate:
    return VatRate(day, D(value))


def product(
    code: str = "P",
    rates=(("2025-12-01", "30.00"),),
    discounts=(),
    vat_rates=(),
) -> ProductPricing:
    return ProductPricing(
        code=code,
        rates=tuple(
            r if isinstance(r, Rate) else rate(date.fromisoformat(r[0]), r[1]) for r in rates
        ),
        discounts=tuple(discounts),
        vat=tuple(vat_rates),
    )


def svc(
    pricing: Pricing | None = None,
    *,
    rating: str = "PRE",
    rated_up_to: date | None = JAN1,
    periods=ALWAYS,
    period_days: int = 30,
    price: str = "30.00",
    id: int = 7,
) -> ServiceFacts:
    return ServiceFacts(
        id=id,
        product="P",
        price_per_period=D(price),
        period_days=period_days,
        rating=rating,
        rated_up_to=rated_up_to,
        periods=periods,
        pricing=pricing,
    )


def rows(r) -> list[tuple]:
    """(start, end, active days, net, discount, vat, gross) per item."""
    return [(i.start, i.end, i.active_days, i.net, i.discount, i.vat, i.gross) for i in r.items]


def money(r) -> list[tuple]:
    """(start, end, net, discount, vat, gross) per item."""
    return [(i.start, i.end, i.net, i.discount, i.vat, i.gross) for i in r.items]


def check_item(item) -> None:
    """What every item keeps: gross = net - discount + vat, discounts add up, never < 0."""
    assert item.gross == item.amount == item.net - item.discount + item.vat
    assert sum((d.amount for d in item.discounts), D("0.00")) == item.discount
    assert D("0.00") <= item.discount <= item.net


# --- 1. price plans ------------------------------------------------------------------------------


def test_without_pricing_the_service_rates_at_its_own_price():
    # 30.00 / 30 x 30 days = 30.00, no discount, no VAT, rate_from None
    r = rate_service(svc(None), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("0.00"), D("0.00"), D("30.00"))]
    assert r.items[0].rate_from is None and r.items[0].reasons == ()


def test_a_plan_without_rates_rates_at_the_service_price():
    # product.rates empty -> the service's own 45.00 / 30 days, with the product's VAT 10 %
    p = Pricing(product=ProductPricing("P", vat=(vat(date(2025, 1, 1), "10"),)))
    r = rate_service(svc(p, price="45.00"), [], JAN1)
    # net 45.00, VAT 4.50, gross 49.50
    assert money(r) == [(JAN1, JAN31, D("45.00"), D("0.00"), D("4.50"), D("49.50"))]
    assert r.items[0].rate_from is None


def test_rate_change_mid_period_splits_pre_each_part_prorated_by_active_days():
    # rate 30.00/30 (1.00 a day) until Jan 11, then 60.00/30 (2.00 a day);
    # SUSPENDED [Jan 6, Jan 16): [Jan 1, Jan 11) 5 ACTIVE days = 5.00,
    # [Jan 11, Jan 31) 15 ACTIVE days x 2.00 = 30.00
    periods = (
        StatePeriod("ACTIVE", date(2025, 12, 1), date(2026, 1, 6)),
        StatePeriod("SUSPENDED", date(2026, 1, 6), date(2026, 1, 16)),
        StatePeriod("ACTIVE", date(2026, 1, 16)),
    )
    p = Pricing(product(rates=(("2025-12-01", "30.00"), ("2026-01-11", "60.00"))))
    r = rate_service(svc(p, periods=periods), [], JAN1)
    z = D("0.00")
    assert rows(r) == [
        (JAN1, date(2026, 1, 11), 5, D("5.00"), z, z, D("5.00")),
        (date(2026, 1, 11), JAN31, 15, D("30.00"), z, z, D("30.00")),
    ]
    assert [i.rate_from for i in r.items] == [date(2025, 12, 1), date(2026, 1, 11)]
    assert [i.price_per_period for i in r.items] == [D("30.00"), D("60.00")]
    assert r.items[0].reasons == ("ends 2026-01-11: price plan rate changes",)
    assert r.items[1].reasons == ("starts 2026-01-11: price plan rate changes",)
    assert r.rated_up_to == JAN31  # the billing term, unchanged by the split


def test_rate_change_on_the_first_day_of_a_period_does_not_split():
    # the new rate is in force on Jan 1: the whole period at 60.00
    p = Pricing(product(rates=(("2025-12-01", "30.00"), ("2026-01-01", "60.00"))))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("60.00"), D("0.00"), D("0.00"), D("60.00"))]
    assert r.items[0].rate_from == JAN1 and r.items[0].reasons == ()


def test_rate_change_on_the_last_day_of_a_period_gives_a_one_day_item():
    # [Jan 1, Jan 30) 29 days x 1.00 = 29.00; [Jan 30, Jan 31) 1 day x 2.00 = 2.00
    p = Pricing(product(rates=(("2025-12-01", "30.00"), ("2026-01-30", "60.00"))))
    r = rate_service(svc(p), [], JAN1)
    assert [(i.start, i.end, i.active_days, i.gross) for i in r.items] == [
        (JAN1, date(2026, 1, 30), 29, D("29.00")),
        (date(2026, 1, 30), JAN31, 1, D("2.00")),
    ]


def test_rate_change_on_the_day_after_the_period_belongs_to_the_next_period():
    # Jan 31 is the next period's first day: this period is not split
    p = Pricing(product(rates=(("2025-12-01", "30.00"), ("2026-01-31", "60.00"))))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("0.00"), D("0.00"), D("30.00"))]
    # the next run rates [Jan 31, Mar 2) wholly at 60.00
    r2 = rate_service(svc(p, rated_up_to=JAN31), [], JAN31)
    assert [(i.start, i.end, i.gross) for i in r2.items] == [(JAN31, date(2026, 3, 2), D("60.00"))]


def test_rate_change_mid_period_splits_post():
    # POST rated up to Jan 1, run Jan 21: [Jan 1, Jan 11) 10.00 + [Jan 11, Jan 21) 10 x 2.00
    p = Pricing(product(rates=(("2025-12-01", "30.00"), ("2026-01-11", "60.00"))))
    r = rate_service(svc(p, rating="POST"), [], date(2026, 1, 21))
    assert [(i.start, i.end, i.gross) for i in r.items] == [
        (JAN1, date(2026, 1, 11), D("10.00")),
        (date(2026, 1, 11), date(2026, 1, 21), D("20.00")),
    ]
    assert r.rated_up_to == date(2026, 1, 21)


def test_rate_with_its_own_period_days():
    # the rate is 70.00 per 7 days (10.00 a day) on a 30-day billing term: 30 x 10.00 = 300.00
    p = Pricing(product(rates=(rate(date(2025, 12, 1), "70.00", 7),)))
    r = rate_service(svc(p), [], JAN1)
    assert [(i.gross, i.period_days) for i in r.items] == [(D("300.00"), 7)]
    assert r.rated_up_to == JAN31


def test_a_rate_changed_after_pre_rating_never_touches_what_was_rated():
    # January was pre-rated at 30.00 (rated_up_to Jan 31); a rate from Jan 11 added later:
    # a run inside January identifies nothing, January is not re-rated or credited
    p = Pricing(product(rates=(("2025-12-01", "30.00"), ("2026-01-11", "60.00"))))
    r = rate_service(svc(p, rated_up_to=JAN31), [], date(2026, 1, 20))
    assert r.items == () and r.rated_up_to == JAN31 and not r.identified
    # the change applies from the next unrated period: [Jan 31, Mar 2) at 60.00
    r = rate_service(svc(p, rated_up_to=JAN31), [], JAN31)
    assert [(i.start, i.gross, i.rate_from) for i in r.items] == [
        (JAN31, D("60.00"), date(2026, 1, 11))
    ]


def test_before_the_plans_first_rate_the_service_rates_at_its_own_price():
    # own price 30.00 / 30 until the plan's first rate (60.00 from Jan 11):
    # [Jan 1, Jan 11) 10 days x 1.00 = 10.00; [Jan 11, Jan 31) 20 days x 2.00 = 40.00
    p = Pricing(product(rates=(("2026-01-11", "60.00"),)))
    r = rate_service(svc(p), [], JAN1)
    assert [(i.start, i.end, i.gross, i.rate_from) for i in r.items] == [
        (JAN1, date(2026, 1, 11), D("10.00"), None),
        (date(2026, 1, 11), JAN31, D("40.00"), date(2026, 1, 11)),
    ]
    assert r.items[1].reasons == ("starts 2026-01-11: price plan rate changes",)


def test_a_component_with_no_rate_in_force_names_the_service_and_the_day():
    p = bundle("COMPONENTS", components=(product("C1", rates=(("2026-01-11", "20.00"),)),))
    with pytest.raises(ValueError, match=r"^service 7: no price plan rate in force on 2026-01-01$"):
        rate_service(svc(p), [], JAN1)


def test_no_rate_in_force_on_inactive_days_is_not_an_error():
    # ACTIVE only from Jan 11 when the first rate starts: [Jan 1, Jan 11) has 0 ACTIVE days
    periods = (
        StatePeriod("SUSPENDED", JAN1, date(2026, 1, 11)),
        StatePeriod("ACTIVE", date(2026, 1, 11)),
    )
    p = Pricing(product(rates=(("2026-01-11", "60.00"),)))
    r = rate_service(svc(p, periods=periods), [], JAN1)
    # [Jan 11, Jan 31) 20 days x 2.00 = 40.00
    assert [(i.start, i.end, i.gross) for i in r.items] == [(date(2026, 1, 11), JAN31, D("40.00"))]


# --- 2. discounts --------------------------------------------------------------------------------


def test_automatic_and_ad_hoc_percentages_add_up():
    # net 30.00; automatic 10 % + ad hoc 5 % = 15 % = 4.50 -> gross 25.50
    p = Pricing(product(discounts=(pct("AUTO10", "10"),)), ad_hoc=(pct("ADHOC5", "5", auto=False),))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("4.50"), D("0.00"), D("25.50"))]
    assert [(d.code, d.name, d.kind, d.value, d.amount) for d in r.items[0].discounts] == [
        ("ADHOC5", "ADHOC5 name", "PERCENT", D("5"), D("1.50")),
        ("AUTO10", "AUTO10 name", "PERCENT", D("10"), D("3.00")),
    ]
    check_item(r.items[0])


def test_ad_hoc_discount_alone():
    # net 30.00, ad hoc 20 % = 6.00 -> 24.00
    p = Pricing(product(), ad_hoc=(pct("LOYAL", "20", auto=False),))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("6.00"), D("0.00"), D("24.00"))]


def test_percentages_are_capped_at_100():
    # 60 % + 70 % = 130 % -> 100 %: 30.00 off, gross 0.00; A60 takes 18.00, B70 what is left
    p = Pricing(product(discounts=(pct("A60", "60"), pct("B70", "70"))))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("30.00"), D("0.00"), D("0.00"))]
    assert [(d.code, d.amount) for d in r.items[0].discounts] == [
        ("A60", D("18.00")),
        ("B70", D("12.00")),
    ]
    check_item(r.items[0])


def test_percentages_apply_first_then_fixed_amounts():
    # net 30.00: 10 % of 30.00 = 3.00, then FIXED 5.00 per the rate's 30 days -> 8.00 off, 22.00
    # (fixed first would give 5.00 + 10 % of 25.00 = 7.50)
    p = Pricing(product(discounts=(fixed("F5", "5.00"), pct("P10", "10"))))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("8.00"), D("0.00"), D("22.00"))]
    assert [(d.code, d.kind, d.amount) for d in r.items[0].discounts] == [
        ("P10", "PERCENT", D("3.00")),
        ("F5", "FIXED", D("5.00")),
    ]


def test_fixed_larger_than_what_is_left_never_goes_below_zero():
    # net 30.00: 50 % = 15.00; F1 10.00 -> 5.00 left; F2 10.00 capped at 5.00 -> 0.00
    p = Pricing(product(discounts=(pct("HALF", "50"), fixed("F1", "10.00"), fixed("F2", "10.00"))))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("30.00"), D("0.00"), D("0.00"))]
    assert [(d.code, d.amount) for d in r.items[0].discounts] == [
        ("HALF", D("15.00")),
        ("F1", D("10.00")),
        ("F2", D("5.00")),
    ]
    # a fixed 100.00 alone on 30.00: 30.00 off, never -70.00
    p = Pricing(product(discounts=(fixed("BIG", "100.00"),)))
    r = rate_service(svc(p), [], JAN1)
    assert (r.items[0].discount, r.items[0].gross) == (D("30.00"), D("0.00"))


def test_a_discount_that_ends_mid_period_splits_and_the_later_item_has_none():
    # 10 % until Jan 21 (exclusive): [Jan 1, Jan 21) net 20.00 - 2.00 = 18.00;
    # [Jan 21, Jan 31) net 10.00, no discount
    p = Pricing(product(discounts=(pct("P10", "10", end=date(2026, 1, 21)),)))
    r = rate_service(svc(p), [], JAN1)
    z = D("0.00")
    assert money(r) == [
        (JAN1, date(2026, 1, 21), D("20.00"), D("2.00"), z, D("18.00")),
        (date(2026, 1, 21), JAN31, D("10.00"), z, z, D("10.00")),
    ]
    assert [d.code for d in r.items[0].discounts] == ["P10"]
    assert r.items[1].discounts == ()
    assert r.items[0].reasons == ("ends 2026-01-21: discount P10 ends",)
    assert r.items[1].reasons == ("starts 2026-01-21: discount P10 ends",)


def test_a_discount_that_starts_mid_period_splits():
    # ad hoc 50 % from Jan 26: [Jan 1, Jan 26) 25.00; [Jan 26, Jan 31) 5.00 - 2.50 = 2.50
    p = Pricing(product(), ad_hoc=(pct("HALF", "50", start=date(2026, 1, 26), auto=False),))
    r = rate_service(svc(p), [], JAN1)
    assert [(i.start, i.end, i.discount, i.gross) for i in r.items] == [
        (JAN1, date(2026, 1, 26), D("0.00"), D("25.00")),
        (date(2026, 1, 26), JAN31, D("2.50"), D("2.50")),
    ]
    assert r.items[1].reasons == ("starts 2026-01-26: discount HALF starts",)


def test_a_discount_ending_on_the_period_start_or_starting_on_its_end_does_not_apply():
    p = Pricing(
        product(
            discounts=(
                pct("OLD", "10", start=date(2025, 12, 1), end=JAN1),  # ended on Jan 1
                pct("NEW", "10", start=JAN31),  # starts with the next period
            )
        )
    )
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("0.00"), D("0.00"), D("30.00"))]


def test_fixed_discount_with_its_own_period_days_is_prorated_by_active_days():
    # price 60.00 / 30 (2.00 a day); FIXED 7.00 per 7 days (1.00 a day);
    # SUSPENDED [Jan 11, Jan 21): 20 ACTIVE days: net 40.00, discount 20 x 1.00 = 20.00
    periods = (
        StatePeriod("ACTIVE", date(2025, 12, 1), date(2026, 1, 11)),
        StatePeriod("SUSPENDED", date(2026, 1, 11), date(2026, 1, 21)),
        StatePeriod("ACTIVE", date(2026, 1, 21)),
    )
    p = Pricing(
        product(rates=(("2025-12-01", "60.00"),), discounts=(fixed("WEEK", "7.00", per=7),))
    )
    r = rate_service(svc(p, periods=periods), [], JAN1)
    assert rows(r) == [(JAN1, JAN31, 20, D("40.00"), D("20.00"), D("0.00"), D("20.00"))]


def test_fixed_discount_without_period_days_uses_the_rates_period_and_rounds_half_up():
    # FIXED 10.00 per the rate's 30 days over 10 days (POST Jan 1 .. Jan 11) = 3.333.. -> 3.33;
    # net 10.00 -> 6.67
    p = Pricing(product(discounts=(fixed("F10", "10.00"),)))
    r = rate_service(svc(p, rating="POST"), [], date(2026, 1, 11))
    assert money(r) == [(JAN1, date(2026, 1, 11), D("10.00"), D("3.33"), D("0.00"), D("6.67"))]
    # 0.35 per 30 days over 15 days = 0.175 -> 0.18 (half-up)
    p = Pricing(product(discounts=(fixed("F035", "0.35"),)))
    r = rate_service(svc(p, rating="POST"), [], date(2026, 1, 16))
    assert (r.items[0].net, r.items[0].discount) == (D("15.00"), D("0.18"))


def test_applied_discount_amounts_sum_to_the_item_discount_with_rounding():
    # net 10.00 (POST 10 days); three times 33.3333 % = 99.9999 % -> 9.99999 -> 10.00 in total
    # (one rounding for the percentages), each 3.33 and the last one the remaining 3.34
    p = Pricing(product(discounts=tuple(pct(c, "33.3333") for c in ("A", "B", "C"))))
    r = rate_service(svc(p, rating="POST"), [], date(2026, 1, 11))
    item = r.items[0]
    assert item.discount == D("10.00")
    assert [d.amount for d in item.discounts] == [D("3.33"), D("3.33"), D("3.34")]
    check_item(item)


# --- 3. VAT --------------------------------------------------------------------------------------


def test_vat_change_mid_period_splits():
    # 20 % until Jan 16, 24 % from then: [Jan 1, Jan 16) 15.00 + 3.00 = 18.00;
    # [Jan 16, Jan 31) 15.00 + 3.60 = 18.60
    p = Pricing(product(vat_rates=(vat(date(2025, 1, 1), "20"), vat(date(2026, 1, 16), "24"))))
    r = rate_service(svc(p), [], JAN1)
    z = D("0.00")
    assert money(r) == [
        (JAN1, date(2026, 1, 16), D("15.00"), z, D("3.00"), D("18.00")),
        (date(2026, 1, 16), JAN31, D("15.00"), z, D("3.60"), D("18.60")),
    ]
    assert [i.vat_rate for i in r.items] == [D("20"), D("24")]
    assert r.items[1].reasons == ("starts 2026-01-16: VAT rate changes",)


def test_vat_is_on_the_discounted_net():
    # net 30.00 - 10 % = 27.00; VAT 20 % of 27.00 = 5.40; gross 32.40
    p = Pricing(product(discounts=(pct("P10", "10"),), vat_rates=(vat(date(2025, 1, 1), "20"),)))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("30.00"), D("3.00"), D("5.40"), D("32.40"))]


def test_vat_rounds_half_up_to_cents():
    # net 10.25 x 10 % = 1.025 -> 1.03 (half-up, not 1.02 half-even); gross 11.28
    p = Pricing(product(rates=(("2025-12-01", "10.25"),), vat_rates=(vat(date(2025, 1, 1), "10"),)))
    r = rate_service(svc(p), [], JAN1)
    assert money(r) == [(JAN1, JAN31, D("10.25"), D("0.00"), D("1.03"), D("11.28"))]
    # 4-dp rate: 10.00 x 19.125 % = 1.9125 -> 1.91
    p = Pricing(product(vat_rates=(vat(date(2025, 1, 1), "19.125"),)))
    r = rate_service(svc(p, rating="POST"), [], date(2026, 1, 11))
    assert (r.items[0].vat, r.items[0].gross) == (D("1.91"), D("11.91"))


def test_no_vat_before_the_first_rate():
    # VAT 20 % only from Jan 21: [Jan 1, Jan 21) 20.00 no VAT; [Jan 21, Jan 31) 10.00 + 2.00
    p = Pricing(product(vat_rates=(vat(date(2026, 1, 21), "20"),)))
    r = rate_service(svc(p), [], JAN1)
    assert [(i.vat_rate, i.vat, i.gross) for i in r.items] == [
        (D("0"), D("0.00"), D("20.00")),
        (D("20"), D("2.00"), D("12.00")),
    ]


# --- 4. early-cancellation penalty ---------------------------------------------------------------

MAR1 = date(2026, 3, 1)
JUL1 = date(2026, 7, 1)


def penalised(
    cancelled: date = MAR1,
    *,
    kind: str = "REMAINING_FEES",
    amount: str | None = None,
    binding_end: date | None = JUL1,
    charged=frozenset(),
    as_of: date = date(2026, 3, 5),
):
    """A POST service rated up to its cancellation (no ACTIVE day left to rate), ACTIVE from
    Jan 1 and CANCELLED from `cancelled`; rates 30.00 until Feb 1, 60.00 from Feb 1, 90.00 from
    Apr 1; an automatic 10 % discount; VAT 20 %."""
    periods = (StatePeriod("ACTIVE", JAN1, cancelled), StatePeriod("CANCELLED", cancelled))
    p = Pricing(
        product(
            rates=(("2025-12-01", "30.00"), ("2026-02-01", "60.00"), ("2026-04-01", "90.00")),
            discounts=(pct("P10", "10"),),
            vat_rates=(vat(date(2025, 1, 1), "20"),),
        ),
        binding_end=binding_end,
        penalty_kind=kind,
        penalty_amount=None if amount is None else D(amount),
        penalties_charged=charged,
    )
    s = svc(p, periods=periods, rating="POST", rated_up_to=cancelled)
    return rate_service(s, [], as_of)


def test_remaining_fees_penalty_at_the_rate_in_force_at_cancellation_with_vat():
    # cancelled Mar 1, binding ends Jul 1: 31 + 30 + 31 + 30 = 122 days at the rate in force on
    # Mar 1 (60.00 / 30 = 2.00 a day; the 90.00 from Apr 1 is ignored) = 244.00;
    # no discount; VAT 20 % = 48.80; gross 292.80
    r = penalised()
    assert [(i.kind, i.start, i.end, i.active_days) for i in r.items] == [
        ("PENALTY_EARLY_CANCELLATION", MAR1, JUL1, 0)
    ]
    item = r.items[0]
    assert (item.net, item.discount, item.vat_rate, item.vat, item.gross) == (
        D("244.00"),
        D("0.00"),
        D("20"),
        D("48.80"),
        D("292.80"),
    )
    assert item.discounts == ()
    assert (item.price_per_period, item.period_days, item.rate_from) == (
        D("60.00"),
        30,
        date(2026, 2, 1),
    )
    assert item.identity == "PENALTY_EARLY_CANCELLATION|2026-03-01"
    assert item.reasons == ("cancelled 2026-03-01, before the binding period ends 2026-07-01",)
    assert item.cause == "PREPAID_BILLING"


def test_fixed_penalty_with_vat():
    # 150.00 + 20 % VAT 30.00 = 180.00
    r = penalised(kind="FIXED", amount="150.00")
    assert [(i.kind, i.net, i.vat, i.gross) for i in r.items] == [
        ("PENALTY_EARLY_CANCELLATION", D("150.00"), D("30.00"), D("180.00"))
    ]


def test_fixed_penalty_without_an_amount_is_an_error():
    with pytest.raises(ValueError, match=r"service 7: penalty_amount: expected an amount >= 0"):
        penalised(kind="FIXED", amount=None)


def test_cancellation_the_day_before_binding_end_is_penalised_one_day():
    # cancelled Jun 30: 1 day x (90.00 / 30) = 3.00 + 20 % = 3.60
    r = penalised(date(2026, 6, 30), as_of=date(2026, 7, 5))
    assert [(i.start, i.end, i.net, i.gross) for i in r.items] == [
        (date(2026, 6, 30), JUL1, D("3.00"), D("3.60"))
    ]


def test_a_pre_rated_service_is_not_charged_twice_for_days_it_prepaid():
    # PRE, prepaid up to Mar 16 (the period [Feb 14, Mar 16) was charged before the
    # cancellation was known), cancelled Mar 1, binding end Jul 1: the penalty covers
    # [Mar 16, Jul 1) = 107 days x 2.00 = 214.00 + 20 % = 256.80, not the 122 days from Mar 1
    periods = (StatePeriod("ACTIVE", JAN1, MAR1), StatePeriod("CANCELLED", MAR1))
    p = Pricing(
        product(
            rates=(("2025-12-01", "30.00"), ("2026-02-01", "60.00")),
            vat_rates=(vat(date(2025, 1, 1), "20"),),
        ),
        binding_end=JUL1,
        penalty_kind="REMAINING_FEES",
    )
    r = rate_service(svc(p, periods=periods, rated_up_to=date(2026, 3, 16)), [], date(2026, 3, 5))
    (item,) = r.items
    assert (item.kind, item.start, item.end, item.net, item.vat, item.gross) == (
        "PENALTY_EARLY_CANCELLATION",
        MAR1,
        JUL1,
        D("214.00"),
        D("42.80"),
        D("256.80"),
    )
    assert item.reasons[1] == "prepaid up to 2026-03-16: charged from there"


def test_a_components_penalty_takes_each_components_vat():
    # COMPONENTS bundle with no VAT of its own; C1 20.00 / 30 at 19 %, C2 15.00 / 30 at 0 %;
    # cancelled Mar 1, binding end Mar 31: 30 days: C1 20.00 (VAT 3.80) + C2 15.00 (VAT 0)
    periods = (StatePeriod("ACTIVE", JAN1, MAR1), StatePeriod("CANCELLED", MAR1))
    c1 = product("C1", rates=(("2025-12-01", "20.00"),), vat_rates=(vat(JAN1, "19"),))
    c2 = product("C2", rates=(("2025-12-01", "15.00"),))
    p = bundle(
        "COMPONENTS",
        components=(c1, c2),
        binding_end=date(2026, 3, 31),
        penalty_kind="REMAINING_FEES",
    )
    r = rate_service(svc(p, periods=periods, rating="POST", rated_up_to=MAR1), [], MAR1)
    (item,) = r.items
    assert (item.net, item.vat, item.gross) == (D("35.00"), D("3.80"), D("38.80"))
    assert item.reasons[-1] == "VAT at each component's own rate"


def test_cancellation_on_the_binding_end_date_itself_is_not_penalised():
    assert penalised(JUL1, as_of=date(2026, 7, 5)).items == ()


def test_cancellation_after_the_binding_end_is_not_penalised():
    assert penalised(date(2026, 8, 1), as_of=date(2026, 8, 5)).items == ()


def test_a_penalty_already_charged_is_not_charged_again():
    first = penalised()
    assert len(first.items) == 1
    # the run stored it: re-rating (the same run again, or a later one) charges nothing
    assert penalised(charged=frozenset({MAR1})).items == ()
    assert penalised(charged=frozenset({MAR1}), as_of=date(2026, 6, 1)).items == ()


def test_a_cancellation_after_as_of_is_not_penalised_yet():
    assert penalised(as_of=date(2026, 2, 28)).items == ()
    # on the cancellation day itself it is
    assert [i.kind for i in penalised(as_of=MAR1).items] == ["PENALTY_EARLY_CANCELLATION"]


def test_no_penalty_without_a_kind_or_a_binding_end():
    assert penalised(kind="").items == ()
    assert penalised(binding_end=None).items == ()


def test_penalty_next_to_period_items_of_a_cancelled_post_service():
    # POST rated up to Feb 1, ACTIVE until Feb 11, CANCELLED from Feb 11, run Mar 1, binding end
    # Mar 13: [Feb 1, Mar 1) has 10 ACTIVE days x 1.00 = 10.00 (no VAT);
    # penalty Feb 11 .. Mar 13 = 30 days x 1.00 = 30.00
    feb1, feb11 = date(2026, 2, 1), date(2026, 2, 11)
    periods = (StatePeriod("ACTIVE", JAN1, feb11), StatePeriod("CANCELLED", feb11))
    p = Pricing(product(), binding_end=date(2026, 3, 13), penalty_kind="REMAINING_FEES")
    r = rate_service(svc(p, rating="POST", rated_up_to=feb1, periods=periods), [], MAR1)
    assert [(i.kind, i.start, i.end, i.gross) for i in r.items] == [
        ("SERVICE", feb1, MAR1, D("10.00")),
        ("PENALTY_EARLY_CANCELLATION", feb11, date(2026, 3, 13), D("30.00")),
    ]
    assert r.rated_up_to == MAR1


# --- 5. bundles ----------------------------------------------------------------------------------


def bundle(model: str, *, components=None, **kw) -> Pricing:
    """Bundle B at 50.00 / 30; components C1 at 20.00 and C2 at 15.00 per 30 days."""
    if components is None:
        components = (
            product("C1", rates=(("2025-12-01", "20.00"),)),
            product("C2", rates=(("2025-12-01", "15.00"),)),
        )
    return Pricing(
        product("B", rates=(("2025-12-01", "50.00"),)),
        bundle_pricing=model,
        components=tuple(components),
        **kw,
    )


@pytest.mark.parametrize("model", ["BUNDLE", "FIXED", ""])
def test_bundle_and_fixed_bundles_rate_one_item_at_the_bundles_rate(model):
    r = rate_service(svc(bundle(model)), [], JAN1)
    assert [(i.component, i.gross) for i in r.items] == [(None, D("50.00"))]


def test_components_rate_one_item_per_component():
    # C1 20.00 + C2 15.00; the bundle's own rate is not charged
    r = rate_service(svc(bundle("COMPONENTS")), [], JAN1)
    assert [(i.component, i.start, i.end, i.gross) for i in r.items] == [
        ("C1", JAN1, JAN31, D("20.00")),
        ("C2", JAN1, JAN31, D("15.00")),
    ]
    assert r.total == D("35.00")


def test_both_rates_the_bundle_and_its_components():
    r = rate_service(svc(bundle("BOTH")), [], JAN1)
    assert [(i.component, i.gross) for i in r.items] == [
        (None, D("50.00")),
        ("C1", D("20.00")),
        ("C2", D("15.00")),
    ]
    assert r.total == D("85.00")
    assert len({i.identity for i in r.items}) == 3


def test_components_use_the_rates_the_caller_chose_with_their_own_discounts_and_vat():
    # the caller passes C1's in-bundle rate 12.00 (not its standalone 20.00); C1 changes to
    # 18.00 on Jan 16 and has its own 50 % discount and 10 % VAT; C2 is at its standalone 15.00:
    # C1 [Jan 1, Jan 16) 6.00 - 3.00 + 0.30 = 3.30; [Jan 16, Jan 31) 9.00 - 4.50 + 0.45 = 4.95
    # C2 15.00 (no discount, no VAT: the bundle's or C1's do not apply to it)
    c1 = product(
        "C1",
        rates=(("2025-12-01", "12.00"), ("2026-01-16", "18.00")),
        discounts=(pct("C1HALF", "50"),),
        vat_rates=(vat(date(2025, 1, 1), "10"),),
    )
    c2 = product("C2", rates=(("2025-12-01", "15.00"),))
    r = rate_service(svc(bundle("COMPONENTS", components=(c1, c2))), [], JAN1)
    z = D("0.00")
    assert [(i.component, i.start, i.end, i.net, i.discount, i.vat, i.gross) for i in r.items] == [
        ("C1", JAN1, date(2026, 1, 16), D("6.00"), D("3.00"), D("0.30"), D("3.30")),
        ("C2", JAN1, JAN31, D("15.00"), z, z, D("15.00")),
        ("C1", date(2026, 1, 16), JAN31, D("9.00"), D("4.50"), D("0.45"), D("4.95")),
    ]


def test_a_component_without_rates_is_an_error():
    comps = (product("C1", rates=(("2025-12-01", "20.00"),)), ProductPricing("C2"))
    with pytest.raises(ValueError, match=r"^service 7: component C2: no price plan rate$"):
        rate_service(svc(bundle("COMPONENTS", components=comps)), [], JAN1)
    with pytest.raises(ValueError, match=r"component C2: no price plan rate"):
        rate_service(svc(bundle("BOTH", components=comps)), [], JAN1)


def test_a_components_bundle_without_components_is_an_error():
    with pytest.raises(ValueError, match=r"service 7: bundle: expected at least one component"):
        rate_service(svc(bundle("COMPONENTS", components=())), [], JAN1)


def test_components_remaining_fees_penalty_sums_the_components():
    # cancelled Jan 21, binding end Jan 31: 10 days x (20.00 + 15.00) / 30 = 6.67 + 5.00 = 11.67
    periods = (
        StatePeriod("ACTIVE", date(2025, 12, 1), date(2026, 1, 21)),
        StatePeriod("CANCELLED", date(2026, 1, 21)),
    )
    p = bundle("COMPONENTS", binding_end=JAN31, penalty_kind="REMAINING_FEES")
    s = svc(p, periods=periods, rating="POST", rated_up_to=date(2026, 1, 21))
    r = rate_service(s, [], date(2026, 1, 25))
    assert [(i.kind, i.net, i.gross, i.component) for i in r.items] == [
        ("PENALTY_EARLY_CANCELLATION", D("11.67"), D("11.67"), None)
    ]


# --- 6. debit_plan with the wallet definition's causes -------------------------------------------


def wallet(balance: str = "100.00") -> WalletFacts:
    return WalletFacts(D(balance), D(balance), D("0.00"), D("0.00"), False)


def service_with_usage(*usage: tuple[str, str], price: str = "30.00", id: int = 7):
    """A PRE service due [Jan 1, Jan 31) at `price` plus usage records on Jan 1."""
    records = [UsageFacts(100 + n, id, D(a), d, JAN1) for n, (a, d) in enumerate(usage)]
    return rate_service(svc(None, price=price, id=id), records, JAN1)


def test_prepaid_billing_not_listed_keeps_items_not_billed():
    # the definition lists only USAGE: the 30.00 item is rated, not billed, nothing debited
    r = service_with_usage()
    plan = debit_plan(wallet(), [r], frozenset({"USAGE"}))
    (out,) = plan.outcomes
    assert out.state is None
    assert [i.gross for i in out.items] == [D("30.00")]
    assert out.debits == (D("0.00"),)
    assert out.billed == (False,) and not out.is_billed(0)
    assert out.rated_up_to == JAN31  # advanced: the period is rated (and kept NOT_BILLED)
    assert (plan.balance_after, plan.available_after, plan.debited) == (
        D("100.00"),
        D("100.00"),
        D("0.00"),
    )


def test_held_items_do_not_count_for_the_minimum_balance():
    # 500.00 would make the service INVALID on a 100.00 wallet; held, it is rated, not INVALID
    r = service_with_usage(price="500.00")
    (out,) = debit_plan(wallet(), [r], frozenset({"MANUAL"})).outcomes
    assert out.state is None and out.billed == (False,) and out.rated_up_to == JAN31


def test_usage_not_listed_holds_usage_charges_but_applies_credits():
    # service 30.00 billed, usage charge 5.00 held, usage credit 2.00 applied:
    # debits: credit -2.00 first, then 30.00; balance 100.00 + 2.00 - 30.00 = 72.00
    r = service_with_usage(("5.00", "TO_BE_BILLED"), ("2.00", "TO_BE_CREDITED"))
    plan = debit_plan(wallet(), [r], frozenset({"PREPAID_BILLING"}))
    (out,) = plan.outcomes
    assert out.state == "VALID"
    assert [(i.kind, i.gross) for i in out.items] == [
        ("USAGE", D("-2.00")),
        ("SERVICE", D("30.00")),
        ("USAGE", D("5.00")),
    ]
    assert out.debits == (D("-2.00"), D("30.00"), D("0.00"))
    assert out.billed == (True, True, False)
    assert plan.balance_after == D("72.00")
    assert (plan.debited, plan.credited) == (D("30.00"), D("2.00"))


def test_no_definition_bills_everything():
    # None: 30.00 + 5.00 - 2.00 = 33.00 debited net; billed () means all billed
    r = service_with_usage(("5.00", "TO_BE_BILLED"), ("2.00", "TO_BE_CREDITED"))
    plan = debit_plan(wallet(), [r], None)
    (out,) = plan.outcomes
    assert out.state == "VALID" and out.billed == ()
    assert all(out.is_billed(n) for n in range(len(out.items)))
    assert out.debits == (D("-2.00"), D("30.00"), D("5.00"))
    assert plan.balance_after == D("67.00")
    # the same as listing every cause
    listed = debit_plan(wallet(), [r], frozenset({"PREPAID_BILLING", "USAGE", "MANUAL"}))
    assert listed.balance_after == D("67.00") and listed.outcomes[0].billed == ()


def test_an_empty_definition_holds_charges_and_applies_credits_only():
    r = service_with_usage(("5.00", "TO_BE_BILLED"), ("2.00", "TO_BE_CREDITED"))
    plan = debit_plan(wallet(), [r], frozenset())
    (out,) = plan.outcomes
    assert out.state == "VALID"
    assert out.debits == (D("-2.00"), D("0.00"), D("0.00"))
    assert out.billed == (True, False, False)
    assert plan.balance_after == D("102.00")


def test_penalty_is_a_prepaid_billing_cause():
    r = penalised()
    (out,) = debit_plan(wallet("1000.00"), [r], frozenset({"USAGE"})).outcomes
    assert out.state is None and out.billed == (False,)
    (out,) = debit_plan(wallet("1000.00"), [r], frozenset({"PREPAID_BILLING"})).outcomes
    assert out.state == "VALID" and out.debits == (D("292.80"),)


# --- 7. identity ---------------------------------------------------------------------------------


def test_items_of_one_period_with_different_rates_discounts_or_vat_differ():
    p = Pricing(
        product(
            rates=(("2025-12-01", "30.00"), ("2026-01-06", "60.00")),
            discounts=(pct("P10", "10", start=date(2026, 1, 11), end=date(2026, 1, 21)),),
            vat_rates=(vat(date(2025, 1, 1), "20"), vat(date(2026, 1, 26), "24")),
        )
    )
    r = rate_service(svc(p), [], JAN1)
    assert [(i.start, i.end) for i in r.items] == [
        (JAN1, date(2026, 1, 6)),
        (date(2026, 1, 6), date(2026, 1, 11)),
        (date(2026, 1, 11), date(2026, 1, 21)),
        (date(2026, 1, 21), date(2026, 1, 26)),
        (date(2026, 1, 26), JAN31),
    ]
    assert [i.identity for i in r.items] == [
        "SERVICE|2026-01-01|2026-01-06||2025-12-01||20.0000",
        "SERVICE|2026-01-06|2026-01-11||2026-01-06||20.0000",
        "SERVICE|2026-01-11|2026-01-21||2026-01-06|P10|20.0000",
        "SERVICE|2026-01-21|2026-01-26||2026-01-06||20.0000",
        "SERVICE|2026-01-26|2026-01-31||2026-01-06||24.0000",
    ]
    for item in r.items:
        check_item(item)
    # the same span with another rate, discount set or VAT rate is another item
    base = r.items[2]
    assert (
        len(
            {
                base.identity,
                replace(base, rate_from=date(2025, 12, 1)).identity,
                replace(base, discounts=()).identity,
                replace(base, vat_rate=D("24")).identity,
                replace(base, component="C1").identity,
            }
        )
        == 5
    )


def test_re_rating_the_same_facts_gives_the_same_identities():
    p = bundle(
        "BOTH",
        ad_hoc=(pct("ADHOC", "5", start=date(2026, 1, 11), auto=False),),
    )
    s = svc(p)
    u = [UsageFacts(100, 7, D("3.00"), "TO_BE_BILLED", JAN1)]
    first = [i.identity for i in rate_service(s, u, JAN1).items]
    assert first == [i.identity for i in rate_service(s, u, JAN1).items]
    assert len(set(first)) == len(first) == 7  # 3 lines x 2 stretches + 1 usage
    assert "USAGE|100" in first


# --- 8. burn_lines -------------------------------------------------------------------------------


def test_burn_lines_gross_per_period_with_discounts_and_vat():
    # 30.00 - 10 % (3.00) - FIXED 6.00 per 30 days - FIXED 3.00 per 15 days (= 6.00 per 30)
    # = 15.00; + 20 % VAT = 18.00 per 30 days
    p = Pricing(
        product(
            discounts=(pct("P10", "10"), fixed("F6", "6.00"), fixed("F3", "3.00", per=15)),
            vat_rates=(vat(date(2025, 1, 1), "20"),),
        )
    )
    assert burn_lines(svc(p), JAN1) == (BurnLine("P", D("18.00"), 30),)


def test_burn_lines_follow_the_day_and_never_go_below_zero():
    p = Pricing(
        product(
            rates=(("2025-12-01", "30.00"), ("2026-01-11", "60.00")),
            discounts=(fixed("BIG", "100.00", start=date(2026, 1, 21)),),
        )
    )
    assert burn_lines(svc(p), JAN1) == (BurnLine("P", D("30.00"), 30),)
    assert burn_lines(svc(p), date(2026, 1, 11)) == (BurnLine("P", D("60.00"), 30),)
    assert burn_lines(svc(p), date(2026, 1, 21))[0].gross_per_period == 0
    # before the plan's first rate: the service's own price (30.00 / 30)
    assert burn_lines(svc(p), date(2025, 11, 30)) == (BurnLine("P", D("30.00"), 30),)


def test_burn_lines_of_a_both_bundle():
    assert burn_lines(svc(bundle("BOTH")), JAN1) == (
        BurnLine("B", D("50.00"), 30),
        BurnLine("C1", D("20.00"), 30),
        BurnLine("C2", D("15.00"), 30),
    )
    assert burn_lines(svc(bundle("COMPONENTS")), JAN1) == (
        BurnLine("C1", D("20.00"), 30),
        BurnLine("C2", D("15.00"), 30),
    )


def test_burn_lines_without_pricing_use_the_service_price():
    assert burn_lines(svc(None, price="45.00"), JAN1) == (BurnLine("P", D("45.00"), 30),)


# --- ad hoc discounts on bundles rated as several lines (bug fix) --------------------------------


def test_an_ad_hoc_fixed_discount_applies_once_to_a_bundle_rated_as_several_lines():
    # ad hoc 5.00 off per period on a BOTH bundle (50.00 + 20.00 + 15.00): 5.00 off the bundle's
    # own item only, 80.00 in all (it used to be taken off every line: 15.00 off, 70.00)
    p = bundle("BOTH", ad_hoc=(fixed("OFF5", "5.00", auto=False),))
    r = rate_service(svc(p), [], JAN1)
    assert [(i.component, i.discount, i.gross) for i in r.items] == [
        (None, D("5.00"), D("45.00")),
        ("C1", D("0.00"), D("20.00")),
        ("C2", D("0.00"), D("15.00")),
    ]
    assert r.total == D("80.00")
    # COMPONENTS: once, on the first component: 20.00 - 5.00 + 15.00 = 30.00
    p = bundle("COMPONENTS", ad_hoc=(fixed("OFF5", "5.00", auto=False),))
    r = rate_service(svc(p), [], JAN1)
    assert [(i.component, i.discount) for i in r.items] == [("C1", D("5.00")), ("C2", D("0.00"))]
    assert r.total == D("30.00")
    # the estimate burns the same: 45.00 + 20.00 + 15.00
    p = bundle("BOTH", ad_hoc=(fixed("OFF5", "5.00", auto=False),))
    assert [b.gross_per_period for b in burn_lines(svc(p), JAN1)] == [
        D("45.00"),
        D("20.00"),
        D("15.00"),
    ]


def test_an_ad_hoc_percentage_applies_to_every_line_of_a_bundle():
    # 10 % of the whole service: 5.00 + 2.00 + 1.50 = 8.50 off 85.00 -> 76.50
    p = bundle("BOTH", ad_hoc=(pct("TEN", "10", auto=False),))
    r = rate_service(svc(p), [], JAN1)
    assert [i.discount for i in r.items] == [D("5.00"), D("2.00"), D("1.50")]
    assert r.total == D("76.50")


# --- bad pricing facts are refused, naming the field ---------------------------------------------


@pytest.mark.parametrize(
    ("pricing", "message"),
    [
        (Pricing(product(), bundle_pricing="bundle"), "service 7: bundle_pricing: expected"),
        (Pricing(product(), penalty_kind="PERCENT"), "service 7: penalty_kind: expected"),
        (
            Pricing(product(vat_rates=(vat(JAN1, "120"),))),
            "service 7: product P: VAT rate: expected 0 to 100",
        ),
        (
            Pricing(product(discounts=(pct("P", "101"),))),
            "service 7: discount P: value: expected > 0 and <= 100",
        ),
        (
            Pricing(product(), ad_hoc=(fixed("F", "0.00", auto=False),)),
            "service 7: discount F: value: expected > 0",
        ),
        (
            Pricing(product(discounts=(fixed("F", "1.00", per=0),))),
            "service 7: discount F: period_days: expected a whole number >= 1",
        ),
        (
            Pricing(product(discounts=(replace(pct("K", "5"), kind="AMOUNT"),))),
            "service 7: discount K: kind: expected PERCENT or FIXED",
        ),
        (
            Pricing(product(discounts=(pct("E", "5", start=JAN31, end=JAN1),))),
            "service 7: discount E: effective_to: expected a date after effective_from",
        ),
    ],
)
def test_bad_pricing_facts_are_refused_naming_the_field(pricing, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        rate_service(svc(pricing), [], JAN1)
    with pytest.raises(ValueError, match=f"^{message}"):
        burn_lines(svc(pricing), JAN1)


# --- identities always fit the column and never read alike for different discount sets --------


def test_identity_fits_255_characters_with_many_long_discount_codes():
    # four 60-character codes would make a ~310-character identity; the codes become a digest
    codes = [c * 60 for c in "ABCD"]
    p = Pricing(product(discounts=tuple(pct(c, "5") for c in codes)))
    (item,) = rate_service(svc(p), [], JAN1).items
    assert len(item.identity) <= 255
    assert item.identity.startswith("SERVICE|2026-01-01|2026-01-31||2025-12-01|#")
    # the same set gives the same identity; another set another one
    again = rate_service(svc(p), [], JAN1).items[0]
    assert again.identity == item.identity
    assert replace(item, discounts=item.discounts[:3]).identity != item.identity
    # short codes stay readable
    p = Pricing(product(discounts=(pct("A", "5"), pct("B", "5"))))
    assert rate_service(svc(p), [], JAN1).items[0].identity.endswith("|A,B|0.0000")


def test_identity_tells_a_code_with_a_comma_from_two_codes():
    one = Pricing(product(discounts=(pct("A,B", "10"),)))
    two = Pricing(product(discounts=(pct("A", "5"), pct("B", "5"))))
    a = rate_service(svc(one), [], JAN1).items[0].identity
    b = rate_service(svc(two), [], JAN1).items[0].identity
    assert a != b


def _charge(service_id: int, amount: str, existing_id: int | None = None) -> Item:
    return Item(
        service_id=service_id,
        kind="SERVICE",
        start=JAN1,
        end=JAN31,
        active_days=30,
        amount=D(amount),
        existing_id=existing_id,
    )


def test_a_carried_charge_releases_its_hold_only_when_its_service_is_billed():
    # balance 100.00 with 80.00 held by service 1's NOT_BILLED charge of an earlier run:
    # available 20.00. Service 1 owes 80.00 (carried) + 50.00 (new) = 130.00 > 100.00: INVALID,
    # and the 80.00 stays held, so service 2's 90.00 is checked against 20.00: INVALID too
    w = WalletFacts(D("100.00"), D("20.00"), D("0.00"), D("0.00"), False)
    r1 = ServiceRating(1, (_charge(1, "80.00", existing_id=501), _charge(1, "50.00")), JAN31, JAN1)
    r2 = ServiceRating(2, (_charge(2, "90.00"),), JAN31, JAN1)
    plan = debit_plan(w, [r1, r2])
    assert [o.state for o in plan.outcomes] == ["INVALID", "INVALID"]
    assert (plan.balance_after, plan.available_after) == (D("100.00"), D("20.00"))
    # when service 1 owes only its carried 80.00, it is billed: the hold is released and debited
    r1 = ServiceRating(1, (_charge(1, "80.00", existing_id=501),), JAN1, JAN1)
    plan = debit_plan(w, [r1, r2])
    assert [o.state for o in plan.outcomes] == ["VALID", "INVALID"]
    assert (plan.balance_after, plan.available_after) == (D("20.00"), D("20.00"))
