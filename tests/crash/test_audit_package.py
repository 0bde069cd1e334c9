"""An audit package survives workers SIGKILLed mid-build (issue 17): the package a dead worker
left BUILDING is built again by a fresh cluster (its task re-delivered by the broker, or, when
the broker lost it, re-queued by the watchdog), ends READY exactly once with one file whose CSV
holds every decision once, and the tenant's audit chain verifies.

The run is executed in this process (its first package built here too); the test asks for the
package again (a rebuild) and the cluster builds it. The killed cluster holds the PDF rendering
a moment (CHUNK_PAUSE), so the seeded kill always lands while the package is BUILDING."""

from __future__ import annotations

import csv
import io
import random
import time
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ

from billing.models import AuditPackage, BillingRun, Decision
from billing.services.package import audit_package_request, package_build_live
from billing.services.runs import billing_run_execute, billing_run_trigger
from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry
from core.watchdog import watchdog_pass
from tests.billing.run_builders import month, payer
from tests.crash.builders import eligible_members
from tests.crash.conftest import WAIT_SECONDS, wait_until

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

MEMBERS = 2000
SEP = month(2026, 9)
BUILD_TASK = "billing.tasks.build_audit_package"
Status = AuditPackage.Status


def _completed_run(owner) -> BillingRun:
    p = payer(owner, "ACME")
    eligible_members(p, MEMBERS, prefix="P")
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    return billing_run_execute(run_id=run.pk)


def _package(pk: int) -> AuditPackage:
    return AuditPackage.objects.get(pk=pk)


def _build_tasks() -> list[OrmQ]:
    return [row for row in OrmQ.objects.all() if row.task.get("func") == BUILD_TASK]


@pytest.mark.parametrize(("seed", "broker_keeps_task"), [(1, True), (2, False)])
def test_audit_package_survives_a_killed_cluster(world, clusters, seed, broker_keeps_task):
    rng = random.Random(seed)
    owner = world.actor(S.Role.OWNER)

    # given a completed production run of 2,000 members (its first package built here)
    run = _completed_run(owner)
    assert run.status == BillingRun.Status.COMPLETED and run.decisions_count == MEMBERS
    first_build = AuditPackage.objects.get(run=run)
    assert first_build.status == Status.READY
    mark = AuditEntry.objects.filter(tenant=world.tenant).order_by("-seq").first().seq

    # and its package requested again, for a running cluster
    pkg = audit_package_request(actor=owner, run_id=run.pk)
    assert pkg.status == Status.QUEUED and len(_build_tasks()) == 1
    first = clusters()

    # when the cluster is SIGKILLed a seeded moment after the build started
    wait_until(
        lambda: _package(pkg.pk).status != Status.QUEUED,
        seconds=WAIT_SECONDS,
        what="the package build starting",
        log=first.log,
    )
    time.sleep(rng.uniform(0, 1.2))
    first.kill()
    at_kill = _package(pkg.pk)
    print(f"seed {seed}: killed at {at_kill.status}")
    assert at_kill.status == Status.BUILDING, "the kill came after the build finished"
    if not broker_keeps_task:  # the broker lost the task the dead worker held (Redis, no AOF)
        OrmQ.objects.filter(pk__in=[row.pk for row in _build_tasks()]).delete()

    # and a fresh cluster is started (and, when the task is lost, the watchdog passes)
    started = time.monotonic()
    second = clusters()
    if not broker_keeps_task:
        wait_until(
            lambda: not package_build_live(pkg.pk),
            seconds=30,
            what="the dead worker's build lease being released",
        )
        later = timezone.now() + timedelta(seconds=settings.WATCHDOG_STALE_SECONDS + 1)
        done = watchdog_pass(now=later)
        assert [(a["id"], a["action"]) for a in done.actions] == [(pkg.pk, "requeued")]
    finished = wait_until(
        lambda: _package(pkg.pk).status in (Status.READY, Status.FAILED) and _package(pkg.pk),
        seconds=WAIT_SECONDS,
        what="the package finishing after the crash",
        log=second.log,
    )
    print(f"seed {seed}: ready {time.monotonic() - started:.1f} s after the restart")

    # then the package is READY, built once after the request
    assert finished.status == Status.READY, finished.error
    entries = AuditEntry.objects.filter(
        tenant=world.tenant, object_type="billing.AuditPackage", object_id=str(pkg.pk)
    )
    assert entries.filter(action="AUDIT_PACKAGE_READY", seq__gt=mark).count() == 1
    assert not entries.filter(action="AUDIT_PACKAGE_FAILED").exists()
    # and its CSV has every decision of the run exactly once
    with finished.file.open("rb") as fh:
        archive = zipfile.ZipFile(io.BytesIO(fh.read()))
    assert sorted(archive.namelist()) == [f"audit-run{run.pk}.pdf", f"decisions-run{run.pk}.csv"]
    rows = list(csv.reader(io.StringIO(archive.read(f"decisions-run{run.pk}.csv").decode())))[1:]
    expected = Decision.objects.filter(run=run).values_list("member__external_id", flat=True)
    assert len(rows) == MEMBERS
    assert sorted(r[0] for r in rows) == sorted(expected) == [f"P{n:05d}" for n in range(MEMBERS)]
    # and it is the only package file left (the replaced one and any half-written one are gone)
    files = sorted(p for p in settings.MEDIA_ROOT.rglob("audit-package-*") if p.is_file())
    assert [str(p.relative_to(settings.MEDIA_ROOT)) for p in files] == [finished.file.name]
    # and the audit chain verifies
    report = verify_chain(world.tenant)
    assert report.ok, report.problem
