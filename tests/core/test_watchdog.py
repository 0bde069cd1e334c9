"""The job watchdog (issue 17): a run a dead worker left RUNNING is queued again and completes;
one that keeps dying is FAILED with the reason; healthy or merely waiting runs are left alone;
the dashboard's worker card shows what it did.

Five members in chunks of two (three chunks). Tasks run inline (Q_SYNC); a worker that dies
holding a task is simulated by a queue that drops the task.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.signing import SignedPackage

from billing.models import BillingRun, Decision, RunPayer
from billing.services.chunks import billing_run_process_chunk
from billing.services.runs import billing_run_start, billing_run_trigger
from config.schedules import ensure_schedules
from core import queue
from core import scopes as S
from core.models import AuditEntry, WatchdogPass
from core.tasks import watchdog as watchdog_task
from core.watchdog import watchdog_pass
from tests.billing.run_builders import assertion, member, month, payer

SEP = month(2026, 9)
STALE = 900


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # rosters are files
    settings.WATCHDOG_STALE_SECONDS = STALE
    settings.WATCHDOG_MAX_REQUEUES = 2
    settings.BILLING_CHUNK_SIZE = 2


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def acme(world, owner):
    p = payer(owner, "ACME")
    for n in range(1, 6):
        assertion(p, member(world.tenant, f"M00{n}"))
    return p


def _later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def _half_done_run(owner) -> BillingRun:
    """A RUNNING run with its first chunk done and the worker holding the rest gone."""
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    chunk_ids = billing_run_start(run_id=run.pk)
    billing_run_process_chunk(chunk_id=chunk_ids[0])
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.chunks_total) == (BillingRun.Status.RUNNING, 1, 3)
    return run


@pytest.fixture
def dead_workers(monkeypatch):
    """Every task queued is lost (its worker dies before doing anything)."""
    lost = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: lost.append((func, args)))
    return lost


def test_watchdog_requeues_a_run_left_running_and_it_completes(
    owner, acme, django_capture_on_commit_callbacks
):
    # given a run whose worker died after one chunk of three
    run = _half_done_run(owner)

    # when the watchdog passes before the bound, then it leaves the run alone
    assert watchdog_pass(now=_later(STALE - 60)).requeued == 0
    run.refresh_from_db()
    assert run.status == BillingRun.Status.RUNNING

    # when it passes after the bound (tasks run inline here; the completed run's audit package,
    # queued once the pass commits, too)
    with django_capture_on_commit_callbacks(execute=True):
        done = watchdog_pass(now=_later(STALE + 1))

    # then the two unfinished chunks were queued again and the run completed, once per member
    assert (done.requeued, done.failed) == (1, 0)
    assert done.actions == [
        {
            "tenant": run.tenant_id,
            "job": "billing run",
            "id": run.pk,
            "action": "requeued",
            "tasks": 2,
            "attempt": 1,
        }
    ]
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert (run.members_done, run.chunks_done, run.decisions_count) == (5, 3, 5)
    assert Decision.objects.filter(run=run).count() == 5
    assert run.final_hash

    # and a later pass finds nothing to do
    assert watchdog_pass(now=_later(3 * STALE)).actions == []


def test_watchdog_requeues_a_queued_run_whose_start_was_lost(owner, acme):
    # given a run queued, its start task lost
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)

    # when the watchdog passes after the bound
    done = watchdog_pass(now=_later(STALE + 1))

    # then it started again and completed
    assert done.requeued == 1
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert Decision.objects.filter(run=run).count() == 5


def test_watchdog_fails_a_run_that_keeps_dying_with_the_reason(owner, acme, dead_workers):
    # given a run whose worker died, and every worker dying with what it is given
    run = _half_done_run(owner)

    # when the watchdog passes: after the bound, soon after, after the bound again, and again
    first = watchdog_pass(now=_later(STALE + 1))
    soon = watchdog_pass(now=_later(STALE + 61))
    second = watchdog_pass(now=_later(2 * STALE + 2))
    run.refresh_from_db()
    assert run.status == BillingRun.Status.RUNNING
    last = watchdog_pass(now=_later(3 * STALE + 3))

    # then it re-queued twice (the same two chunks each time), waited in between, then failed it
    assert [(p.requeued, p.failed) for p in (first, soon, second, last)] == [
        (1, 0),
        (0, 0),
        (1, 0),
        (0, 1),
    ]
    chunk_tasks = sorted(args for func, args in dead_workers if func == "billing.tasks.run_chunk")
    assert len(chunk_tasks) == 4 and chunk_tasks[0] == chunk_tasks[1]
    run.refresh_from_db()
    assert run.status == BillingRun.Status.FAILED
    reason = "no progress for 900 s after 2 re-queue(s) by the watchdog"
    assert run.failure.startswith(reason)
    assert last.actions[0]["action"] == "failed" and last.actions[0]["reason"].startswith(reason)
    # and the failure is audited with its reason, and frees the payer for a new run
    entry = AuditEntry.objects.filter(action="RUN_FAILED", object_id=str(run.pk)).get()
    assert entry.reason.startswith(reason)
    assert not RunPayer.objects.filter(run=run, active=True).exists()
    assert billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False).pk
    # and the chunk written before the crash is still the only one
    assert Decision.objects.filter(run=run).count() == 2


def test_watchdog_counts_afresh_after_progress(owner, acme, dead_workers):
    # given a stuck run re-queued twice (both lost)
    run = _half_done_run(owner)
    watchdog_pass(now=_later(STALE + 1))
    watchdog_pass(now=_later(2 * STALE + 2))

    # when a worker then finishes a chunk (progress) and the run stalls again
    pending = run.chunks.filter(done=False).order_by("index").first()
    billing_run_process_chunk(chunk_id=pending.pk)
    run.chunks.filter(pk=pending.pk).update(done_at=_later(2 * STALE + 3))  # after the re-queue
    after = watchdog_pass(now=_later(3 * STALE + 4))

    # then it is re-queued (try 1 again), not failed
    assert (after.requeued, after.failed) == (1, 0)
    assert after.actions[0]["attempt"] == 1
    run.refresh_from_db()
    assert run.status == BillingRun.Status.RUNNING


def test_watchdog_leaves_healthy_and_waiting_runs_alone(owner, acme, world):
    # given a run making progress (a chunk done just now)
    healthy = _half_done_run(owner)
    # and a stale run of another payer whose chunk task waits in the broker for a free worker
    p2 = payer(owner, "BETA")
    assertion(p2, member(world.tenant, "B001"))
    waiting = billing_run_trigger(actor=owner, month=SEP, payers=["BETA"], enqueue=False)
    [chunk_id] = billing_run_start(run_id=waiting.pk)
    OrmQ.objects.create(
        key="healthbill",
        payload=SignedPackage.dumps(
            {"id": "x", "func": "billing.tasks.run_chunk", "args": (chunk_id,), "kwargs": {}}
        ),
        lock=timezone.now(),
    )

    # when the watchdog passes before the healthy run's bound but after the waiting run's
    done = watchdog_pass(now=_later(STALE - 5))
    done_later = watchdog_pass(now=_later(STALE + 60))

    # then the waiting run is never touched; the healthy one only once it is stale itself
    assert done.actions == []
    assert [a["id"] for a in done_later.actions] == [healthy.pk]
    for run in (healthy, waiting):
        run.refresh_from_db()
    assert waiting.status == BillingRun.Status.RUNNING
    assert waiting.chunks_done == 0


def test_watchdog_is_scheduled_every_minute_and_runs_as_a_task(owner, acme):
    # when the schedules are set up, then the watchdog runs every minute
    ensure_schedules(enabled=True)
    schedule = Schedule.objects.get(name="core.watchdog")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "core.tasks.watchdog",
        Schedule.MINUTES,
        1,
    )
    # and the task records a pass
    assert watchdog_task() == "requeued=0 failed=0"
    assert WatchdogPass.objects.exclude(finished_at=None).count() == 1


def test_dashboard_shows_the_watchdog_and_what_it_did(owner, acme, world, dead_workers):
    # given a run the watchdog re-queued, then failed
    run = _half_done_run(owner)
    watchdog_pass(now=_later(STALE + 1))
    html = world.client(S.Role.VIEWER).get("/").content.decode()
    card = html.split('id="watchdog"', 1)[1].split("</div>", 1)[0]
    assert "Last pass" in card
    assert f"billing run #{run.pk}" in card and "re-queued" in card and "try 1 of 2" in card

    watchdog_pass(now=_later(2 * STALE + 2))
    watchdog_pass(now=_later(3 * STALE + 3))
    response = world.client(S.Role.VIEWER).get("/")
    assert response.status_code == 200
    card = response.content.decode().split('id="watchdog"', 1)[1].split("</div>", 1)[0]
    assert "failed</span> no progress for 900 s after 2 re-queue(s)" in card

    # and another tenant's people see the pass, not the run
    card = world.client("outsider").get("/").content.decode().split('id="watchdog"', 1)[1]
    card = card.split("</div>", 1)[0]
    assert "Last pass" in card and f"billing run #{run.pk}" not in card
    assert "No stuck job lately." in card


def test_dashboard_says_when_the_watchdog_never_ran(world):
    html = world.client(S.Role.VIEWER).get("/").content.decode()
    card = html.split('id="watchdog"', 1)[1].split("</div>", 1)[0]
    assert "has not run yet" in card and "No stuck job lately." in card


# --- prepaid runs (wallets registers them too) ----------------------------------------------


def _prepaid_scene(world):
    from decimal import Decimal

    from tests.wallets.test_runs_lifecycle import AS_OF, scene
    from wallets.models import Wallet
    from wallets.services.runs import prepaid_run_start, prepaid_run_trigger

    wallets = scene(world)
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False)
    (chunk_id,) = prepaid_run_start(run_id=run.pk)  # started; its chunk task lost

    def balances():
        return [Wallet.objects.get(pk=w.pk).balance for w in wallets]

    assert balances() == [Decimal("50.00")] * 4
    return run, balances


def test_watchdog_requeues_a_stuck_prepaid_run_and_it_debits_once(world):
    from decimal import Decimal

    from wallets.models import PrepaidBillingRun, WalletTransaction

    # given a prepaid run started, its chunk lost with the worker
    run, balances = _prepaid_scene(world)

    # when the watchdog passes after the bound
    done = watchdog_pass(now=_later(STALE + 1))

    # then the chunk ran once: every wallet paid 13.00 once, the ledger matches the balances
    assert [(a["job"], a["action"], a["tasks"]) for a in done.actions] == [
        ("prepaid run", "requeued", 1)
    ]
    run = PrepaidBillingRun.objects.get(pk=run.pk)
    assert run.status == PrepaidBillingRun.Status.COMPLETED
    assert balances() == [Decimal("37.00")] * 4
    assert WalletTransaction.objects.filter(run=run).count() == 8


def test_watchdog_fails_a_prepaid_run_that_keeps_dying(world, dead_workers):
    from decimal import Decimal

    from wallets.models import PrepaidBillingRun

    # given a prepaid run whose tasks are lost every time
    run, balances = _prepaid_scene(world)

    # when the watchdog passes three times, a bound apart
    for k in (1, 2, 3):
        watchdog_pass(now=_later(k * STALE + k))

    # then it failed with the watchdog's reason and debited nothing
    run = PrepaidBillingRun.objects.get(pk=run.pk)
    assert run.status == PrepaidBillingRun.Status.FAILED
    assert run.failure.startswith("no progress for 900 s after 2 re-queue(s) by the watchdog")
    assert AuditEntry.objects.filter(action="PrepaidRun.fail", object_id=str(run.pk)).exists()
    assert balances() == [Decimal("50.00")] * 4
