"""Audit packages under the job watchdog (core.watchdog): a package left QUEUED or BUILDING by a
dead worker (its task lost, not re-delivered) is queued again, and failed through its state
machine after the watchdog's last try, with the reason (audited); it can be requested again."""

from __future__ import annotations

from datetime import datetime

from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast

from billing.models import AuditPackage
from billing.services.package import audit_package_fail, package_build_live
from core import queue
from core.models import AuditEntry
from core.watchdog import Stale, register_watchdog

BUILD_TASK = "billing.tasks.build_audit_package"
Status = AuditPackage.Status


def stale_packages(cutoff: datetime) -> list[Stale]:
    """Queued or building packages whose last sign of progress (the request, the build's start)
    is older than the cutoff and that no live worker is building, with the task that builds
    each."""
    # when each one's latest build started: its newest AUDIT_PACKAGE_BUILDING entry (one query)
    build_started = (
        AuditEntry.objects.filter(
            tenant_id=OuterRef("tenant_id"),
            object_type="billing.AuditPackage",
            object_id=Cast(OuterRef("pk"), CharField()),
            action="AUDIT_PACKAGE_BUILDING",
        )
        .order_by("-seq")
        .values("at")[:1]
    )
    packages = (
        AuditPackage.objects.filter(status__in=[Status.QUEUED, Status.BUILDING])
        .annotate(build_started=Subquery(build_started))
        .order_by("pk")
    )
    found = []
    for package in packages:
        moments = [package.requested_at]
        if package.status == Status.BUILDING:
            moments.append(package.build_started)
        progress = max(t for t in moments if t)
        if progress >= cutoff or package_build_live(package.pk):
            continue
        found.append(
            Stale(package.pk, package.tenant_id, progress, ((BUILD_TASK, (package.run_id,)),))
        )
    return found


def package_requeue(pk: int) -> int:
    """Queue the package's build again: a package BUILDING is built afresh by it (no live
    worker holds it), one already READY or FAILED by then is left alone."""
    run_id = AuditPackage.objects.filter(pk=pk).values_list("run_id", flat=True).get()
    queue.enqueue(BUILD_TASK, run_id)
    return 1


def package_fail(pk: int, reason: str) -> AuditPackage:
    """Fail a stuck package with the watchdog's reason (audited); it can be requested again."""
    return audit_package_fail(package_id=pk, reason=reason)


def register() -> None:
    register_watchdog(
        "billing.audit_package",
        "audit package",
        candidates=stale_packages,
        requeue=package_requeue,
        fail=package_fail,
    )
