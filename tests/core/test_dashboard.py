"""The operational dashboard: work in flight, open exceptions, worker health, the banner."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Task
from django_q.signals import post_spawn
from django_q.tasks import async_task

from billing.models import BillingRun, RunException
from billing.services.runs import billing_run_trigger
from core import health
from core import scopes as S
from core.health import HEARTBEAT_STALE_SECONDS, heartbeat_record, worker_seen
from core.models import WorkerHeartbeat
from core.tasks import heartbeat
from ingestion.models import Batch
from tests.billing.run_builders import month, payer, run_month

BANNER = "No background worker is running."


def _html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def _counter(html: str, panel: str, label: str) -> int:
    """The figure shown beside a counter's label in the named dashboard panel."""
    section = html.split(f">{panel}</a></h2>", 1)[1].split("</section>", 1)[0]
    pattern = r'<span class="count[^"]*">([\d,]+)</span>\s*(?:<a [^>]*>)?' + re.escape(label) + "<"
    found = re.search(pattern, section)
    assert found, label
    return int(found.group(1).replace(",", ""))


def _stale_heartbeat(seconds: int = HEARTBEAT_STALE_SECONDS + 5) -> None:
    WorkerHeartbeat.objects.update_or_create(
        name="worker gone", defaults={"seen_at": timezone.now() - timedelta(seconds=seconds)}
    )


@pytest.fixture
def queued_run(world):
    owner = world.actor(S.Role.OWNER)
    p = payer(owner, "ACME")
    return billing_run_trigger(actor=owner, month=month(2026, 10), payers=[p], enqueue=False)


def test_dashboard_counts_runs_batches_and_open_exceptions(world, queued_run):
    # given a queued run, a completed run with an open exception, a pending and a failed batch
    owner = world.actor(S.Role.OWNER)
    other = payer(owner, "BETA")
    done = run_month(owner, month(2026, 9), [other])
    RunException.objects.create(
        tenant=world.tenant, run=done, payer=other, code="NO_PRICING_TIER", message="x"
    )
    Batch.objects.create(tenant=world.tenant, kind="ELIGIBILITY")
    failed = Batch.objects.create(tenant=world.tenant, kind="ELIGIBILITY")
    Batch.objects.filter(pk=failed.pk).update(status=Batch.Status.FAILED)
    # when the dashboard is opened
    html = _html(world.client(S.Role.OPERATIONS).get("/"))
    # then the billing panel counts one queued run, none running, one open exception
    assert _counter(html, "Billing runs", "queued") == 1
    assert _counter(html, "Billing runs", "running") == 0
    assert _counter(html, "Billing runs", "failed (30 days)") == 0
    assert _counter(html, "Billing runs", "open exceptions") == 1
    assert 'href="/billing/?status=QUEUED"' in html
    # and the ingestion panel counts one pending and one failed batch
    assert _counter(html, "Ingestion batches", "pending") == 1
    assert _counter(html, "Ingestion batches", "failed (30 days)") == 1
    assert "Batches by state" in html and "Runs by state" in html
    assert 'href="/ingestion/?status=FAILED"' in html


def test_dashboard_counts_only_the_members_tenant(world, queued_run):
    # another tenant's owner sees the panel, without tenant alpha's queued run
    html = _html(world.client("outsider").get("/"))
    assert _counter(html, "Billing runs", "queued") == 0


def test_dashboard_worker_card_without_any_heartbeat(world):
    html = _html(world.client(S.Role.VIEWER).get("/"))
    assert 'id="worker-status">not seen</span> no worker has ever reported' in html


def test_dashboard_worker_card_with_a_fresh_heartbeat_and_a_failed_task(world):
    # given a worker that reported just now and a task that failed an hour ago
    heartbeat_record("worker host-1")
    Task.objects.create(
        id="a" * 32,
        name="failed-one",
        func="billing.tasks.run_chunk",
        started=timezone.now() - timedelta(hours=1),
        stopped=timezone.now() - timedelta(hours=1),
        success=False,
        attempt_count=3,
    )
    html = _html(world.client(S.Role.VIEWER).get("/"))
    assert 'id="worker-status">running</span>' in html
    assert "worker host-1" in html
    assert re.search(r'id="tasks-failed"><span class="badge red">1</span>', html)
    assert "<code>billing.tasks.run_chunk</code>" in html


def test_scheduled_heartbeat_task_marks_a_worker_seen(db):
    assert not worker_seen()
    assert heartbeat() == "ok"
    assert worker_seen()
    assert WorkerHeartbeat.objects.get().name == "scheduled heartbeat"


@pytest.mark.django_db(transaction=True)
def test_each_spawned_worker_process_starts_its_heartbeat(monkeypatch):
    # given a real cluster (not the synchronous mode the tests run tasks in)
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(health, "_started", set())
    # when django-q2 announces a spawned worker process
    responses = post_spawn.send(sender="django_q", proc_name="Worker-1")
    threads = [t for _, t in responses if t is not None]
    assert len(threads) == 1
    threads[0].stop.set()
    threads[0].join(timeout=10)
    # then that process reported at once, under its host's name
    beat = WorkerHeartbeat.objects.get()
    assert beat.name == f"worker {socket.gethostname()}"
    assert (timezone.now() - beat.seen_at).total_seconds() < HEARTBEAT_STALE_SECONDS
    # and a second announcement from the same process starts no second thread
    again = post_spawn.send(sender="django_q", proc_name="Worker-1")
    assert [t for _, t in again if t is not None] == []


def test_tasks_run_synchronously_start_no_heartbeat_thread(world, monkeypatch):
    # given the synchronous mode (Q_SYNC): a task runs django-q2's worker loop in this process
    monkeypatch.setattr(health, "_started", set())
    # when a task runs / then no heartbeat thread starts and no worker is reported
    async_task("core.tasks.purge_idempotency_keys")
    assert health._started == set()
    assert not WorkerHeartbeat.objects.exists()


# --- the banner on every page -------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/billing/", "/ingestion/", "/tokens/"])
def test_banner_when_work_waits_and_no_worker_was_seen(world, queued_run, url):
    _stale_heartbeat()
    html = _html(world.client(S.Role.OPERATIONS).get(url))
    assert BANNER in html
    assert "1 billing run queued or running" in html


def test_banner_names_pending_batches(world):
    Batch.objects.create(tenant=world.tenant, kind="ELIGIBILITY")
    Batch.objects.create(tenant=world.tenant, kind="ELIGIBILITY")
    html = _html(world.client(S.Role.VIEWER).get("/"))
    assert BANNER in html
    assert "2 ingestion batches pending or processing" in html
    assert "none has reported yet" in html.lower() or "None has reported yet" in html


def test_no_banner_with_a_fresh_heartbeat(world, queued_run):
    _stale_heartbeat()
    heartbeat_record("worker host-1")
    assert BANNER not in _html(world.client(S.Role.OPERATIONS).get("/billing/"))


def test_no_banner_when_nothing_waits(world):
    _stale_heartbeat()
    done = BillingRun.objects.filter(tenant=world.tenant)
    assert not done.exists()
    assert BANNER not in _html(world.client(S.Role.OWNER).get("/"))


def test_banner_counts_only_the_members_tenant(world, queued_run):
    # another tenant's queued run does not alarm this tenant's members
    _stale_heartbeat()
    assert BANNER not in _html(world.client("outsider").get("/"))


def test_heartbeat_just_inside_the_minute_counts_as_seen(world, queued_run):
    _stale_heartbeat(seconds=HEARTBEAT_STALE_SECONDS - 10)
    assert BANNER not in _html(world.client(S.Role.OWNER).get("/"))
