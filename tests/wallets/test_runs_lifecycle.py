"""Prepaid run life cycle: crash and re-execution, FAILED, recurring successor, tasks, command."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from tests.wallets import builders as b
from wallets.models import (
    PrepaidBillingRun,
    PrepaidRunChunk,
    RatedItem,
    Wallet,
    WalletTransaction,
)
from wallets.services import chunks
from wallets.services.finalize import prepaid_run_finalize
from wallets.services.runs import prepaid_run_execute, prepaid_run_start, prepaid_run_trigger

AS_OF = date(2026, 1, 11)
D = Decimal


def scene(world, n: int = 4) -> list[Wallet]:
    """n accounts, each 50.00 in its wallet and a 10.00 post-rated charge due on AS_OF."""
    out = []
    for _ in range(n):
        w = b.wallet(world.tenant, b.account(world.tenant), balance="50.00")
        b.service(world.tenant, w.account, rating="POST")
        b.usage(
            world.tenant,
            b.service(world.tenant, w.account, price="0.00"),
            "3.00",
            on=date(2026, 1, 5),
        )
        out.append(w)
    return out


def balances(wallets) -> list[Decimal]:
    return [Wallet.objects.get(pk=w.pk).balance for w in wallets]


def test_chunk_re_executed_after_a_crash_debits_nothing_twice(world, monkeypatch, settings):
    # given four accounts in one chunk, one transaction each, and a worker that dies after the
    # second account's transaction committed
    settings.PREPAID_ACCOUNTS_PER_TRANSACTION = 1
    wallets = scene(world)
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False)
    (chunk_id,) = prepaid_run_start(run_id=run.pk)
    real = chunks._process_accounts
    seen = []

    def dies_on_the_third(run, account_ids, *args):
        if len(seen) == 2:
            raise RuntimeError("worker lost")
        seen.append(account_ids)
        return real(run, account_ids, *args)

    monkeypatch.setattr(chunks, "_process_accounts", dies_on_the_third)
    with pytest.raises(RuntimeError):
        chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    assert balances(wallets) == [D("37.00"), D("37.00"), D("50.00"), D("50.00")]
    assert not PrepaidRunChunk.objects.get(pk=chunk_id).done

    # when the chunk is executed again (the queue retries it) and the run finalises
    monkeypatch.setattr(chunks, "_process_accounts", real)
    assert chunks.prepaid_run_process_chunk(chunk_id=chunk_id) == 4
    run = prepaid_run_finalize(run_id=run.pk)

    # then every account paid once: 10.00 of service and 3.00 of usage
    assert balances(wallets) == [D("37.00")] * 4
    assert WalletTransaction.objects.filter(run=run).count() == 8
    # three items each (10.00, the free service's 0.00, the 3.00 usage); a 0.00 debit is no row
    assert (run.status, run.rated_count, run.debited_total) == ("COMPLETED", 12, D("52.00"))
    assert (run.accounts_done, run.chunks_done) == (4, 1)
    assert PrepaidRunChunk.objects.get(pk=chunk_id).attempts == 2
    # and a chunk already done does nothing
    assert chunks.prepaid_run_process_chunk(chunk_id=chunk_id) == 0


def test_chunk_whose_done_mark_was_lost_rates_nothing_again(world):
    # a crash between the accounts' commits and the chunk's done mark
    wallets = scene(world, 2)
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False)
    (chunk_id,) = prepaid_run_start(run_id=run.pk)
    chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    PrepaidRunChunk.objects.filter(pk=chunk_id).update(done=False)
    PrepaidBillingRun.objects.filter(pk=run.pk).update(chunks_done=0, accounts_done=0)

    chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    run = prepaid_run_finalize(run_id=run.pk)

    assert balances(wallets) == [D("37.00")] * 2
    assert RatedItem.objects.filter(run=run).count() == 6
    assert WalletTransaction.objects.filter(run=run).count() == 4
    assert (run.status, run.rated_count, run.debited_total) == ("COMPLETED", 6, D("26.00"))


def test_unexpected_error_fails_the_run_with_a_message(world, monkeypatch):
    wallets = scene(world, 2)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(chunks.rating, "debit_plan", broken)
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False)
    run = prepaid_run_execute(run_id=run.pk)

    assert run.status == PrepaidBillingRun.Status.FAILED
    assert "ZeroDivisionError" in run.failure
    assert run.finished_at is not None
    assert balances(wallets) == [D("50.00")] * 2
    assert not run.is_active


def test_recurring_run_creates_and_schedules_its_successor(world):
    from django_q.models import Schedule

    scene(world, 1)
    run = prepaid_run_trigger(
        actor=world.actor(),
        as_of=AS_OF,
        accounts=[],
        classifications=["RETAIL"],
        estimation="CHANGED",
        recurring_interval_days=7,
        enqueue=False,
    )
    run = prepaid_run_execute(run_id=run.pk)

    nxt = PrepaidBillingRun.objects.get(previous=run)
    assert nxt.status == PrepaidBillingRun.Status.DRAFT
    assert nxt.as_of == date(2026, 1, 18)
    assert nxt.scheduled_for == datetime(2026, 1, 18, 2, 0, tzinfo=UTC)
    assert (nxt.estimation, nxt.recurring_interval_days) == ("CHANGED", 7)
    assert nxt.classifications == run.classifications
    schedule = Schedule.objects.get(func="wallets.tasks.prepaid_run_start")
    assert (schedule.args, schedule.schedule_type, schedule.repeats) == (str(nxt.pk), "O", 1)
    assert schedule.next_run == nxt.scheduled_for
    # finalising again creates no second successor
    prepaid_run_finalize(run_id=run.pk)
    assert PrepaidBillingRun.objects.filter(previous=run).count() == 1
    assert Schedule.objects.filter(func="wallets.tasks.prepaid_run_start").count() == 1


def test_scheduled_successor_runs_through_the_task(world):
    from wallets import tasks

    wallets = scene(world, 1)
    run = prepaid_run_execute(
        run_id=prepaid_run_trigger(
            actor=world.actor(), as_of=AS_OF, recurring_interval_days=10, enqueue=False
        ).pk
    )
    nxt = PrepaidBillingRun.objects.get(previous=run)
    tasks.prepaid_run_start(nxt.pk)  # what the schedule calls (Q_SYNC runs the chunks inline)
    nxt.refresh_from_db()
    assert nxt.status == PrepaidBillingRun.Status.COMPLETED
    # 10 days more of the 1.00/day service: 50 - 13 - 10
    assert balances(wallets) == [D("27.00")]
    assert PrepaidBillingRun.objects.filter(previous=nxt).exists()


def test_trigger_enqueues_the_start_on_commit(world, django_capture_on_commit_callbacks):
    wallets = scene(world, 2)
    with django_capture_on_commit_callbacks(execute=True):
        run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF)
    run.refresh_from_db()
    assert run.status == PrepaidBillingRun.Status.COMPLETED
    assert balances(wallets) == [D("37.00")] * 2


def test_estimation_all_estimates_the_run_wallets(world):
    wallets = scene(world, 2)
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, estimation="ALL", enqueue=False)
    run = prepaid_run_execute(run_id=run.pk)
    assert run.wallets_estimated == 2
    w = Wallet.objects.get(pk=wallets[0].pk)
    # 37.00 at 1.00 a day
    assert (w.estimated_consumption_days, w.estimated_as_of) == (37, AS_OF)
    assert w.estimated_consumption_date == date(2026, 2, 17)


def test_command_prints_one_json_line(world):
    scene(world, 2)
    out = StringIO()
    call_command(
        "trigger_prepaid_run",
        "--tenant",
        world.tenant.slug,
        "--as-of",
        "2026-01-11",
        "--sync",
        stdout=out,
    )
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    run = PrepaidBillingRun.objects.get()
    assert data == {
        "run": run.pk,
        "status": "COMPLETED",
        "rated": 6,
        "debited": "26.00",
        "invalid": 0,
        "errors": 0,
    }


def test_command_refuses_a_bad_date_and_an_unknown_account(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--as-of"):
        call_command("trigger_prepaid_run", "--tenant", world.tenant.slug, "--as-of", "2026-13-01")
    with pytest.raises(CommandError, match="PP-NOBODY"):
        call_command(
            "trigger_prepaid_run",
            "--tenant",
            world.tenant.slug,
            "--as-of",
            "2026-01-11",
            "--account",
            "PP-NOBODY",
            "--sync",
        )


def test_chunk_task_failing_every_attempt_fails_the_run(world, monkeypatch, settings):
    from wallets import tasks

    settings.PREPAID_CHUNK_ATTEMPTS = 2
    wallets = scene(world, 1)
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False)
    (chunk_id,) = prepaid_run_start(run_id=run.pk)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(chunks.rating, "debit_plan", broken)
    # the failed attempt queues the next one itself (the test queue runs it at once)
    with pytest.raises(ZeroDivisionError):
        tasks.prepaid_run_chunk(chunk_id)
    run.refresh_from_db()
    assert PrepaidRunChunk.objects.get(pk=chunk_id).attempts == 2
    assert run.status == PrepaidBillingRun.Status.FAILED
    assert "chunk 0 failed 2 times: ZeroDivisionError" in run.failure
    assert balances(wallets) == [D("50.00")]
