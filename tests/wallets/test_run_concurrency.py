"""Two runs over the same accounts never double-debit (sequentially, and at once on PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from tests.concurrency import race
from tests.wallets import builders as b
from wallets.models import PrepaidBillingRun, RatedItem, Wallet, WalletTransaction
from wallets.services import chunks
from wallets.services.finalize import prepaid_run_finalize
from wallets.services.runs import prepaid_run_execute, prepaid_run_start, prepaid_run_trigger

AS_OF = date(2026, 1, 11)
D = Decimal


def scene(tenant, n: int) -> list[Wallet]:
    """n accounts with 100.00, a 10.00 post-rated charge and a 31.00 pre-rated one due."""
    out = []
    for _ in range(n):
        w = b.wallet(tenant, b.account(tenant), balance="100.00")
        b.service(tenant, w.account, rating="POST")
        b.service(tenant, w.account, rating="PRE", price="31.00", period_days=31)
        out.append(w)
    return out


def assert_paid_once(wallets, runs) -> None:
    for w in wallets:
        w.refresh_from_db()
        assert w.balance == D("59.00")
        ledger_sum = WalletTransaction.objects.filter(wallet=w).aggregate(s=Sum("amount"))["s"]
        assert ledger_sum == w.balance
    assert RatedItem.objects.filter(run__in=runs).count() == 2 * len(wallets)
    assert sum(r.debited_total for r in runs) == D("41.00") * len(wallets)


def test_two_runs_one_after_the_other_debit_once(world):
    wallets = scene(world.tenant, 3)
    runs = [
        prepaid_run_execute(
            run_id=prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False).pk
        )
        for _ in range(2)
    ]
    assert [r.rated_count for r in runs] == [6, 0]
    assert all(r.status == PrepaidBillingRun.Status.COMPLETED for r in runs)
    assert_paid_once(wallets, runs)


def test_two_runs_interleaved_chunk_by_chunk_debit_once(world, settings):
    # run 2 starts (plans its chunks) before run 1 has rated anything
    settings.PREPAID_CHUNK_ACCOUNTS = 1
    wallets = scene(world.tenant, 3)
    ids = [prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False).pk for _ in "ab"]
    planned = [prepaid_run_start(run_id=i) for i in ids]
    for pair in zip(*planned, strict=True):
        for chunk_id in pair:
            chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    runs = [prepaid_run_finalize(run_id=i) for i in ids]
    assert_paid_once(wallets, runs)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_never_double_debit(world, settings):
    # given 6 accounts in chunks of 2, and two runs planned over them
    settings.PREPAID_CHUNK_ACCOUNTS = 2
    wallets = scene(world.tenant, 6)
    ids = [prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False).pk for _ in "ab"]
    planned = [prepaid_run_start(run_id=i) for i in ids]

    # when two workers process the two runs' chunks at the same moment
    def work(i: int) -> int:
        return sum(chunks.prepaid_run_process_chunk(chunk_id=c) for c in planned[i])

    results = race(2, work)
    assert results == [6, 6], results
    runs = [prepaid_run_finalize(run_id=i) for i in ids]

    # then each account paid once, whichever run got to it first
    assert all(r.status == PrepaidBillingRun.Status.COMPLETED for r in runs)
    assert_paid_once(wallets, runs)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_chunk_in_two_workers_and_top_ups_lose_nothing(world):
    from wallets.services.ledger import wallet_topup

    # given one run's chunk picked up twice (a retried task) while top-ups land on a wallet
    wallets = scene(world.tenant, 3)
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False)
    (chunk_id,) = prepaid_run_start(run_id=run.pk)
    actor = world.actor()

    def work(i: int):
        if i < 2:
            return chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
        w = wallets[1]
        return wallet_topup(actor=actor, wallet_id=w.pk, amount=D("5.00"), reference=f"t{i}")

    results = race(8, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    run = prepaid_run_finalize(run_id=run.pk)

    # then each wallet: 100 - 41 + its top-ups, equal to its ledger sum
    tops = {w.pk: 0 for w in wallets}
    tops[wallets[1].pk] = 6
    for w in wallets:
        w.refresh_from_db()
        assert w.balance == D("59.00") + D("5.00") * tops[w.pk]
        ledger_sum = WalletTransaction.objects.filter(wallet=w).aggregate(s=Sum("amount"))["s"]
        assert ledger_sum == w.balance
    assert run.rated_count == 6
    assert run.debited_total == D("123.00")
