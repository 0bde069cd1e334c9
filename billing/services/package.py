"""The audit package (SPEC 4, Runs): a summary-sized PDF plus the full decisions CSV, zipped.

WeasyPrint lays out roughly 200 table rows a second, so the PDF never lists one row per member:
it holds the run's parameters, rule versions with their params hashes, the summary, the class
and payer breakdowns, the first 500 exceptions (with the total), the run's audit segment and the
sha256 of the decisions CSV that sits beside it in the zip.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
import zipfile

from django.core.files.base import File
from django.db import transaction
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
from core.transitions import transition_apply

log = logging.getLogger("healthbill.billing")
EXCEPTIONS_LISTED = 500
SEGMENT_LISTED = 300


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


def audit_package_build(*, run_id: int) -> AuditPackage:
    """Build the zip (task body): decisions CSV, its sha256 in the PDF, both zipped."""
    run = BillingRun.objects.select_related("tenant", "triggered_by").get(pk=run_id)
    system = Actor.system_for(run.tenant)
    package = AuditPackage.objects.filter(run=run).first()
    if package is None or package.status != AuditPackage.Status.QUEUED:
        return package
    package = transition_apply(
        actor=system,
        model=AuditPackage,
        pk=package.pk,
        name="build",
        scope=S.BILLING_RUN_VIEW,
        action="AUDIT_PACKAGE_BUILDING",
    )
    started = time.perf_counter()
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
            name = f"audit-package-run{run.pk}-{run.month:%Y-%m}-v{run.version}.zip"
            package.file.save(name, File(zipped), save=False)
        AuditPackage.objects.filter(pk=package.pk).update(file=package.file.name)
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
    except Exception as exc:
        log.exception("audit package failed", extra={"run": run.pk})
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
