"""manage.py ingest (SPEC 8) and the billing demo data loaded through ingestion batches."""

import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import EligibilityAssertion, Member, Payer, ServiceDeliveryEvent
from core.demo import load_demo
from ingestion.models import Artifact, Batch

X12_834 = Path(__file__).parent / "data_cmd" / "834-pyx12-lui-id.txt"
HEADER = "member_id,payer_code,service_date,service_code"


def _file(tmp_path, *rows: str, name: str = "svc.csv", header: str = HEADER) -> str:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def _ingest(*args: str) -> tuple[dict, int]:
    """Run the command; its one JSON line and exit code."""
    out = StringIO()
    code = 0
    try:
        call_command("ingest", *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0]), code


def _service(tenant: str, path: str, *extra: str) -> tuple[dict, int]:
    return _ingest("--tenant", tenant, "--kind", "service_delivery", path, "--sync", *extra)


def test_ingest_clean_file_prints_summary_and_exits_0(facts, tmp_path):
    # given a clean service-delivery file
    path = _file(tmp_path, "M001,ACME,2025-01-15,99213", "M002,ACME,2025-01-16,99214")
    # when it is ingested in this process
    out, code = _service("alpha", path)
    # then one JSON line describes the finished batch and the exit code is 0
    batch = Batch.objects.get(tenant=facts.tenant)
    assert out == {
        "batch": batch.pk,
        "status": "COMPLETED",
        "total": 2,
        "success": 2,
        "updated": 0,
        "error": 0,
        "skipped": 0,
    }
    assert code == 0
    assert batch.artifact.filename == "svc.csv"
    assert ServiceDeliveryEvent.objects.filter(batch=batch).count() == 2


def test_ingest_with_errors_exits_1(facts, tmp_path):
    # given a file with one unknown payer
    path = _file(tmp_path, "M001,ACME,2025-01-15,99213", "M002,NOPE,2025-01-16,99214")
    # when it is ingested / then the summary says so and the command exits 1
    with pytest.raises(SystemExit) as exited:
        call_command(
            "ingest",
            *("--tenant", "alpha", "--kind", "service_delivery", path, "--sync"),
            stdout=StringIO(),
        )
    assert exited.value.code == 1
    out, code = _service("alpha", _file(tmp_path, "M003,NOPE,2025-01-15,1", name="b.csv"))
    assert (out["status"], out["error"], code) == ("COMPLETED_WITH_ERRORS", 1, 1)


def test_ingest_failed_file_exits_1_naming_the_failure(facts, tmp_path):
    # given a file missing two required columns
    path = _file(tmp_path, "M001,ACME", header="member_id,payer_code")
    out, code = _service("alpha", path)
    assert code == 1
    assert out["status"] == "FAILED"
    assert out["total"] == 0
    assert "missing required column(s): service_date, service_code" in out["failure"]


def test_ingest_key_fields_are_honoured(facts, tmp_path):
    # given two rows for the same member and day with different codes
    rows = ("M001,ACME,2025-01-15,99213", "M001,ACME,2025-01-15,99214")
    # when the key is member and day only / then the second row is a repeat (skipped)
    out, code = _service("alpha", _file(tmp_path, *rows), "--key-fields", "member_id,ServiceDate")
    assert (out["success"], out["skipped"], code) == (1, 1, 0)
    assert Batch.objects.get(pk=out["batch"]).idempotency_key_fields == [
        "member_id",
        "service_date",
    ]
    # with the default key (every column) both are distinct and load
    rows = ("M002,ACME,2025-01-15,99213", "M002,ACME,2025-01-15,99214")
    out, _ = _service("alpha", _file(tmp_path, *rows, name="c.csv"))
    assert (out["success"], out["skipped"]) == (2, 0)


def test_ingest_unknown_key_field_is_a_command_error(facts, tmp_path):
    path = _file(tmp_path, "M001,ACME,2025-01-15,99213")
    with pytest.raises(CommandError, match="shoe_size"):
        _service("alpha", path, "--key-fields", "shoe_size")


def test_ingest_rerun_of_the_same_file_skips_everything(facts, tmp_path):
    path = _file(tmp_path, "M001,ACME,2025-01-15,99213", "M002,ACME,2025-01-16,99214")
    first, _ = _service("alpha", path)
    again, code = _service("alpha", path)
    assert first["batch"] != again["batch"]
    assert (again["status"], again["success"], again["skipped"], code) == ("COMPLETED", 0, 2, 0)
    assert ServiceDeliveryEvent.objects.filter(tenant=facts.tenant).count() == 2


