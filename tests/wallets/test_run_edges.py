"""Edges found in review: exact half cents, a failed chunk retried by the queue, the balance
ceiling, empty wallets listed as low, `--wait` that runs out of time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from core.exceptions import DomainError
from tests.wallets import builders as b
from wallets import rating, tasks
from wallets.models import PrepaidBillingRun, Wallet, WalletTransaction
from wallets.selectors import low_balance_wallets, wallet_list
from wallets.services import chunks
from wallets.services.ledger import wallet_lock, wallet_post
from wallets.services.runs import prepaid_run_start, prepaid_run_trigger

D = Decimal


def test_an_exact_half_cent_rounds_up():
    # 1.07 / 28 x 14 = 0.535 exactly -> 0.54 (dividing first gave 0.5349999... -> 0.53)
    svc = rating.ServiceFacts(
        id=1,
        product="DATA",
        price_per_period=D("1.07"),
        period_days=28,
        rating="POST",
        rated_up_to=date(2026, 1, 1),
        periods=(rating.StatePeriod("ACTIVE", date(2026, 1, 1)),),
    )
    (item,) = rating.rate_service(svc, [], date(2026, 1, 15)).items
    assert (item.active_days, item.amount) == (14, D("0.54"))


def test_a_chunk_that_fails_once_is_queued_again_and_the_run_completes(world, monkeypatch):
    # given a run whose only chunk meets an error on its first attempt
    w = b.wallet(world.tenant, b.account(world.tenant), balance="50.00")
    b.service(world.tenant, w.account, rating="POST", rated_up_to=date(2026, 1, 1))
    run = prepaid_run_trigger(actor=world.actor(), as_of=date(2026, 1, 11), enqueue=False)
    (chunk_id,) = prepaid_run_start(run_id=run.pk)
    real, calls = chunks._process_accounts, []

    def flaky(*args):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("connection lost")
        return real(*args)

    monkeypatch.setattr(chunks, "_process_accounts", flaky)
    # when the task fails (the test queue runs the re-queued attempt at once)
    with pytest.raises(RuntimeError):
        tasks.prepaid_run_chunk(chunk_id)
    # then the second attempt rated the account and the run completed
    run.refresh_from_db()
    assert (run.status, run.debited_total) == ("COMPLETED", D("10.00"))
    assert Wallet.objects.get(pk=w.pk).balance == D("40.00")
    assert len(calls) == 2


def test_a_credit_past_the_balance_ceiling_is_refused_and_nothing_is_written(world):
    from django.db import transaction

    w = b.wallet(world.tenant, balance="999999999999.00")
    with pytest.raises(DomainError) as err, transaction.atomic():
        wallet_post(wallet=wallet_lock(tenant_id=world.tenant.pk, wallet_id=w.pk),
                    amount=D("1.00"), cause="TOP_UP")  # fmt: skip
    assert err.value.code == "balance_limit"
    assert Wallet.objects.get(pk=w.pk).balance == D("999999999999.00")
    assert WalletTransaction.objects.filter(wallet=w).count() == 1  # the opening credit only


def test_an_empty_wallet_is_low_even_with_zero_thresholds(world):
    empty = b.wallet(world.tenant, b.account(world.tenant, "PP-EMPTY"), balance="0.00")
    b.wallet(world.tenant, b.account(world.tenant, "PP-FULL"), balance="80.00")
    actor = world.actor()
    assert [x.pk for x in wallet_list(actor=actor, low=True)] == [empty.pk]
    assert [x.pk for x in low_balance_wallets(actor=actor)] == [empty.pk]


def test_wait_that_runs_out_of_time_exits_with_an_error(world):
    w = b.wallet(world.tenant, b.account(world.tenant, "PP-WAIT"), balance="5.00")
    with pytest.raises(CommandError, match="still DRAFT"):
        call_command(
            "trigger_prepaid_run",
            "--tenant", world.tenant.slug, "--as-of", "2026-01-11",
            "--account", w.account.number, "--wait", "--timeout", "0",
        )  # fmt: skip
    assert PrepaidBillingRun.objects.get(tenant=world.tenant).status == "DRAFT"


def test_wallet_audit_actions_read_as_words():
    from core.labels import label_for

    assert label_for("PrepaidRun.schedule") == "Next prepaid run scheduled"
    assert label_for("Wallet.topup") == "Wallet topped up"
