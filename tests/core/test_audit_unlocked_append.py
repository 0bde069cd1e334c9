"""A PHI read outside a transaction is appended to the audit chain by compare-and-set (issue 16,
cheaper reads): the same chain as the locked append, also while other appends race with it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.actors import Actor
from core.audit import audit_record, verify_chain
from core.models import AuditChainHead, AuditEntry
from core.phi_reads import PHI_VIEW, record_phi_access
from tests.concurrency import race
from tests.fixtures import make_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_read_outside_a_transaction_appends_the_next_entry_without_a_lock():
    # given a tenant whose chain has its first entry
    tenant = make_tenant("cas-one")
    before = AuditChainHead.objects.get(tenant=tenant)
    actor = Actor.system_for(tenant)

    # when a PHI read is recorded in autocommit, as a web request records it
    with CaptureQueriesContext(connection) as queries:
        entry = record_phi_access(actor, PHI_VIEW, object_type="billing.BillingRun", object_id=7)

    # then it is the next entry of the chain, stored as returned, and the chain verifies
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.seq, stored.prev_hash, stored.hash) == (before.seq + 1, before.hash, entry.hash)
    assert (stored.action, stored.object_type, stored.object_id) == (
        PHI_VIEW,
        "billing.BillingRun",
        "7",
    )
    assert stored.at == entry.at and stored.payload == {} and stored.actor_label == "system"
    head = AuditChainHead.objects.get(tenant=tenant)
    assert (head.seq, head.hash) == (stored.seq, stored.hash)
    assert verify_chain(tenant).ok
    # and no row lock was taken nor transaction opened for it
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "FOR UPDATE" not in sql and "BEGIN" not in sql


def test_reads_racing_with_locked_appends_keep_one_unbroken_chain():
    # given a tenant's chain
    tenant = make_tenant("cas-race")
    start = AuditChainHead.objects.get(tenant=tenant).seq
    per_thread, threads = 6, 6

    def work(i: int) -> int:
        actor = Actor.system_for(tenant)
        for n in range(per_thread):
            if i % 2:  # a service's write: in a transaction, under the head's lock
                with transaction.atomic():
                    audit_record(tenant=tenant, actor=actor, action="TEST_WRITE", payload={"n": n})
            else:  # a request's read: autocommit, compare-and-set
                actor = Actor.system_for(tenant)  # a new request, a new actor
                record_phi_access(actor, PHI_VIEW, object_type="t", object_id=f"{i}-{n}")
        return per_thread

    # when reads and writes are appended from several threads at once
    results = race(threads, work)

    # then every append succeeded and the chain holds each of them once, in one unbroken line
    assert results == [per_thread] * threads
    seqs = list(
        AuditEntry.objects.filter(tenant=tenant).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, start + per_thread * threads + 1))
    assert AuditEntry.objects.filter(tenant=tenant, action=PHI_VIEW).count() == 3 * per_thread
    report = verify_chain(tenant)
    assert report.ok, report.problem
