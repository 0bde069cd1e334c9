"""The audit package (SPEC 4, Runs): a summary-sized PDF plus the full decisions CSV, zipped.

WeasyPrint lays out roughly 200 table rows a second, so the PDF never lists one row per member:
it holds the run's parameters, rule versions with their params hashes, the summary, the class
and payer breakdowns, the first 500 exceptions (with the total), the run's audit segment and the
sha256 of the decisions CSV that sits beside it in the zip.

A build holds the package's lease (`package_lease`) from start to end, so a worker killed
mid-build leaves the package BUILDING but free: the broker's re-delivery of its task, or the
watchdog's re-queue (billing/watchdog_package.py), builds it again; the zip is named on the
package only as it turns READY, and the files a replaced or killed build left are deleted then.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.base import File
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string

from billing.models import AuditPackage, BillingRun, RunException, RunPayer
from billing.services.exports import decisions_lines, spool
from core import queue
from core import scopes as S
from core.actors import Actor
from core.exceptions import Conflict
from core.models import AuditEntry
from core.phi_reads import PHI_EXPORT, record_phi_access
from core.transitions import state_reload, transition_apply

log = logging.getLogger("healthbill.billing")
EXCEPTIONS_LISTED = 500
SEGMENT_LISTED = 300
FILE_PREFIX = "audit-package-run{run}-"
LEASE_NAMESPACE = 17_001  # pg advisory lock class of audit package builds


def run_audit_segment(run: BillingRun):
    """Audit entries whose object is the run or one of its decisions, exceptions or package."""
    exception_ids = [str(i) for i in run.exceptions.values_list("id", flat=True)]
    package_ids = [
        str(i) for i in AuditPackage.objects.filter(run=run).values_list("id", flat=True)
    ]
    return (
        AuditEntry.objects.filter(tenant_id=run.tenant_id)
        .filter(
            Q(object_type="billing.BillingRun", object_id=str(run.pk))
            | Q(object_type="billing.Decision", payload__run=run.pk)
            | Q(object_type="billing.RunException", object_id__in=exception_ids)
            | Q(object_type="billing.AuditPackage", object_id__in=package_ids)
        )
        .order_by("seq")
    )


def audit_package_request(*, actor: Actor, run_id: int, enqueue: bool = True) -> AuditPackage:
    """Queue (or queue again) the package of a completed production run."""
    actor.require(S.BILLING_RUN_VIEW)
    run = BillingRun.objects.filter(pk=run_id, tenant=actor.tenant).first()
    if run is None or run.mode != BillingRun.Mode.PRODUCTION:
        raise Conflict("Audit packages are built for production runs only.")
    if run.status not in (*BillingRun.DONE, BillingRun.Status.SUPERSEDED):
        raise Conflict(f"Run #{run.pk} is {run.status}; its package is built once it has finished.")
    with transaction.atomic():
        package, created = AuditPackage.objects.get_or_create(
            run=run, defaults={"tenant": run.tenant}
        )
        if not created:
            if package.status in (AuditPackage.Status.QUEUED, AuditPackage.Status.BUILDING):
                return package
            package = transition_apply(
                actor=actor,
                model=AuditPackage,
                pk=package.pk,
                name="rebuild",
                scope=S.BILLING_RUN_VIEW,
                action="AUDIT_PACKAGE_REQUESTED",
            )
        if enqueue:
            transaction.on_commit(
                lambda: queue.enqueue("billing.tasks.build_audit_package", run.pk)
            )
    return package


def audit_package_download(*, actor: Actor, run: BillingRun) -> AuditPackage:
    """The READY package of a run, for download; the download is audited."""
    actor.require(S.BILLING_RUN_VIEW)
    pkg = AuditPackage.objects.filter(run=run, status=AuditPackage.Status.READY).first()
    if pkg is None or not pkg.file:
        raise Conflict(f"The audit package of run #{run.pk} is not ready.")
    record_phi_access(actor, PHI_EXPORT, run, export="audit_package", package=pkg.pk)
    return pkg


def _context(run: BillingRun, csv_sha256: str) -> dict:
    payers = (
        RunPayer.objects.filter(run=run)
        .select_related("payer", "rule_version")
        .order_by("payer__code")
    )
    exceptions = (
        RunException.objects.filter(run=run).select_related("payer", "member").order_by("id")
    )
    segment = run_audit_segment(run)
    summary = run.summary or {}
    duration = (
        (run.finished_at - run.started_at).total_seconds()
        if run.finished_at and run.started_at
        else None
    )
    return {
        "run": run,
        "payers": payers,
        "summary": summary,
        "by_class": sorted((summary.get("by_class") or {}).items()),
        "by_payer": sorted((summary.get("by_payer") or {}).items()),
        "exceptions": exceptions[:EXCEPTIONS_LISTED],
        "exceptions_total": exceptions.count(),
        "exceptions_open": exceptions.filter(status=RunException.Status.OPEN).count(),
        "segment": segment[:SEGMENT_LISTED],
        "segment_total": segment.count(),
        "csv_sha256": csv_sha256,
        "duration": duration,
        "listed": EXCEPTIONS_LISTED,
    }


def render_pdf(run: BillingRun, csv_sha256: str) -> tuple[bytes, int]:
    """The PDF and its page count."""
    from weasyprint import HTML

    html = render_to_string("billing/audit_package.html", _context(run, csv_sha256))
    document = HTML(string=html).render()
    return document.write_pdf(), len(document.pages)


@contextmanager
def package_lease(package_id: int) -> Iterator[bool]:
    """Hold the package's build lease (True) or learn another worker holds it (False).

    On PostgreSQL a session advisory lock: the database drops it when its holder's connection
    ends, so a worker killed mid-build frees the package at once and the broker's re-delivery
    (or the watchdog's) builds it again, never two workers at once. SQLite (one process in
    development) has no such lock: the lease is always granted.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = (LEASE_NAMESPACE, package_id % 2**31)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s::int, %s::int)", key)
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s::int, %s::int)", key)


