"""Billing's events (issue 19): a run completed, failed, superseded; written with the change."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.db import transaction

from billing.models import BillingRun, Member
from billing.services.chunks import billing_run_chunk_failed
from billing.services.runs import billing_run_regenerate, billing_run_start, billing_run_trigger
from core import scopes as S
from core.models import Event
from tests.billing.run_builders import assertion, execute, late_assertion, member, payer, run_month
from tests.core.event_helpers import events_of, phi_found, recipients, the_event, title_and_link

SEP = date(2026, 9, 1)
PHI = ["Ada", "Lovelace", "1980-03-15", "M001", "M002"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def acme(world, owner):
    """ACME bills MED 0-64 at 310.00; two members covered all September."""
    p = payer(owner, "ACME")
    for ext in ("M001", "M002"):
        assertion(p, member(world.tenant, ext))
    return p


def test_run_completed_event_carries_the_runs_counts_and_total(world, owner, acme):
    run = run_month(owner, SEP, ["ACME"])

    event = the_event(world.tenant, "billing.run.completed")
    assert (event.object_type, event.object_id) == ("billing.BillingRun", str(run.pk))
    assert event.payload == {
        "run": run.pk,
        "month": "2026-09-01",
        "mode": "PRODUCTION",
        "version": 1,
        "status": "COMPLETED",
        "supersedes": None,
        "members": 2,
        "decisions": 2,
        "open_exceptions": 0,
        "billable_members": 2,
        "total_charge": "620.00",
    }
    assert event.audit_seq is not None
    assert phi_found(event.payload, PHI) == []
    assert events_of(world.tenant, "billing.run.failed") == []


def test_run_completed_for_a_simulation_too(world, owner, acme):
    run = run_month(owner, SEP, ["ACME"], mode=BillingRun.Mode.SIMULATION)

    event = the_event(world.tenant, "billing.run.completed")
    assert event.payload["run"] == run.pk
    assert event.payload["mode"] == "SIMULATION"


def test_run_failed_event_notifies_the_triggerer_only(world, owner, acme):
    # given a started run whose chunk fails every allowed attempt
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    chunk_ids = billing_run_start(run_id=run.pk)
    for _ in range(settings.BILLING_CHUNK_ATTEMPTS):
        billing_run_chunk_failed(chunk_id=chunk_ids[0], error="worker lost: member M001 Ada")

    # then one failed event, without the failure text, for the user who triggered the run
    run.refresh_from_db()
    assert run.status == BillingRun.Status.FAILED
    event = the_event(world.tenant, "billing.run.failed")
    assert event.payload == {
        "run": run.pk,
        "month": "2026-09-01",
        "mode": "PRODUCTION",
        "version": 1,
        "status": "FAILED",
        "members": 2,
        "members_done": 0,
        "chunks_total": run.chunks_total,
        "chunks_done": 0,
    }
    assert phi_found(event.payload, PHI) == []
    assert recipients(event) == [world.users[S.Role.OWNER].pk]
    title, link = title_and_link(event)
    assert title == f"Billing run #{run.pk} for 2026-09 failed"
    assert link == f"/billing/runs/{run.pk}/"


def test_run_failed_by_a_schedule_notifies_nobody(world, owner, acme):
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    BillingRun.objects.filter(pk=run.pk).update(triggered_by=None)
    chunk_ids = billing_run_start(run_id=run.pk)
    for _ in range(settings.BILLING_CHUNK_ATTEMPTS):
        billing_run_chunk_failed(chunk_id=chunk_ids[0], error="boom")

    assert recipients(the_event(world.tenant, "billing.run.failed")) == []


def test_run_superseded_event_names_the_newer_run(world, owner, acme):
    first = run_month(owner, SEP, ["ACME"])
    m1 = Member.objects.get(tenant=world.tenant, external_id="M001")
    late_assertion(
        acme, m1, source_kind="AMENDED_FILE", status="TERMINATED", termination=date(2026, 9, 15)
    )
    second = execute(
        billing_run_regenerate(actor=owner, run_id=first.pk, reason="amended", enqueue=False)
    )

    event = the_event(world.tenant, "billing.run.superseded")
    assert (event.object_id, event.payload) == (
        str(first.pk),
        {
            "run": first.pk,
            "month": "2026-09-01",
            "mode": "PRODUCTION",
            "version": 1,
            "status": "SUPERSEDED",
            "superseded_by": second.pk,
        },
    )
    completed = events_of(world.tenant, "billing.run.completed")
    assert [e.payload["run"] for e in completed] == [first.pk, second.pk]
    assert completed[1].payload["supersedes"] == first.pk
    assert completed[1].payload["total_charge"] == "465.00"
    # the superseded event follows the regeneration's completion
    assert event.sequence > completed[1].sequence


def test_run_rolled_back_leaves_no_event(world, owner, acme):
    with pytest.raises(RuntimeError), transaction.atomic():
        run_month(owner, SEP, ["ACME"])
        assert len(events_of(world.tenant, "billing.run.completed")) == 1
        raise RuntimeError("forced rollback")

    assert not Event.objects.filter(tenant=world.tenant).exists()
    assert not BillingRun.objects.filter(tenant=world.tenant).exists()
