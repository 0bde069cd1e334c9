"""Batch creation is all or nothing (issue 11, defect 2): a failure while storing the records
never leaves a PENDING batch with nothing to do; at most a FAILED batch saying so."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry
from ingestion import services
from ingestion.models import Batch, BatchRecord
from tests.core.event_helpers import app_callbacks

HEADER = "member_id,payer_code,service_date,service_code"
CSV = f"{HEADER}\nM001,ACME,2025-01-15,99213\nM002,ACME,2025-01-16,99214\n".encode()
RECORDS = [
    {
        "rowNumber": n,
        "data": {
            "MemberId": member,
            "PayerCode": "ACME",
            "ServiceDate": "2025-01-15",
            "ServiceCode": "99213",
        },
    }
    for n, member in ((1, "M001"), (2, "M002"))
]


@pytest.fixture
def ops(world):
    client = world.client(S.Role.OPERATIONS)
    client.raise_request_exception = False  # the partner system sees a 500, not a traceback
    return client


def _broken_insert(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("disk full while storing M001 Lovelace")

    monkeypatch.setattr(services, "insert_rows", refuse)


def _nothing_pending_and_chain_ok(world) -> Batch | None:
    """No PENDING batch without records; at most a FAILED batch with its reason; chain intact."""
    for batch in Batch.objects.all():
        assert batch.status != Batch.Status.PENDING or batch.records.exists(), batch.pk
    assert not BatchRecord.objects.exists()
    assert not AuditEntry.objects.filter(action="BATCH_STARTED").exists()
    assert verify_chain(world.tenant).ok
    failed = Batch.objects.filter(status=Batch.Status.FAILED).first()
    if failed is not None:
        assert "could not be stored" in failed.failure
        assert "M001" not in failed.failure and "Lovelace" not in failed.failure  # no PHI
        actions = AuditEntry.objects.filter(
            object_type="ingestion.Batch", object_id=str(failed.pk)
        ).values_list("action", flat=True)
        assert sorted(actions) == ["BATCH_CREATED", "BATCH_FAILED"]
    return failed


def test_json_records_failure_while_storing_leaves_no_pending_batch(
    facts, ops, monkeypatch, django_capture_on_commit_callbacks
):
    # given storing records fails
    _broken_insert(monkeypatch)
    # when JSON records are posted
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = ops.post(
            "/api/batches", {"kind": "SERVICE_DELIVERY", "records": RECORDS}, format="json"
        )
    # then the client sees a server error, nothing was queued, and no batch waits forever
    assert response.status_code == 500
    assert app_callbacks(callbacks) == []  # only the relay of the batch.failed event
    failed = _nothing_pending_and_chain_ok(facts)
    assert failed is not None and failed.format == Batch.Format.JSON
    # and once storage works again, the same request loads the records
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        again = ops.post(
            "/api/batches", {"kind": "SERVICE_DELIVERY", "records": RECORDS}, format="json"
        )
    assert again.status_code == 201, again.content
    assert ops.get(f"/api/batches/{again.json()['id']}").json()["total"] == 2


def test_upload_failure_while_storing_leaves_no_pending_batch(
    facts, ops, monkeypatch, django_capture_on_commit_callbacks
):
    # given an uploaded file, and storing records fails
    upload = ops.post(
        "/api/artifacts",
        {"kind": "SERVICE_DELIVERY", "file": SimpleUploadedFile("s.csv", CSV, "text/csv")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    _broken_insert(monkeypatch)
    # when its batch is created
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post("/api/batches", {"artifactId": upload.json()["id"]}, format="json")
    # then 500, and at most a FAILED batch for the artifact with the reason
    assert response.status_code == 500
    failed = _nothing_pending_and_chain_ok(facts)
    assert failed is not None and failed.artifact_id == upload.json()["id"]
    assert failed.format == Batch.Format.CSV


def test_upload_screen_failure_while_storing_leaves_no_pending_batch(
    facts, monkeypatch, django_capture_on_commit_callbacks
):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(facts.users[S.Role.OPERATIONS])
    _broken_insert(monkeypatch)
    upload = SimpleUploadedFile("s.csv", CSV, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/ingestion/", {"kind": "SERVICE_DELIVERY", "file": upload})
    assert response.status_code == 500
    assert _nothing_pending_and_chain_ok(facts) is not None


def test_unreadable_file_still_gives_one_failed_batch(facts, ops):
    # given a file without the required columns (refused as a whole)
    upload = ops.post(
        "/api/artifacts",
        {
            "kind": "SERVICE_DELIVERY",
            "file": SimpleUploadedFile("s.csv", b"a,b\n1,2\n", "text/csv"),
        },
        format="multipart",
    )
    response = ops.post("/api/batches", {"artifactId": upload.json()["id"]}, format="json")
    # then the batch is FAILED with what is wrong, created and failed in the audit chain
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "FAILED"
    batch = Batch.objects.get()
    assert batch.failure
    assert verify_chain(facts.tenant).ok
    actions = AuditEntry.objects.filter(
        object_type="ingestion.Batch", object_id=str(batch.pk)
    ).values_list("action", flat=True)
    assert sorted(actions) == ["BATCH_CREATED", "BATCH_FAILED"]


@pytest.mark.postgres
def test_copy_refused_by_postgresql_rolls_back_the_batch(
    facts, ops, monkeypatch, django_capture_on_commit_callbacks
):
    # given the COPY stream carries, after good rows, one row the database refuses (int4 overflow)
    real_insert = services.insert_rows

    def poisoned(model, fields, rows):
        rows = [list(r) for r in rows]
        rows[-1][fields.index("row_number")] = 2**31
        return real_insert(model, fields, rows)

    monkeypatch.setattr(services, "insert_rows", poisoned)
    # when JSON records are posted
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(
            "/api/batches", {"kind": "SERVICE_DELIVERY", "records": RECORDS}, format="json"
        )
    # then PostgreSQL's refusal rolled back the batch, its records and audit entries together
    assert response.status_code == 500
    failed = _nothing_pending_and_chain_ok(facts)
    assert failed is not None
    assert "NumericValueOutOfRange" in failed.failure  # psycopg's own error from COPY
    # and the connection is usable: the next batch loads
    monkeypatch.setattr(services, "insert_rows", real_insert)
    with django_capture_on_commit_callbacks(execute=True):
        again = ops.post(
            "/api/batches", {"kind": "SERVICE_DELIVERY", "records": RECORDS}, format="json"
        )
    assert again.status_code == 201, again.content
    assert BatchRecord.objects.filter(batch_id=again.json()["id"]).count() == 2
