"""Audit packages a dead worker left behind (issue 17): a package left BUILDING is built again
by its re-delivered task or by the watchdog's re-queue, ends READY with one file holding every
decision once; one that keeps dying is FAILED with the reason (audited) and can be requested
again; fresh and finished packages are left alone.

A small production run executed inline (its first package built inline); the rebuild is
requested without queueing, and "a worker died mid-build" is the build transition applied with
nothing after it. Tasks queued by the watchdog run inline (Q_SYNC) unless `dead_workers`.
"""

from __future__ import annotations

import csv
import io
import threading
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import AuditPackage, BillingRun, Decision
from billing.services.package import audit_package_build, audit_package_request
from billing.services.runs import billing_run_execute
from core import queue
from core import scopes as S
from core.actors import Actor
from core.audit import verify_chain
from core.models import AuditEntry
from core.transitions import transition_apply
from core.watchdog import watchdog_pass
from tests.billing import api_builders as b

STALE = 900
Status = AuditPackage.Status


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.WATCHDOG_STALE_SECONDS = STALE
    settings.WATCHDOG_MAX_REQUEUES = 2


@pytest.fixture
def run(world) -> BillingRun:
    """A completed production run of three billable members and one exception; package READY."""
    p = b.payer_with_rules(world.tenant)
    for _ in range(3):
        b.member(world.tenant, p)
    b.member(world.tenant, p, benefit_suffix=b.UNKNOWN_SUFFIX)
    done = billing_run_execute(run_id=b.trigger(world.tenant, [p]).pk)
    assert AuditPackage.objects.get(run=done).status == Status.READY
    return done


@pytest.fixture
def dead_workers(monkeypatch):
    """Every task queued is lost (its worker dies before doing anything)."""
    lost = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: lost.append((func, args)))
    return lost


def _later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def _requested(world, run: BillingRun) -> AuditPackage:
    """The package requested again (rebuild), its task not yet run."""
    pkg = audit_package_request(actor=world.actor(S.Role.OWNER), run_id=run.pk, enqueue=False)
    assert pkg.status == Status.QUEUED
    return pkg


def _left_building(world, run: BillingRun) -> AuditPackage:
    """The package requested again, and the worker building it killed right after it started."""
    pkg = _requested(world, run)
    return transition_apply(
        actor=Actor.system_for(run.tenant),
        model=AuditPackage,
        pk=pkg.pk,
        name="build",
        scope=S.BILLING_RUN_VIEW,
        action="AUDIT_PACKAGE_BUILDING",
    )


def _package_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("audit-package-*") if p.is_file())


def _decision_rows(pkg: AuditPackage) -> list[str]:
    with pkg.file.open("rb") as fh:
        archive = zipfile.ZipFile(io.BytesIO(fh.read()))
    text = archive.read(f"decisions-run{pkg.run_id}.csv").decode()
    return [row[0] for row in list(csv.reader(io.StringIO(text)))[1:]]


def _every_decision_once(pkg: AuditPackage) -> None:
    expected = Decision.objects.filter(run_id=pkg.run_id).values_list(
        "member__external_id", flat=True
    )
    rows = _decision_rows(pkg)
    assert sorted(rows) == sorted(expected) and len(rows) == len(set(rows)) == 4


def test_redelivered_build_task_builds_a_package_left_building(world, run, tmp_path):
    # given a rebuild whose worker died right after the package turned BUILDING
    pkg = _left_building(world, run)

    # when the broker delivers its task again
    built = audit_package_build(run_id=run.pk)

    # then the package is built (not left BUILDING forever), with every decision once
    assert built.status == Status.READY
    pkg.refresh_from_db()
    assert pkg.status == Status.READY and pkg.file
    _every_decision_once(pkg)
    ready = AuditEntry.objects.filter(action="AUDIT_PACKAGE_READY", object_id=str(pkg.pk))
    assert ready.count() == 2  # the first build's and this one
    assert verify_chain(world.tenant).ok


def test_watchdog_requeues_a_package_left_building_and_it_is_ready_with_one_file(
    world, run, tmp_path, django_capture_on_commit_callbacks
):
    # given a rebuild whose worker died mid-build, its task lost (the old file is still there)
    pkg = _left_building(world, run)
    assert len(_package_files(tmp_path)) == 1

    # when the watchdog passes before the bound, then it is left alone
    assert watchdog_pass(now=_later(STALE - 60)).actions == []
    pkg.refresh_from_db()
    assert pkg.status == Status.BUILDING

    # when it passes after the bound (the queued build runs inline here)
    with django_capture_on_commit_callbacks(execute=True):
        done = watchdog_pass(now=_later(STALE + 1))

    # then it queued the build once, and the package is READY with every decision once
    assert done.actions == [
        {
            "tenant": run.tenant_id,
            "job": "audit package",
            "id": pkg.pk,
            "action": "requeued",
            "tasks": 1,
            "attempt": 1,
        }
    ]
    pkg.refresh_from_db()
    assert pkg.status == Status.READY
    _every_decision_once(pkg)
    # and only the new file is left: the one the rebuild replaced is gone
    files = _package_files(tmp_path)
    assert [f.name for f in files] == [Path(pkg.file.name).name]
    # and a later pass finds nothing to do
    assert watchdog_pass(now=_later(3 * STALE)).actions == []


def test_watchdog_requeues_a_queued_package_whose_task_was_lost(world, run):
    # given a rebuild requested, its task lost before any worker took it
    pkg = _requested(world, run)

    # when the watchdog passes after the bound
    done = watchdog_pass(now=_later(STALE + 1))

    # then it was queued again and built
    assert (done.requeued, done.failed) == (1, 0)
    pkg.refresh_from_db()
    assert pkg.status == Status.READY
    _every_decision_once(pkg)


