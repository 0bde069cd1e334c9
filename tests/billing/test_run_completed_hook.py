"""The run-completion hook: other apps register callbacks that run once a production run
completes, inside the completion's transaction (billing imports none of them).
"""

from __future__ import annotations

import pytest

from billing import hooks
from billing.models import BillingRun, Decision
from billing.services import finalize
from billing.services.chunks import billing_run_process_chunk
from billing.services.finalize import billing_run_completed_replay, billing_run_finalize
from billing.services.runs import billing_run_start, billing_run_trigger
from core import scopes as S
from core.exceptions import Conflict
from tests.billing.run_builders import assertion, member, month, payer

SEP = month(2026, 9)
NAME = "tests.dummy_completed"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def seen():
    """A dummy app: records (run, status, decisions it could read) for each call."""
    calls: list[tuple[int, str, int]] = []

    def on_completed(run: BillingRun) -> None:
        calls.append((run.pk, run.status, Decision.objects.filter(run=run).count()))

    hooks.register_run_completed(on_completed, name=NAME)
    yield calls
    hooks.unregister_run_completed(NAME)


@pytest.fixture
def acme(world, owner):
    p = payer(owner, "ACME")
    for n in range(1, 4):
        assertion(p, member(world.tenant, f"M00{n}"))
    return p


def _ran(owner, mode=BillingRun.Mode.PRODUCTION) -> BillingRun:
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], mode=mode, enqueue=False)
    for chunk_id in billing_run_start(run_id=run.pk):
        billing_run_process_chunk(chunk_id=chunk_id)
    return run


def test_completed_production_run_calls_the_callback_once(owner, acme, seen):
    # given a production run whose chunks are done
    run = _ran(owner)

    # when it is finalised, and the finalisation is delivered again
    billing_run_finalize(run_id=run.pk, inline=True)
    billing_run_finalize(run_id=run.pk, inline=True)

    # then the callback saw the completed run with its decisions, once
    assert seen == [(run.pk, BillingRun.Status.COMPLETED, 3)]


def test_simulation_run_calls_no_callback(owner, acme, seen):
    run = _ran(owner, mode=BillingRun.Mode.SIMULATION)
    billing_run_finalize(run_id=run.pk, inline=True)
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert seen == []


def test_completion_dying_after_the_callback_is_retried_whole(owner, acme, seen, monkeypatch):
    # given a completion that dies after the callbacks ran, before its commit
    run = _ran(owner)

    def lost(**kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(
        finalize, "run_completed_notify", _then(finalize.run_completed_notify, lost)
    )
    with pytest.raises(RuntimeError):
        billing_run_finalize(run_id=run.pk, inline=True)

    # then the run is still RUNNING (nothing committed) although the callback was called
    run.refresh_from_db()
    assert run.status == BillingRun.Status.RUNNING
    assert len(seen) == 1

    # when the completion is retried
    monkeypatch.undo()
    billing_run_finalize(run_id=run.pk, inline=True)

    # then the run completes and the callback is called again
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert [s[0] for s in seen] == [run.pk, run.pk]


def test_failing_callback_leaves_the_run_running(owner, acme):
    # given an app whose callback fails
    def broken(run):
        raise ValueError("broken app")

    hooks.register_run_completed(broken, name="tests.broken")
    try:
        run = _ran(owner)
        with pytest.raises(ValueError):
            billing_run_finalize(run_id=run.pk, inline=True)
    finally:
        hooks.unregister_run_completed("tests.broken")

    # then the completion did not commit: the resume completes it later
    run.refresh_from_db()
    assert run.status == BillingRun.Status.RUNNING
    assert run.final_hash == ""
    billing_run_finalize(run_id=run.pk, inline=True)
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED


def test_replay_calls_the_callbacks_for_a_complete_run_only(owner, acme, seen):
    run = _ran(owner)
    with pytest.raises(Conflict, match="only a complete production run"):
        billing_run_completed_replay(run_id=run.pk)
    assert seen == []

    billing_run_finalize(run_id=run.pk, inline=True)
    billing_run_completed_replay(run_id=run.pk)
    assert [s[0] for s in seen] == [run.pk, run.pk]


def test_register_twice_under_one_name_keeps_one_callback(seen):
    before = len(hooks.run_completed_callbacks())
    hooks.register_run_completed(lambda run: None, name=NAME)
    assert len(hooks.run_completed_callbacks()) == before


def _then(first, second):
    def both(run):
        first(run)
        second()

    return both
