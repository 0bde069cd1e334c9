"""Hypothesis over priced prepaid runs: after any sequence of runs (random as_of steps), top-ups
and wallet definition toggles, the ledger sums to the balance, no item identity repeats for a
service, every item is billed at most once and a billed item's ledger row is its debit."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wallets import builders as b
from tests.wallets import pricing_builders as pb
from wallets.models import RatedItem, SubscriptionService, WalletDefinition, WalletTransaction
from wallets.services.ledger import wallet_topup
from wallets.services.runs import prepaid_run_execute, prepaid_run_trigger

D = Decimal
START = date(2026, 1, 1)
CAUSES = {
    "none": None,
    "all": ("PREPAID_BILLING", "USAGE", "MANUAL"),
    "usage": ("USAGE",),
    "prepaid": ("PREPAID_BILLING",),
}

steps = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.integers(min_value=0, max_value=40)),
        st.tuples(st.just("topup"), st.integers(min_value=1, max_value=10_000)),
        st.tuples(st.just("define"), st.sampled_from(sorted(CAUSES))),
    ),
    min_size=1,
    max_size=8,
)


def define(tenant, which: str) -> None:
    WalletDefinition.objects.filter(tenant=tenant, active=True).update(active=False)
    if CAUSES[which] is not None:
        pb.wallet_definition(tenant, CAUSES[which])


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    opening=st.integers(min_value=0, max_value=10_000),
    minimum=st.integers(min_value=0, max_value=2_000),
    pre=st.booleans(),
    cancel_after=st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
    plan=steps,
)
def test_any_sequence_of_runs_keeps_ledger_equal_to_balance_and_bills_each_item_once(
    world, opening, minimum, pre, cancel_after, plan
):
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance=D(opening) / 100, min_balance=D(minimum) / 100)
    # a priced product: a rate change, a discount ending, VAT changing, a fixed penalty
    code = f"P{acc.pk}"
    product = b.product(t, code)
    product.tax_class = pb.tax_class(
        t, f"TC{acc.pk}", ((date(2020, 1, 1), "20"), (date(2026, 2, 1), "10"))
    )
    product.penalty_kind, product.penalty_amount = "FIXED", D("25.00")
    product.save(update_fields=["tax_class", "penalty_kind", "penalty_amount"])
    pb.price_plan(t, product, ((date(2020, 1, 1), "30.00", 30), (date(2026, 1, 20), "45.00", 30)))
    pb.discount(t, kind="PERCENT", value="15", product=product, effective_to=date(2026, 1, 25))
    periods = [("ACTIVE", START, None)]
    if cancel_after is not None:
        cut = START + timedelta(days=cancel_after)
        periods = [("ACTIVE", START, cut), ("CANCELLED", cut, None)]
    svc = b.service(
        t,
        acc,
        price="30.00",
        period_days=30,
        rating="PRE" if pre else "POST",
        periods=periods,
        product_code=code,
    )
    SubscriptionService.objects.filter(pk=svc.pk).update(binding_end=date(2026, 4, 1))
    b.usage(t, svc, "3.00", on=date(2026, 1, 10))
    b.usage(t, svc, "1.00", directive="TO_BE_CREDITED", on=date(2026, 1, 12))
    as_of = START
    try:
        for op, value in plan:
            if op == "run":
                as_of += timedelta(days=value)
                run = prepaid_run_trigger(
                    actor=world.actor(), as_of=as_of, accounts=[acc.number], enqueue=False
                )
                run = prepaid_run_execute(run_id=run.pk)
                assert run.status == "COMPLETED"
                # a cause the run's definition does not list debits nothing in that run
                for cause in ("PREPAID_BILLING", "USAGE"):
                    if run.debit_causes is not None and cause not in run.debit_causes:
                        debits = WalletTransaction.objects.filter(
                            run=run, cause=cause, amount__lt=0
                        )
                        assert not debits.exists(), cause
            elif op == "topup":
                wallet_topup(
                    actor=world.actor(), wallet_id=w.pk, amount=D(value) / 100, reference="prop"
                )
            else:
                define(t, value)

            w.refresh_from_db()
            rows = list(WalletTransaction.objects.filter(wallet=w).values_list("amount", "item"))
            assert sum((a for a, _ in rows), D(0)) == w.balance >= 0
            # each item has at most one ledger row, and a billed item's row is its debit
            per_item = Counter(i for _, i in rows if i is not None)
            assert all(n == 1 for n in per_item.values())
            items = list(RatedItem.objects.filter(service=svc))
            ids = Counter(i.identity for i in items if i.kind != "USAGE")
            assert all(n == 1 for n in ids.values()), ids
            assert sum(1 for i in items if i.kind == "PENALTY_EARLY_CANCELLATION") <= 1
            by_item = {i: a for a, i in rows if i is not None}
            for item in items:
                assert item.gross == item.net - item.discount + item.vat == item.amount
                if item.state == "NOT_BILLED":
                    assert item.debited == 0 and item.pk not in by_item
                else:  # BILLED: the wallet gave the gross (no stop-service cap here)
                    assert item.debited == item.gross
                    assert by_item.get(item.pk, D(0)) == -item.debited
    finally:
        define(t, "none")