def test_watchdog_fails_a_package_that_keeps_dying_with_the_reason(world, run, dead_workers):
    # given a package left BUILDING, and every worker dying with what it is given
    pkg = _left_building(world, run)

    # when the watchdog passes: after the bound, soon after, after the bound again, and again
    passes = [
        watchdog_pass(now=_later(STALE + 1)),
        watchdog_pass(now=_later(STALE + 61)),
        watchdog_pass(now=_later(2 * STALE + 2)),
    ]
    pkg.refresh_from_db()
    assert pkg.status == Status.BUILDING
    passes.append(watchdog_pass(now=_later(3 * STALE + 3)))

    # then it queued the build twice, waited in between, then failed it
    assert [(p.requeued, p.failed) for p in passes] == [(1, 0), (0, 0), (1, 0), (0, 1)]
    assert dead_workers == [("billing.tasks.build_audit_package", (run.pk,))] * 2
    pkg.refresh_from_db()
    reason = "no progress for 900 s after 2 re-queue(s) by the watchdog"
    assert pkg.status == Status.FAILED and pkg.error.startswith(reason)
    # and the failure is audited with its reason
    entry = AuditEntry.objects.filter(action="AUDIT_PACKAGE_FAILED", object_id=str(pkg.pk)).get()
    assert entry.reason.startswith(reason)
    assert verify_chain(world.tenant).ok
    # and it can be requested again, and then builds
    again = _requested(world, run)
    assert audit_package_build(run_id=run.pk).status == Status.READY
    again.refresh_from_db()
    assert again.status == Status.READY and again.error == ""


def test_watchdog_leaves_fresh_and_finished_packages_alone(world, run, dead_workers):
    # given a READY package, and of another payer's runs one FAILED, one queued and one building
    # just now
    p = b.payer_with_rules(world.tenant)
    b.member(world.tenant, p)
    failed_run, queued_run, building_run = (
        billing_run_execute(run_id=b.trigger(world.tenant, [p], month=b.MONTH.replace(month=m)).pk)
        for m in (7, 8, 9)
    )
    failed = transition_apply(
        actor=Actor.system_for(world.tenant),
        model=AuditPackage,
        pk=_requested(world, failed_run).pk,
        name="fail",
        scope=S.BILLING_RUN_VIEW,
        kwargs={"error": "RuntimeError"},
    )
    queued = _requested(world, queued_run)
    building = _left_building(world, building_run)
    ready = AuditPackage.objects.get(run=run)

    # when the watchdog passes a little before the bound
    done = watchdog_pass(now=_later(STALE - 5))

    # then nothing was queued or failed, and each kept its state
    assert done.actions == [] and dead_workers == []
    states = {
        pkg.pk: AuditPackage.objects.get(pk=pkg.pk).status
        for pkg in (ready, failed, queued, building)
    }
    assert states == {
        ready.pk: Status.READY,
        failed.pk: Status.FAILED,
        queued.pk: Status.QUEUED,
        building.pk: Status.BUILDING,
    }

    # and long after the bound, only the queued and the building ones are taken up
    later = watchdog_pass(now=_later(STALE + 1))
    assert sorted(a["id"] for a in later.actions) == sorted([queued.pk, building.pk])
    assert AuditPackage.objects.get(pk=ready.pk).status == Status.READY
    assert AuditPackage.objects.get(pk=failed.pk).status == Status.FAILED


def test_a_build_started_lately_counts_as_progress_though_requested_long_ago(
    world, run, dead_workers
):
    # given a package requested long before the bound whose build started just now
    building = _left_building(world, run)
    AuditPackage.objects.filter(pk=building.pk).update(
        requested_at=timezone.now() - timedelta(seconds=3 * STALE)
    )

    # when the watchdog passes a little before the bound, counted from the build's start
    done = watchdog_pass(now=_later(STALE - 5))

    # then the build's start is its progress: left alone, still BUILDING
    assert done.actions == [] and dead_workers == []
    assert AuditPackage.objects.get(pk=building.pk).status == Status.BUILDING
    # and after the bound it is taken up
    later = watchdog_pass(now=_later(STALE + 1))
    assert [a["id"] for a in later.actions] == [building.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_package_a_live_worker_builds_is_neither_built_twice_nor_requeued(
    world, run, dead_workers
):
    # given a package BUILDING whose build lease a live worker (another session) holds
    pkg = _left_building(world, run)
    holding, release, released = threading.Event(), threading.Event(), threading.Event()

    def live_worker():
        from django.db import connections

        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(17001, %s)", [pkg.pk])
            holding.set()
            release.wait(30)
            cursor.execute("SELECT pg_advisory_unlock(17001, %s)", [pkg.pk])
        connections["default"].close()
        released.set()

    worker = threading.Thread(target=live_worker)
    worker.start()
    assert holding.wait(10)
    try:
        # when its task is delivered a second time, and the watchdog passes after the bound
        second = audit_package_build(run_id=run.pk)
        done = watchdog_pass(now=_later(STALE + 1))
    finally:
        release.set()
        worker.join(10)

    # then neither touched it: no second build, nothing queued
    assert second.status == Status.BUILDING and done.actions == [] and dead_workers == []
    assert AuditEntry.objects.filter(action="AUDIT_PACKAGE_READY").count() == 1
    # and once the worker is gone, a delivery builds it
    assert released.is_set() and connection.vendor == "postgresql"
    assert audit_package_build(run_id=run.pk).status == Status.READY