def package_build_live(package_id: int) -> bool:
    """Whether a live worker holds the package's build lease (it is being built right now)."""
    with package_lease(package_id) as held:
        return not held


def audit_package_build(*, run_id: int) -> AuditPackage | None:
    """Build the zip (task body): decisions CSV, its sha256 in the PDF, both zipped.

    Idempotent: a package READY or FAILED, or being built by a live worker, is left as it is; one
    left BUILDING by a worker that died is built again (its task re-delivered or re-queued).
    """
    run = BillingRun.objects.select_related("tenant", "triggered_by").get(pk=run_id)
    package = AuditPackage.objects.filter(run=run).first()
    if package is None or package.status not in (
        AuditPackage.Status.QUEUED,
        AuditPackage.Status.BUILDING,
    ):
        return package
    with package_lease(package.pk) as held:
        state_reload(package)
        if not held:
            return package  # a live worker builds it
        if package.status == AuditPackage.Status.BUILDING:
            log.warning(
                "audit package left building by a lost worker: built again",
                extra={"event": "audit_package_resumed", "run": run.pk, "package": package.pk},
            )
        elif package.status != AuditPackage.Status.QUEUED:
            return package  # finished (or failed by the watchdog) meanwhile
        return _build(run, package)


def _build(run: BillingRun, package: AuditPackage) -> AuditPackage:
    system = Actor.system_for(run.tenant)
    if package.status == AuditPackage.Status.QUEUED:
        package = transition_apply(
            actor=system,
            model=AuditPackage,
            pk=package.pk,
            name="build",
            scope=S.BILLING_RUN_VIEW,
            action="AUDIT_PACKAGE_BUILDING",
        )
    started = time.perf_counter()
    storage, previous, written = package.file.storage, package.file.name, ""
    try:
        csv_file, csv_sha256 = spool(decisions_lines(run))  # constant memory, whatever the size
        pdf, pages = render_pdf(run, csv_sha256)
        pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        with csv_file, tempfile.TemporaryFile() as zipped:
            with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(f"audit-run{run.pk}.pdf", pdf)
                with archive.open(f"decisions-run{run.pk}.csv", "w", force_zip64=True) as entry:
                    shutil.copyfileobj(csv_file, entry, 1024 * 1024)
            zipped.seek(0)
            package.file.save(_file_name(run), File(zipped), save=False)
            written = package.file.name
        with transaction.atomic():
            # the file is named on the package only as it turns READY: a file half-written by
            # a killed worker is never served
            AuditPackage.objects.filter(pk=package.pk).update(file=written)
            package = transition_apply(
                actor=system,
                model=AuditPackage,
                pk=package.pk,
                name="ready",
                scope=S.BILLING_RUN_VIEW,
                action="AUDIT_PACKAGE_READY",
                payload={"pdf_sha256": pdf_sha256, "csv_sha256": csv_sha256},
                kwargs={
                    "pdf_sha256": pdf_sha256,
                    "csv_sha256": csv_sha256,
                    "pages": pages,
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
            # one package file in the end: the one before a rebuild and any left by a killed
            # build go once the new one is committed
            transaction.on_commit(
                lambda: _leftovers_delete(storage, run, keep=written, previous=previous)
            )
    except Exception as exc:
        log.exception("audit package failed", extra={"run": run.pk})
        if written and written != previous:
            storage.delete(written)
        package = transition_apply(
            actor=system,
            model=AuditPackage,
            pk=package.pk,
            name="fail",
            scope=S.BILLING_RUN_VIEW,
            action="AUDIT_PACKAGE_FAILED",
            kwargs={"error": type(exc).__name__},
        )
    return package


def audit_package_fail(*, package_id: int, reason: str) -> AuditPackage:
    """Fail a package whose build cannot finish (the watchdog's last try), with the reason as its
    error (audited as AUDIT_PACKAGE_FAILED); it can be requested again."""
    package = AuditPackage.objects.select_related("tenant").get(pk=package_id)
    with transaction.atomic():
        return transition_apply(
            actor=Actor.system_for(package.tenant),
            model=AuditPackage,
            pk=package_id,
            name="fail",
            scope=S.BILLING_RUN_VIEW,
            action="AUDIT_PACKAGE_FAILED",
            reason=reason,
            kwargs={"error": reason},
        )


def _file_name(run: BillingRun) -> str:
    return f"{FILE_PREFIX.format(run=run.pk)}{run.month:%Y-%m}-v{run.version}.zip"


def _leftovers_delete(storage, run: BillingRun, *, keep: str, previous: str) -> None:
    """Delete the run's package files other than `keep`: the one a rebuild replaced (wherever
    it was stored) and those a killed build left beside the new one."""
    if previous and previous != keep:
        storage.delete(previous)
    prefix = FILE_PREFIX.format(run=run.pk)
    folder = os.path.dirname(keep)
    for name in _stored_names(storage, folder):
        path = f"{folder}/{name}" if folder else name
        if name.startswith(prefix) and path != keep:
            storage.delete(path)


def _stored_names(storage, folder: str) -> list[str]:
    try:
        return storage.listdir(folder)[1]
    except FileNotFoundError:
        return []
