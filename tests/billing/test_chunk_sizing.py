"""Chunks sized from the measured cost (issue 16): a big payer starts with probe chunks, the
first probe to finish plans the rest once, and every member is still decided exactly once.

Twelve members; "big" lowered to more than five; two probes of two; the rest in chunks of three
(the bounds pin the measured size, so the test does not depend on the machine's speed).
"""

from __future__ import annotations

import pytest

from billing.models import BillingRun, Decision, RunChunk
from billing.services.chunks import billing_run_process_chunk, measured_chunk_size
from billing.services.runs import billing_run_execute, billing_run_start, billing_run_trigger
from core import scopes as S
from tests.billing.run_builders import assertion, member, month, payer
from tests.concurrency import race

SEP = month(2026, 9)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def sizing(settings):
    settings.BILLING_CHUNK_MEASURE_FROM = 5
    settings.BILLING_CHUNK_PROBE, settings.BILLING_CHUNK_PROBES = 2, 2
    settings.BILLING_CHUNK_MIN, settings.BILLING_CHUNK_MAX = 3, 3


def _twelve(world):
    owner = world.actor(S.Role.OWNER)
    p = payer(owner, "ACME")
    for n in range(1, 13):
        assertion(p, member(world.tenant, f"M{n:03d}"))
    return billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)


def _sizes(run) -> list[tuple[int, int, bool]]:
    return list(
        RunChunk.objects.filter(run=run).order_by("index").values_list("index", "members", "done")
    )


def test_measured_chunk_size_aims_at_the_target_within_bounds(settings):
    settings.BILLING_CHUNK_SECONDS = 1.0
    settings.BILLING_CHUNK_MIN, settings.BILLING_CHUNK_MAX = 1000, 20000
    assert measured_chunk_size(0.25, 2500) == 10000  # 100 us a member: 10,000 in a second
    assert measured_chunk_size(5.0, 2500) == 1000  # slow: never below the minimum
    assert measured_chunk_size(0.01, 2500) == 20000  # fast: never above the maximum
    assert measured_chunk_size(0.0, 2500) == 20000


@pytest.mark.django_db
def test_a_small_payer_keeps_fixed_chunks(world, settings):
    settings.BILLING_CHUNK_SIZE = 5
    run = _twelve(world)
    billing_run_start(run_id=run.pk)
    assert _sizes(run) == [(0, 5, False), (1, 5, False), (2, 2, False)]


@pytest.mark.django_db
def test_the_first_probe_plans_the_rest_once_and_each_member_is_decided_once(world, sizing):
    # given a big payer's run: only the probes are planned, the total counts every member
    run = _twelve(world)
    probes = billing_run_start(run_id=run.pk)
    assert _sizes(run) == [(0, 2, False), (1, 2, False)]
    run.refresh_from_db()
    assert (run.members_total, run.chunks_total) == (12, 2)

    # when the first probe is processed (twice, as after a lost acknowledgement)
    assert billing_run_process_chunk(chunk_id=probes[0], enqueue=False) == 2
    assert billing_run_process_chunk(chunk_id=probes[0], enqueue=False) == 0

    # then the rest was planned once, in measured chunks
    assert _sizes(run) == [(0, 2, True), (1, 2, False), (2, 3, False), (3, 3, False), (4, 2, False)]
    run.refresh_from_db()
    assert (run.chunks_total, run.chunks_done, run.members_done) == (5, 1, 2)

    # when the second probe finishes, nothing more is planned
    assert billing_run_process_chunk(chunk_id=probes[1], enqueue=False) == 2
    assert RunChunk.objects.filter(run=run).count() == 5

    # and running the run to the end decides every member exactly once
    run = billing_run_execute(run_id=run.pk)
    assert run.status == BillingRun.Status.COMPLETED
    decided = list(Decision.objects.filter(run=run).values_list("member__external_id", flat=True))
    assert sorted(decided) == [f"M{n:03d}" for n in range(1, 13)]
    assert (run.members_done, run.chunks_done, run.chunks_total) == (12, 5, 5)


@pytest.mark.django_db
def test_execute_runs_a_big_payer_from_probes_to_completion(world, sizing):
    run = billing_run_execute(run_id=_twelve(world).pk)
    assert run.status == BillingRun.Status.COMPLETED
    assert [m for _, m, _ in _sizes(run)] == [2, 2, 3, 3, 2]
    assert Decision.objects.filter(run=run).count() == 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_probes_finishing_together_plan_the_rest_once(world, sizing):
    # given a big payer's run with its two probe chunks
    run = _twelve(world)
    probes = billing_run_start(run_id=run.pk)

    # when two workers finish one probe each at the same moment
    results = race(2, lambda i: billing_run_process_chunk(chunk_id=probes[i], enqueue=False))

    # then both wrote their members, and the rest was planned exactly once
    assert results == [2, 2], results
    assert [m for _, m, _ in _sizes(run)] == [2, 2, 3, 3, 2]
    run.refresh_from_db()
    assert (run.chunks_total, run.chunks_done, run.members_done) == (5, 2, 4)
