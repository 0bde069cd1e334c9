"""Chunked execution (SPEC 1 and 4): a chunk writes its decisions once, in one transaction; a
run survives a lost worker and resumes; a chunk failing every attempt fails the run cleanly.

Five members in chunks of two: chunk 0 = M001-M002, chunk 1 = M003-M004, chunk 2 = M005.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import billing.tasks
from billing.models import BillingRun, Decision, RunChunk, RunException, RunPayer
from billing.services import chunks
from billing.services.chunks import billing_run_process_chunk
from billing.services.finalize import billing_run_finalize
from billing.services.runs import (
    billing_run_cancel,
    billing_run_resume,
    billing_run_start,
    billing_run_trigger,
)
from core import scopes as S
from core.models import AuditEntry
from tests.billing.run_builders import assertion, member, month, payer, roster_rows, run_month

SEP = month(2026, 9)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Rosters are files: keep them in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def five(world, owner, settings):
    """ACME with five active members, planned in chunks of two."""
    settings.BILLING_CHUNK_SIZE = 2
    p = payer(owner, "ACME")
    members = [member(world.tenant, f"M00{n}") for n in range(1, 6)]
    for m in members:
        assertion(p, m)
    return p, members


def _started(owner) -> tuple[BillingRun, list[int]]:
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    return run, billing_run_start(run_id=run.pk)


def _chunks(run) -> list[tuple[int, int, bool]]:
    return list(
        RunChunk.objects.filter(run=run).order_by("index").values_list("index", "members", "done")
    )


def _decided(run) -> list[str]:
    return sorted(Decision.objects.filter(run=run).values_list("member__external_id", flat=True))


def _failing_insert(monkeypatch, *, on_call: int | None):
    """Make the RunException insert of a chunk raise (on its nth call, or always)."""
    real = chunks.insert_rows
    calls = {"n": 0}

    def insert(model, fields, rows):
        if model is RunException:
            calls["n"] += 1
            if on_call is None or calls["n"] == on_call:
                raise RuntimeError("worker lost")
        return real(model, fields, rows)

    monkeypatch.setattr(chunks, "insert_rows", insert)


def test_resume_after_a_chunk_crashed_mid_way(owner, five, monkeypatch):
    # given a run planned in three chunks, whose second chunk dies after writing its decisions
    run, chunk_ids = _started(owner)
    assert _chunks(run) == [(0, 2, False), (1, 2, False), (2, 1, False)]
    _failing_insert(monkeypatch, on_call=2)

    # when the chunks are processed in order
    crashed = []
    for chunk_id in chunk_ids:
        try:
            billing_run_process_chunk(chunk_id=chunk_id)
        except RuntimeError:
            crashed.append(chunk_id)

    # then chunk 1 left nothing behind (its transaction rolled back); the others are done
    assert crashed == [chunk_ids[1]]
    run.refresh_from_db()
    assert run.status == BillingRun.Status.RUNNING
    assert _chunks(run) == [(0, 2, True), (1, 2, False), (2, 1, True)]
    assert _decided(run) == ["M001", "M002", "M005"]
    assert (run.members_done, run.members_total, run.chunks_done) == (3, 5, 2)
    assert run.decisions_count == 3
    # and finalizing now changes nothing: a chunk is still pending
    assert billing_run_finalize(run_id=run.pk).status == BillingRun.Status.RUNNING

    # when the run is resumed (the queue runs tasks inline in tests)
    monkeypatch.undo()
    assert billing_run_resume(run_id=run.pk) == 1

    # then it completes with exactly one decision per member
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert _decided(run) == ["M001", "M002", "M003", "M004", "M005"]
    assert (run.members_done, run.chunks_done, run.decisions_count) == (5, 3, 5)
    assert run.summary["total_charge"] == "1550.00"
    assert roster_rows(run)[-3:] == [
        ["# rows", "5"],
        ["# total_amount", "1550.00"],
        ["# unresolved_exceptions", "0"],
    ]

    # and processing a done chunk again writes nothing
    assert billing_run_process_chunk(chunk_id=chunk_ids[0]) == 0
    assert Decision.objects.filter(run=run).count() == 5
    run.refresh_from_db()
    assert (run.members_done, run.decisions_count) == (5, 5)


def test_resume_finalizes_a_run_whose_chunks_are_all_done(owner, five):
    # given a run whose worker died after the last chunk, before completing it
    run, chunk_ids = _started(owner)
    for chunk_id in chunk_ids:
        billing_run_process_chunk(chunk_id=chunk_id)
    run.refresh_from_db()
    assert run.status == BillingRun.Status.RUNNING

    # when it is resumed, then nothing is queued and the run completes
    assert billing_run_resume(run_id=run.pk) == 0
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert run.final_hash
    assert Decision.objects.filter(run=run).count() == 5


def test_start_again_returns_pending_chunks_without_replanning(owner, five):
    # given a started run with its first chunk done
    run, chunk_ids = _started(owner)
    billing_run_process_chunk(chunk_id=chunk_ids[0])

    # when the start task is delivered again
    again = billing_run_start(run_id=run.pk)

    # then it hands back the pending chunks only and plans nothing new
    assert sorted(again) == sorted(chunk_ids[1:])
    assert RunChunk.objects.filter(run=run).count() == 3
    assert AuditEntry.objects.filter(action="RUN_STARTED", object_id=str(run.pk)).count() == 1


def test_chunk_failing_every_attempt_fails_the_run(owner, five, monkeypatch, settings):
    # given a started run whose chunk 1 fails whenever it is processed
    run, chunk_ids = _started(owner)
    billing.tasks.run_chunk(chunk_ids[0])
    _failing_insert(monkeypatch, on_call=None)

    # when the task runs it as many times as allowed
    for attempt in range(1, settings.BILLING_CHUNK_ATTEMPTS + 1):
        with pytest.raises(RuntimeError):
            billing.tasks.run_chunk(chunk_ids[1])
        run.refresh_from_db()
        assert RunChunk.objects.get(pk=chunk_ids[1]).attempts == attempt
        if attempt < settings.BILLING_CHUNK_ATTEMPTS:
            assert run.status == BillingRun.Status.RUNNING

    # then the run failed, naming the chunk, and holds the month no longer
    assert run.status == BillingRun.Status.FAILED
    assert run.failure == "chunk 1 failed 3 times: RuntimeError"
    assert run.finished_at is not None
    assert not RunPayer.objects.filter(run=run, active=True).exists()
    assert AuditEntry.objects.filter(action="RUN_FAILED", object_id=str(run.pk)).exists()
    # and a chunk of a failed run writes nothing
    monkeypatch.undo()
    assert billing_run_process_chunk(chunk_id=chunk_ids[2]) == 0
    assert Decision.objects.filter(run=run).count() == 2
    # and the month can be triggered again (a failed run is never authoritative)
    again = run_month(owner, SEP, ["ACME"])
    assert again.status == BillingRun.Status.COMPLETED
    assert again.decisions.count() == 5


def test_cancel_while_running_stops_the_remaining_chunks(owner, five):
    # given a running run with one chunk done
    run, chunk_ids = _started(owner)
    billing_run_process_chunk(chunk_id=chunk_ids[0])

    # when it is cancelled and its remaining chunks are delivered anyway
    billing_run_cancel(actor=owner, run_id=run.pk, reason="wrong payer")
    written = [billing_run_process_chunk(chunk_id=c) for c in chunk_ids[1:]]
    billing_run_finalize(run_id=run.pk)

    # then they write nothing and the run stays CANCELLED, without closure
    assert written == [0, 0]
    run.refresh_from_db()
    assert run.status == BillingRun.Status.CANCELLED
    assert Decision.objects.filter(run=run).count() == 2
    assert run.final_hash == ""
    assert not RunPayer.objects.filter(run=run, active=True).exists()


def test_async_trigger_runs_through_the_queue(
    world, owner, five, django_capture_on_commit_callbacks
):
    # when a run is triggered with the queue, and the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=True)

    # then the start task ran, queued its three chunks, and the last one completed the run
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert _chunks(run) == [(0, 2, True), (1, 2, True), (2, 1, True)]
    assert _decided(run) == ["M001", "M002", "M003", "M004", "M005"]
    assert run.summary["total_charge"] == "1550.00"
    assert run.percent == 100
    assert Decimal(roster_rows(run)[-2][1]) == Decimal("1550.00")
    assert AuditEntry.objects.filter(action="RUN_CLOSED", object_id=str(run.pk)).count() == 1
    # and the completion queued the audit package, which the queue built
    assert run.package.status == "READY"


def test_trigger_without_commit_queues_nothing(
    world, owner, five, django_capture_on_commit_callbacks
):
    # when a run is triggered with the queue but the transaction has not committed
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=True)

    # then the task waits for the commit and the run is still queued
    assert len(callbacks) == 1
    run.refresh_from_db()
    assert run.status == BillingRun.Status.QUEUED
    assert not RunChunk.objects.filter(run=run).exists()
