"""Worked examples for the debit plan: min-balance, stop-service cap, credits, running order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from wallets.rating import (
    ServiceFacts,
    StatePeriod,
    UsageFacts,
    WalletFacts,
    debit_plan,
    rate_service,
)

D = Decimal
AS_OF = date(2026, 1, 31)


def wallet(
    balance: str,
    *,
    available: str | None = None,
    min_balance: str = "0.00",
    stop: str = "0.00",
    restrict: bool = False,
) -> WalletFacts:
    return WalletFacts(
        balance=D(balance),
        available=D(available if available is not None else balance),
        min_balance_threshold=D(min_balance),
        stop_service_threshold=D(stop),
        restrict_below_stop=restrict,
    )


def rated(
    amount: str, *, id: int = 1, usage: tuple[tuple[str, str], ...] = (), rating: str = "POST"
):
    """A POST service rated up to Jan 1 whose [Jan 1, Jan 31) costs `amount` (30 ACTIVE days)."""
    s = ServiceFacts(
        id=id,
        product="DATA",
        price_per_period=D(amount),
        period_days=30,
        rating=rating,
        rated_up_to=date(2026, 1, 1),
        periods=(StatePeriod("ACTIVE", date(2025, 12, 1)),),
    )
    records = [
        UsageFacts(100 + n, id, D(a), directive, date(2026, 1, 5))
        for n, (a, directive) in enumerate(usage)
    ]
    return rate_service(s, records, AS_OF)


def test_min_balance_boundary_equal_is_valid():
    # 50.00 - 30.00 = 20.00 == min 20.00 -> VALID, one debit of 30.00, balance 20.00
    plan = debit_plan(wallet("50.00", min_balance="20.00"), [rated("30.00")])
    (out,) = plan.outcomes
    assert out.state == "VALID"
    assert out.debits == (D("30.00"),)
    assert out.rated_up_to == AS_OF
    assert plan.balance_after == D("20.00") and plan.available_after == D("20.00")
    assert plan.debited == D("30.00")


def test_min_balance_one_cent_over_is_invalid_and_nothing_moves():
    # 30.00 + usage 0.01 = 30.01; 50.00 - 30.01 = 19.99 < 20.00 -> INVALID
    r = rated("30.00", usage=(("0.01", "TO_BE_BILLED"),))
    assert r.total == D("30.01")
    plan = debit_plan(wallet("50.00", min_balance="20.00"), [r])
    (out,) = plan.outcomes
    assert out.state == "INVALID"
    assert out.items == () and out.debits == ()
    assert out.rated_up_to == date(2026, 1, 1)  # unchanged
    assert plan.balance_after == D("50.00") and plan.available_after == D("50.00")


def test_min_balance_uses_available_not_balance():
    # balance 50.00 but 10.00 of unbilled charges: available 40.00; 40.00 - 30.00 = 10.00 < 20.00
    plan = debit_plan(wallet("50.00", available="40.00", min_balance="20.00"), [rated("30.00")])
    assert plan.outcomes[0].state == "INVALID"


def test_stop_service_cap_with_restrict_below_stop():
    # 40.00 - 30.00 = 10.00 < stop 15.00 -> capped at 40.00 - 15.00 = 25.00; balance 15.00
    plan = debit_plan(wallet("40.00", stop="15.00", restrict=True), [rated("30.00")])
    (out,) = plan.outcomes
    assert out.state == "VALID"
    assert out.items[0].amount == D("30.00")  # the item keeps what it cost
    assert out.debits == (D("25.00"),)
    assert plan.balance_after == D("15.00")


def test_stop_service_boundary_equal_is_not_capped():
    # 40.00 - 25.00 = 15.00 == stop -> the full 25.00
    plan = debit_plan(wallet("40.00", stop="15.00", restrict=True), [rated("25.00")])
    assert plan.outcomes[0].debits == (D("25.00"),)
    assert plan.balance_after == D("15.00")


def test_stop_service_cap_never_below_zero_debit():
    # available 10.00 already below stop 15.00 -> debit max(10.00 - 15.00, 0) = 0.00
    plan = debit_plan(wallet("10.00", stop="15.00", restrict=True), [rated("3.00")])
    assert plan.outcomes[0].state == "VALID"
    assert plan.outcomes[0].debits == (D("0.00"),)
    assert plan.balance_after == D("10.00")


def test_without_restrict_below_stop_the_full_amount_is_debited():
    # 40.00 - 30.00 = 10.00 below stop 15.00 but no restriction: debit 30.00, balance 10.00
    plan = debit_plan(wallet("40.00", stop="15.00", restrict=False), [rated("30.00")])
    assert plan.outcomes[0].debits == (D("30.00"),)
    assert plan.balance_after == D("10.00")


def test_credits_always_apply_even_below_the_minimum():
    # available 5.00 under min 100.00; the service only has a 4.00 credit -> VALID, balance 9.00
    s = ServiceFacts(1, "DATA", D("30.00"), 30, "POST", AS_OF, (StatePeriod("ACTIVE", AS_OF),))
    r = rate_service(s, [UsageFacts(7, 1, D("4.00"), "TO_BE_CREDITED", AS_OF)], AS_OF)
    plan = debit_plan(wallet("5.00", min_balance="100.00", stop="50.00", restrict=True), [r])
    (out,) = plan.outcomes
    assert out.state == "VALID" and out.debits == (D("-4.00"),)
    assert plan.balance_after == D("9.00")
    assert plan.credited == D("4.00")


def test_credits_are_applied_before_charges_of_the_same_service():
    # charge 10.00 (period) and credit 8.00 (usage): total 2.00; balance 5.00, min 0
    # credit first: 5.00 + 8.00 = 13.00, then 13.00 - 10.00 = 3.00 (never below zero on the way)
    r = rated("10.00", usage=(("8.00", "TO_BE_CREDITED"),))
    plan = debit_plan(wallet("5.00"), [r])
    (out,) = plan.outcomes
    assert out.debits == (D("-8.00"), D("10.00"))
    assert [i.amount for i in out.items] == [D("-8.00"), D("10.00")]
    assert plan.balance_after == D("3.00")


def test_later_service_rated_after_an_earlier_one_went_invalid():
    # wallet 50.00, min 10.00. Service 1 (45.00): 50 - 45 = 5 < 10 -> INVALID.
    # Service 2 (30.00): the running available is still 50.00 -> 20.00 >= 10 -> VALID.
    plan = debit_plan(wallet("50.00", min_balance="10.00"), [rated("30.00", id=2), rated("45.00")])
    assert [(o.service_id, o.state) for o in plan.outcomes] == [(1, "INVALID"), (2, "VALID")]
    assert plan.balance_after == D("20.00")


def test_running_available_makes_a_later_service_invalid():
    # service 1 (30.00): 50 - 30 = 20 -> VALID, available 20.00;
    # service 2 (15.00): 20 - 15 = 5 < 10 -> INVALID
    plan = debit_plan(wallet("50.00", min_balance="10.00"), [rated("30.00"), rated("15.00", id=2)])
    assert [o.state for o in plan.outcomes] == ["VALID", "INVALID"]
    assert plan.balance_after == D("20.00")


def test_nothing_identified_leaves_the_service_alone():
    s = ServiceFacts(1, "DATA", D("30.00"), 30, "POST", AS_OF, (StatePeriod("ACTIVE", AS_OF),))
    plan = debit_plan(wallet("0.00", min_balance="10.00"), [rate_service(s, [], AS_OF)])
    (out,) = plan.outcomes
    assert out.state is None and out.items == () and out.rated_up_to == AS_OF
    assert plan.balance_after == D("0.00")


def test_zero_active_days_is_valid_with_nothing_debited():
    periods = (StatePeriod("SUSPENDED", date(2025, 12, 1)),)
    s = ServiceFacts(1, "DATA", D("30.00"), 30, "POST", date(2026, 1, 1), periods)
    plan = debit_plan(wallet("0.00", min_balance="10.00"), [rate_service(s, [], AS_OF)])
    (out,) = plan.outcomes
    assert out.state == "VALID" and out.debits == () and out.rated_up_to == AS_OF
