"""Hypothesis: any sequence of top-ups and debits keeps balance == ledger sum, never below zero."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.exceptions import DomainError
from tests.wallets import builders as b
from wallets.services.ledger import wallet_lock, wallet_post, wallet_topup

cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
ops = st.lists(st.tuples(st.sampled_from(["topup", "debit", "credit"]), cents), max_size=25)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    opening=st.integers(min_value=0, max_value=20_000).map(lambda c: Decimal(c) / 100), steps=ops
)
def test_balance_equals_ledger_sum_and_never_goes_negative(world, opening, steps):
    actor = world.actor()
    w = b.wallet(world.tenant, balance=opening)
    expected = opening
    refused = 0
    for op, amount in steps:
        if op == "topup":
            wallet_topup(actor=actor, wallet_id=w.pk, amount=amount, reference="prop")
            expected += amount
            continue
        signed = -amount if op == "debit" else amount
        try:
            with transaction.atomic():
                locked = wallet_lock(tenant_id=world.tenant.pk, wallet_id=w.pk)
                wallet_post(wallet=locked, amount=signed, cause="PREPAID_BILLING")
        except DomainError as exc:
            assert exc.code == "insufficient_funds"
            assert expected + signed < 0
            refused += 1
            continue
        expected += signed
    w.refresh_from_db()
    rows = list(w.transactions.order_by("id").values_list("amount", "balance_after"))
    running = Decimal("0")
    for amount, after in rows:
        running += amount
        assert after == running >= 0
    assert w.balance == expected == running
    # one row per accepted step (plus the opening credit when there was one)
    assert len(rows) == len(steps) - refused + (1 if opening > 0 else 0)
