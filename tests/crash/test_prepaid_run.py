"""A prepaid run survives workers SIGKILLed at random points (issue 17): a fresh cluster
finishes it, every account is debited exactly once, every wallet's balance equals its ledger,
the run's counters tie out and the tenant's audit chain verifies."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from django.db.models import Sum

from core.audit import verify_chain
from tests.crash.conftest import kill_and_restart
from tests.wallets.test_runs_lifecycle import AS_OF, scene
from wallets.models import PrepaidBillingRun, PrepaidRunChunk, Wallet, WalletTransaction
from wallets.services.runs import prepaid_run_trigger

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

ACCOUNTS = 200  # 10 chunks of 20 (PREPAID_CHUNK_ACCOUNTS in the clusters fixture)
FINISHED = {
    PrepaidBillingRun.Status.COMPLETED,
    PrepaidBillingRun.Status.COMPLETED_WITH_ERRORS,
    PrepaidBillingRun.Status.FAILED,
}


def _run(pk: int) -> PrepaidBillingRun:
    return PrepaidBillingRun.objects.get(pk=pk)


@pytest.mark.parametrize("seed", [1, 2])
def test_prepaid_run_survives_a_killed_cluster(world, clusters, seed):
    rng = random.Random(seed)
    # 200 accounts, each 50.00 in its wallet, a 10.00 charge and 3.00 of usage due on AS_OF
    wallets = scene(world, ACCOUNTS)

    # given a prepaid run queued for a running cluster
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF)
    first = clusters()

    # when the cluster is SIGKILLed after a seeded number of chunks (plus a seeded moment)
    # and a fresh cluster is started
    kill_after = rng.randint(0, 8)
    _, finished = kill_and_restart(
        clusters,
        first,
        rng=rng,
        seed=seed,
        job=lambda: _run(run.pk),
        reached=lambda r: r.chunks_done >= kill_after,
        finished=lambda r: r.status in FINISHED,
        jitter=0.3,
        what=f"run reaching chunk {kill_after}",
        show=lambda r: f"{r.status} {r.chunks_done}/{r.chunks_total}",
    )

    # then every account paid exactly once: 10.00 of service and 3.00 of usage
    assert finished.status == PrepaidBillingRun.Status.COMPLETED, finished.failure
    balances = list(
        Wallet.objects.filter(pk__in=[w.pk for w in wallets]).values_list("balance", flat=True)
    )
    assert balances == [Decimal("37.00")] * ACCOUNTS
    assert WalletTransaction.objects.filter(run=run).count() == 2 * ACCOUNTS
    # and no wallet's balance differs from its ledger
    for w in Wallet.objects.filter(pk__in=[w.pk for w in wallets]):
        assert w.balance == w.transactions.aggregate(s=Sum("amount"))["s"]
    # and the counters tie out with the chunks and the ledger
    assert PrepaidRunChunk.objects.filter(run=run, done=False).count() == 0
    assert (finished.accounts_done, finished.accounts_total) == (ACCOUNTS, ACCOUNTS)
    assert finished.chunks_done == finished.chunks_total == 10
    debited = -WalletTransaction.objects.filter(run=run).aggregate(s=Sum("amount"))["s"]
    assert finished.debited_total == debited == Decimal("13.00") * ACCOUNTS
    # and the audit chain verifies
    report = verify_chain(world.tenant)
    assert report.ok, report.problem
