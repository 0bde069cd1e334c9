"""The audit package of a production run (SPEC 4, Runs): a summary-sized PDF and the decisions
CSV, zipped; the PDF prints the CSV's sha256, the totals and the final hash."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pypdfium2 as pdfium
import pytest

from billing.models import AuditPackage, BillingRun, RunException
from billing.services import package as package_services
from billing.services.package import audit_package_build, audit_package_request
from billing.services.runs import billing_run_execute
from core.exceptions import Conflict
from tests.billing import api_builders as b
from tests.e2e.conftest import ARTIFACTS


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _production_run(tenant, *, exceptions: int = 1, billable: int = 2) -> BillingRun:
    """A fresh payer's production run for 2026-10, executed inline (package built inline)."""
    p = b.payer_with_rules(tenant)
    for _ in range(billable):
        b.member(tenant, p)
    for n in range(exceptions):
        b.member(tenant, p, f"EXC{p.code}-{n + 1}", benefit_suffix=b.UNKNOWN_SUFFIX)
    run = b.trigger(tenant, [p])
    billing_run_execute(run_id=run.pk)
    return BillingRun.objects.get(pk=run.pk)


def _zip(pkg: AuditPackage) -> zipfile.ZipFile:
    with pkg.file.open("rb") as fh:
        return zipfile.ZipFile(io.BytesIO(fh.read()))


def _pdf_texts(pdf_bytes: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_package_of_completed_production_run_is_ready_with_pdf_and_csv(world):
    # given a production run with two billable members and one exception, executed inline
    run = _production_run(world.tenant)
    assert run.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS
    assert run.final_hash

    # then its audit package is READY and the zip holds the PDF and the decisions CSV
    pkg = AuditPackage.objects.get(run=run)
    assert pkg.status == AuditPackage.Status.READY
    archive = _zip(pkg)
    assert sorted(archive.namelist()) == sorted(
        [f"audit-run{run.pk}.pdf", f"decisions-run{run.pk}.csv"]
    )
    csv_bytes = archive.read(f"decisions-run{run.pk}.csv")
    pdf_bytes = archive.read(f"audit-run{run.pk}.pdf")

    # the CSV holds every decision; its sha256 is the one recorded and printed in the PDF
    lines = csv_bytes.decode().strip().splitlines()
    assert lines[0].startswith("member_id,payer_code,month,decision_class")
    assert len(lines) == 1 + run.decisions_count == 4
    csv_sha = hashlib.sha256(csv_bytes).hexdigest()
    assert csv_sha == pkg.csv_sha256
    assert hashlib.sha256(pdf_bytes).hexdigest() == pkg.pdf_sha256
    texts = _pdf_texts(pdf_bytes)
    assert pkg.pages == len(texts)
    assert csv_sha in _squash("".join(texts))

    # the first page, rendered: saved for people to look at, and not blank
    pdf = pdfium.PdfDocument(pdf_bytes)
    image = pdf[0].render(scale=1).to_pil().convert("L")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image.save(ARTIFACTS / "test_package_first_page.png")
    dark = sum(image.histogram()[:100])  # pixels darker than 100 of 255
    assert dark > 500, f"the first page looks blank ({dark} dark pixels)"

    # the first page names the run, its totals and its final hash
    first = texts[0]
    assert re.search(rf"billing run {run.pk}\b", first)
    summary = run.summary
    assert summary["total_charge"] == "825.00"
    assert summary["billable_members"] == 2
    assert re.search(rf"Total charge\s+{re.escape(summary['total_charge'])}", first)
    assert re.search(r"Billable members\s+2\b", first)
    assert run.final_hash in _squash(first)


def test_package_lists_at_most_the_first_exceptions(world, monkeypatch):
    # given the listing limit lowered to 3 and a run with 5 exceptions
    monkeypatch.setattr(package_services, "EXCEPTIONS_LISTED", 3)
    run = _production_run(world.tenant, exceptions=5, billable=1)
    assert RunException.objects.filter(run=run).count() == 5

    # then the PDF says so and lists only the first three (by id)
    pkg = AuditPackage.objects.get(run=run)
    assert pkg.status == AuditPackage.Status.READY
    text = "\n".join(_pdf_texts(_zip(pkg).read(f"audit-run{run.pk}.pdf")))
    assert "Exceptions (5, the first 3 listed)" in text
    flat = _squash(text)
    assert flat.count("UNKNOWN_BENEFIT_COMBINATION") == 3
    members = list(
        RunException.objects.filter(run=run)
        .order_by("id")
        .values_list("member__external_id", flat=True)
    )
    for listed in members[:3]:
        assert listed in flat
    for left_out in members[3:]:
        assert left_out not in flat


def test_package_default_limit_is_500():
    assert package_services.EXCEPTIONS_LISTED == 500


def test_package_build_failure_is_recorded_and_can_be_rebuilt(world, monkeypatch):
    # given WeasyPrint fails while the run completes
    def broken(run, csv_sha256):
        raise RuntimeError("layout exploded")

    monkeypatch.setattr(package_services, "render_pdf", broken)
    run = _production_run(world.tenant)

    # then the run completed but its package FAILED with the error's class name, and no file
    assert run.status in BillingRun.DONE
    pkg = AuditPackage.objects.get(run=run)
    assert pkg.status == AuditPackage.Status.FAILED
    assert pkg.error == "RuntimeError"
    assert not pkg.file

    # when it is requested again (with the renderer back) and built
    monkeypatch.undo()
    pkg = audit_package_request(actor=world.actor(), run_id=run.pk, enqueue=False)
    assert pkg.status == AuditPackage.Status.QUEUED
    pkg = audit_package_build(run_id=run.pk)

    # then it is READY, with no error left
    assert pkg.status == AuditPackage.Status.READY
    pkg.refresh_from_db()
    assert pkg.status == AuditPackage.Status.READY and pkg.error == "" and pkg.file
    assert f"audit-run{run.pk}.pdf" in _zip(pkg).namelist()


def test_simulation_run_gets_no_package(world):
    # given a simulation executed inline
    p = b.billed_payer(world.tenant)
    run = b.trigger(world.tenant, [p], mode=BillingRun.Mode.SIMULATION)
    run = billing_run_execute(run_id=run.pk)
    assert run.status == BillingRun.Status.COMPLETED

    # then nothing was built, and asking for a package is refused
    assert not AuditPackage.objects.filter(run=run).exists()
    with pytest.raises(Conflict, match="production runs only"):
        audit_package_request(actor=world.actor(), run_id=run.pk, enqueue=False)
    assert not AuditPackage.objects.filter(run=run).exists()