def test_ingest_enrollment_834_with_payer(facts):
    # given the payer the file is loaded for (the 834's own insurer id is not a known payer)
    Payer.objects.create(tenant=facts.tenant, code="KCMH", name="KCMHSAS")
    args = ("--tenant", "alpha", "--kind", "enrollment", str(X12_834), "--sync")
    # when the X12 834 is ingested with --payer
    out, code = _ingest(*args, "--payer", "KCMH")
    # then its one subscriber coverage is loaded as an eligibility assertion
    assert (out["status"], out["total"], out["success"], code) == ("COMPLETED", 1, 1, 0)
    batch = Batch.objects.get(pk=out["batch"])
    assert (batch.kind, batch.format) == ("ENROLLMENT", "X12")
    assertion = EligibilityAssertion.objects.get(batch=batch)
    assert assertion.payer.code == "KCMH"
    assert assertion.member.external_id == "00389999"
    assert (assertion.member.last_name, assertion.member.first_name) == ("DOE", "JOHN")
    assert assertion.member.birth_date == date(1967, 3, 30)
    assert (assertion.status, assertion.source_kind) == ("ACTIVE", "FULL_FILE")
    assert assertion.effective_date == date(2007, 3, 1)
    assert assertion.file_date == date(2007, 3, 5)
    assert assertion.benefit_code == "AK"
    # and a re-run of the same file skips everything
    again, code = _ingest(*args, "--payer", "KCMH")
    assert (again["status"], again["success"], again["skipped"], code) == ("COMPLETED", 0, 1, 0)
    assert EligibilityAssertion.objects.filter(tenant=facts.tenant).count() == 1


def test_ingest_enrollment_834_without_payer_reports_the_unknown_insurer(facts):
    out, code = _ingest("--tenant", "alpha", "--kind", "enrollment", str(X12_834), "--sync")
    assert (out["status"], out["error"], code) == ("COMPLETED_WITH_ERRORS", 1, 1)
    detail = Batch.objects.get(pk=out["batch"]).records.get().error_detail
    assert "payer_code: expected a known payer, found '999999999'" in detail


def test_ingest_unknown_tenant_is_a_command_error(facts, tmp_path):
    path = _file(tmp_path, "M001,ACME,2025-01-15,99213")
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        call_command(
            "ingest",
            *("--tenant", "nope", "--kind", "service_delivery", path, "--sync"),
            stdout=StringIO(),
        )
    assert not Batch.objects.exists()


def test_ingest_missing_file_is_a_command_error(facts, tmp_path):
    with pytest.raises(CommandError, match="No file"):
        _service("alpha", str(tmp_path / "absent.csv"))


def test_ingest_unknown_kind_is_a_command_error(facts, tmp_path):
    path = _file(tmp_path, "M001,ACME,2025-01-15,99213")
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("ingest", "--tenant", "alpha", "--kind", "pizza", path, stdout=StringIO())


def test_ingest_too_large_is_a_command_error(facts, tmp_path, settings):
    settings.INGESTION_MAX_UPLOAD_BYTES = 10
    path = _file(tmp_path, "M001,ACME,2025-01-15,99213")
    with pytest.raises(CommandError, match="bytes allowed per upload"):
        _service("alpha", path)
    assert not Artifact.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_ingest_wait_returns_the_finished_batch(tmp_path, settings):
    # given committed data (no test transaction: the queued chunks run on commit, synchronously)
    from tests.fixtures import make_tenant

    tenant = make_tenant("gamma")
    Payer.objects.create(tenant=tenant, code="ACME", name="Acme")
    Member.objects.create(
        tenant=tenant,
        external_id="M001",
        first_name="A",
        last_name="B",
        birth_date=date(1990, 1, 1),
    )
    path = _file(tmp_path, "M001,ACME,2025-01-15,99213")
    # when ingested with --wait and a generous timeout
    out, code = _ingest(
        "--tenant", "gamma", "--kind", "service_delivery", path, "--wait", "--timeout", "30"
    )
    # then the summary is of the finished batch
    assert (out["status"], out["success"], code) == ("COMPLETED", 1, 0)


# --- demo data ----------------------------------------------------------------------------------


def test_load_demo_loads_payers_and_batches_idempotently(db):
    # when the demo is loaded
    tenant = load_demo()
    # then the two demo payers exist and both files were loaded as batches
    assert sorted(Payer.objects.filter(tenant=tenant).values_list("code", flat=True)) == [
        "BLUEPEAK",
        "MEDICARE-B",  # the Medicare of the COB demo (denial work)
        "NORTHWIND",
        "NYSDOH",  # the payer of the shared 835 sample (claims demo)
    ]
    batches = {b.kind: b for b in Batch.objects.filter(tenant=tenant)}
    assert set(batches) == {"ELIGIBILITY", "SERVICE_DELIVERY", "CHARGES", "REMITTANCE"}
    eligibility, services_batch = batches["ELIGIBILITY"], batches["SERVICE_DELIVERY"]
    assert eligibility.status == "COMPLETED"
    assert eligibility.total == eligibility.success == 300
    assert services_batch.status == "COMPLETED_WITH_ERRORS"
    assert services_batch.error == 3
    assert services_batch.success == services_batch.total - 3
    assert services_batch.total == services_batch.processed
    details = list(
        services_batch.records.filter(status="ERROR").values_list("error_detail", flat=True)
    )
    assert any("payer_code: expected a known payer, found 'UNKNOWNPAYER'" in d for d in details)
    assert sum("service_date: expected a date YYYY-MM-DD" in d for d in details) == 2
    assert Member.objects.filter(tenant=tenant).count() == 300 + 3  # + the 835 sample's members
    # when it is loaded again / then nothing new is created
    counts = (Batch.objects.count(), Artifact.objects.count(), Payer.objects.count())
    again = load_demo()
    assert again.pk == tenant.pk
    assert (Batch.objects.count(), Artifact.objects.count(), Payer.objects.count()) == counts
    assert ServiceDeliveryEvent.objects.filter(tenant=tenant).count() == services_batch.success
