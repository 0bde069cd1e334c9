"""50 parallel debits and top-ups on one wallet lose nothing and never overdraw (PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from core.exceptions import DomainError
from tests.concurrency import race
from tests.wallets import builders as b
from wallets.models import Wallet, WalletTransaction
from wallets.services.ledger import wallet_lock, wallet_post, wallet_topup

DEBIT = Decimal("10.00")
TOPUP = Decimal("2.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_debits_and_topups_lose_nothing_and_never_overdraw(world):
    # given a wallet of 50.00 and 50 workers: 25 debit 10.00, 25 top up 2.00
    w = b.wallet(world.tenant, balance="50.00")
    actor = world.actor()
    assert actor.scopes  # resolved once, before the threads start

    def work(i: int):
        if i % 2:
            return wallet_topup(actor=actor, wallet_id=w.pk, amount=TOPUP, reference=f"T{i}")
        with transaction.atomic():
            locked = wallet_lock(tenant_id=world.tenant.pk, wallet_id=w.pk)
            return wallet_post(wallet=locked, amount=-DEBIT, cause="PREPAID_BILLING")

    # when they all run at the same moment
    results = race(50, work)

    # then every top-up landed, debits either landed or were refused for lack of funds
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, DomainError) and e.code == "insufficient_funds" for e in errors), (
        errors
    )
    rows = [r for r in results if isinstance(r, WalletTransaction)]
    debits = [r for r in rows if r.kind == "DEBIT"]
    credits = [r for r in rows if r.kind == "CREDIT"]
    assert len(credits) == 25
    assert 5 <= len(debits) <= 10  # 50.00 + 25 x 2.00 = 100.00 allows at most 10 debits
    assert len(debits) + len(errors) == 25

    w.refresh_from_db()
    expected = Decimal("50.00") + 25 * TOPUP - len(debits) * DEBIT
    ledger = list(WalletTransaction.objects.filter(wallet=w).order_by("id"))
    assert len(ledger) == 1 + 25 + len(debits)
    assert w.balance == expected == sum(t.amount for t in ledger)
    running = Decimal("0")
    for t in ledger:  # the rows chain: each balance_after follows from the one before
        running += t.amount
        assert t.balance_after == running >= 0
    assert Wallet.objects.filter(pk=w.pk, balance__lt=0).count() == 0
