"""A billing run survives workers SIGKILLed at random points (issue 17, SPEC 11): a fresh
cluster finishes it, every member ends with exactly one decision, the counters tie out and
the tenant's audit chain verifies."""

from __future__ import annotations

import random

import pytest

from billing.models import BillingRun, Decision, RunChunk
from billing.services.runs import billing_run_trigger
from core import scopes as S
from core.audit import verify_chain
from tests.billing.run_builders import month, payer
from tests.crash.builders import eligible_members
from tests.crash.conftest import kill_and_restart

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

MEMBERS = 2000  # 8 chunks of 250
SEP = month(2026, 9)
DONE = {BillingRun.Status.COMPLETED, BillingRun.Status.COMPLETED_WITH_EXCEPTIONS}


def _run(pk: int) -> BillingRun:
    return BillingRun.objects.get(pk=pk)


@pytest.mark.parametrize("seed", [1, 2])
def test_billing_run_survives_a_killed_cluster(world, clusters, seed):
    rng = random.Random(seed)
    owner = world.actor(S.Role.OWNER)
    member_ids = eligible_members(payer(owner, "ACME"), MEMBERS)

    # given a production run queued for a running cluster
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"])
    first = clusters()

    # when the cluster is SIGKILLed after a seeded number of chunks (plus a seeded moment)
    # and a fresh cluster is started
    kill_after = rng.randint(0, 6)
    at_kill, finished = kill_and_restart(
        clusters,
        first,
        rng=rng,
        seed=seed,
        job=lambda: _run(run.pk),
        reached=lambda r: r.chunks_done >= kill_after,
        finished=lambda r: r.status in DONE | {BillingRun.Status.FAILED},
        jitter=0.6,
        what=f"run reaching chunk {kill_after}",
        show=lambda r: f"{r.status} {r.chunks_done}/{r.chunks_total}",
    )
    assert at_kill.status == BillingRun.Status.RUNNING

    # then the run completed: every member has exactly one decision, none twice
    assert finished.status == BillingRun.Status.COMPLETED, finished.failure
    decided = list(
        Decision.objects.filter(run=run, month=SEP)
        .order_by("member_id")
        .values_list("member_id", flat=True)
    )
    assert decided == member_ids
    assert Decision.objects.filter(run=run).count() == MEMBERS
    # and the counters tie out with the chunks and the decisions
    chunks = RunChunk.objects.filter(run=run)
    assert chunks.filter(done=False).count() == 0
    assert (finished.members_done, finished.members_total) == (MEMBERS, MEMBERS)
    assert finished.chunks_done == finished.chunks_total == chunks.count()
    assert finished.decisions_count == MEMBERS
    assert sum(chunks.values_list("members", flat=True)) == MEMBERS
    # and the audit chain verifies and closes the run once
    report = verify_chain(world.tenant)
    assert report.ok, report.problem
    assert finished.final_hash
    from core.models import AuditEntry

    closings = AuditEntry.objects.filter(action="RUN_CLOSED", object_id=str(run.pk))
    assert closings.count() == 1
