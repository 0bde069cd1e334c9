"""Races between sessions (PostgreSQL): one active production run per month and payer, and a
chunk delivered to two workers at once writes its decisions once."""

from __future__ import annotations

import pytest

from billing.models import BillingRun, Decision, RunChunk, RunPayer
from billing.services.chunks import billing_run_process_chunk
from billing.services.runs import billing_run_start, billing_run_trigger
from core import scopes as S
from core.audit import verify_chain
from core.exceptions import Conflict
from tests.billing.run_builders import assertion, member, month, payer
from tests.concurrency import race

SEP = month(2026, 9)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Rosters are files: keep them in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_triggers_one_run_wins(world):
    # given ACME with a member, and two managers about to trigger September at the same moment
    owner = world.actor(S.Role.OWNER)
    p = payer(owner, "ACME")
    assertion(p, member(world.tenant, "M001"))
    roles = [S.Role.OWNER, S.Role.BILLING_MANAGER]

    # when both trigger a production run at once
    results = race(
        2,
        lambda i: billing_run_trigger(
            actor=world.actor(roles[i]), month=SEP, payers=["ACME"], enqueue=False
        ),
    )

    # then exactly one run was created and the other trigger was refused with a Conflict
    runs = [r for r in results if isinstance(r, BillingRun)]
    refusals = [r for r in results if isinstance(r, Conflict)]
    assert len(runs) == 1, results
    assert len(refusals) == 1, results
    assert "already queued or running" in refusals[0].message
    assert list(BillingRun.objects.values_list("pk", flat=True)) == [runs[0].pk]
    assert list(RunPayer.objects.filter(active=True).values_list("run_id", flat=True)) == [
        runs[0].pk
    ]
    assert verify_chain(world.tenant).ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_on_one_chunk_write_once(world):
    # given a started run with one chunk of three members
    owner = world.actor(S.Role.OWNER)
    p = payer(owner, "ACME")
    for n in range(1, 4):
        assertion(p, member(world.tenant, f"M00{n}"))
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    (chunk_id,) = billing_run_start(run_id=run.pk)

    # when two workers process the chunk at the same moment
    results = race(2, lambda i: billing_run_process_chunk(chunk_id=chunk_id))

    # then one wrote the three decisions and the other found the chunk done
    assert sorted(results) == [0, 3], results
    assert Decision.objects.filter(run=run).count() == 3
    run.refresh_from_db()
    assert (run.members_done, run.chunks_done, run.decisions_count) == (3, 1, 3)
    assert RunChunk.objects.get(pk=chunk_id).done
