"""Each processed chunk records which worker (node/pid) did it (scale-out, issue 17)."""

from __future__ import annotations

import os
from datetime import date

import pytest

from billing.models import BillingRun, RunChunk
from billing.services.runs import billing_run_trigger
from core import scopes as S
from tests.billing.run_builders import assertion, member, month, payer
from tests.wallets import builders as b
from wallets.models import PrepaidBillingRun, PrepaidRunChunk
from wallets.services.runs import prepaid_run_trigger

SEP = month(2026, 9)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Rosters and packages are files: keep them in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path


def test_billing_chunks_record_the_worker_that_did_them(
    world, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given ACME with five members planned in chunks of two, and a worker on node "node-a"
    settings.BILLING_CHUNK_SIZE = 2
    monkeypatch.setenv("HEALTHBILL_NODE", "node-a")
    owner = world.actor(S.Role.OWNER)
    p = payer(owner, "ACME")
    for n in range(1, 6):
        assertion(p, member(world.tenant, f"M00{n}"))

    # when a run goes through the queue (Q_SYNC: the tasks run here)
    with django_capture_on_commit_callbacks(execute=True):
        run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=True)

    # then every chunk is done and names the node and the process that wrote it
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    workers = list(RunChunk.objects.filter(run=run).values_list("done", "worker"))
    assert workers == [(True, f"node-a/{os.getpid()}")] * 3


def test_billing_chunk_without_node_name_records_the_host(world, settings, monkeypatch):
    # given no HEALTHBILL_NODE: the host name stands in
    import socket

    from billing.services.runs import billing_run_execute

    monkeypatch.delenv("HEALTHBILL_NODE", raising=False)
    owner = world.actor(S.Role.OWNER)
    p = payer(owner, "ACME")
    assertion(p, member(world.tenant, "M001"))
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)

    billing_run_execute(run_id=run.pk)

    assert list(RunChunk.objects.filter(run=run).values_list("worker", flat=True)) == [
        f"{socket.gethostname()}/{os.getpid()}"
    ]


def test_prepaid_chunks_record_the_worker_that_did_them(
    world, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given two accounts with a due post-rated service each, one account per chunk
    settings.PREPAID_CHUNK_ACCOUNTS = 1
    monkeypatch.setenv("HEALTHBILL_NODE", "node-b")
    for _ in range(2):
        w = b.wallet(world.tenant, balance="100.00")
        b.service(world.tenant, w.account, rating="POST")

    # when a prepaid run goes through the queue
    with django_capture_on_commit_callbacks(execute=True):
        run = prepaid_run_trigger(actor=world.actor(), as_of=date(2026, 1, 11), enqueue=True)

    # then both chunks are done by node-b and the run completed
    run.refresh_from_db()
    assert run.status == PrepaidBillingRun.Status.COMPLETED
    workers = list(PrepaidRunChunk.objects.filter(run=run).values_list("done", "worker"))
    assert workers == [(True, f"node-b/{os.getpid()}")] * 2


def test_chunk_not_yet_done_has_no_worker(world, settings):
    # a planned chunk nobody has processed yet names no worker
    from billing.services.runs import billing_run_start

    owner = world.actor(S.Role.OWNER)
    p = payer(owner, "ACME")
    assertion(p, member(world.tenant, "M001"))
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    billing_run_start(run_id=run.pk)

    assert list(RunChunk.objects.filter(run=run).values_list("done", "worker")) == [(False, "")]


def _two_node_run(world, settings):
    """A completed run over two payers (two members each, chunks of one member), its chunks
    then labelled as if two nodes had shared them: node-a three, node-b one."""
    from tests.billing import api_builders as ab

    settings.BILLING_CHUNK_SIZE = 1
    p1 = ab.payer_with_rules(world.tenant, "WORK1")
    p2 = ab.payer_with_rules(world.tenant, "WORK2")
    for p in (p1, p2, p1, p2):
        ab.member(world.tenant, p)
    run = ab.completed_run(world.tenant, [p1, p2])
    chunks = list(RunChunk.objects.filter(run=run).order_by("payer__code", "pk"))
    assert [c.payer.code for c in chunks] == ["WORK1", "WORK1", "WORK2", "WORK2"]
    for chunk, node in zip(
        chunks, ["node-a/11", "node-a/11", "node-a/11", "node-b/22"], strict=True
    ):
        RunChunk.objects.filter(pk=chunk.pk).update(worker=node)
    return run, p1


def test_run_page_and_api_show_which_worker_did_how_much(world, settings):
    run, _ = _two_node_run(world, settings)
    owner = world.client(S.Role.OWNER)

    # the API's run detail lists the workers, busiest first, with chunks and members
    body = owner.get(f"/api/billing/runs/{run.pk}").json()
    assert body["workers"] == [
        {"worker": "node-a/11", "chunks": 3, "members": 3},
        {"worker": "node-b/22", "chunks": 1, "members": 1},
    ]
    # and the run page's summary shows the same in its Workers card
    page = owner.get(f"/billing/runs/{run.pk}/").content.decode()
    card = page[page.index('id="run-workers"') :]
    card = card[: card.index("</section>")]
    assert '<code>node-a/11</code></td><td class="num">3</td>' in card
    assert '<code>node-b/22</code></td><td class="num">1</td>' in card
    # the run list does not carry them (one query per run would slow the list)
    listed = owner.get("/api/billing/runs").json()["results"]
    assert "workers" not in listed[0]


def test_workers_count_only_the_payers_a_narrowed_member_may_see(world, settings):
    from core.models import TenantMembership
    from core.services import object_access_grant

    run, p1 = _two_node_run(world, settings)
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=p1)

    body = world.client(S.Role.OPERATIONS).get(f"/api/billing/runs/{run.pk}").json()

    # only WORK1's two chunks, both done on node-a
    assert body["workers"] == [{"worker": "node-a/11", "chunks": 2, "members": 2}]
