"""Ingestion API (seed 003, SPEC 8): upload, batches, records, correction, retry, limits."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from billing.models import ServiceDeliveryEvent
from core import scopes as S
from core.services import api_token_create
from ingestion.models import Batch, BatchRecord
from tests.envelope import error_envelope as _error

HEADER = "member_id,payer_code,service_date,service_code"


@pytest.fixture
def ops(world):
    return world.client(S.Role.OPERATIONS)


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _upload(client, content: bytes, kind: str = "SERVICE_DELIVERY", name: str = "services.csv"):
    return client.post(
        "/api/artifacts",
        {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/csv")},
        format="multipart",
    )


def _ties_out(b: dict) -> None:
    assert b["total"] == b["processed"] + b["pending"]
    assert b["processed"] == b["success"] + b["error"] + b["skipped"]


def _create(client, capture, body: dict, **headers):
    """POST /api/batches with the on-commit processing run (tasks are synchronous in tests)."""
    with capture(execute=True):
        response = client.post("/api/batches", body, format="json", headers=headers)
    return response


def _service_records(*rows: tuple[int, dict]) -> list[dict]:
    return [{"rowNumber": n, "data": d} for n, d in rows]


def _svc(member: str = "M001", payer: str = "ACME", day: str = "2025-01-15", code: str = "99213"):
    return {"MemberId": member, "PayerCode": payer, "ServiceDate": day, "ServiceCode": code}


# --- upload then batch --------------------------------------------------------------------------


def test_upload_then_batch_processes_and_counters_tie_out(
    facts, ops, django_capture_on_commit_callbacks
):
    # given a CSV uploaded as an artifact: 3 good rows, one unknown payer, one repeat of row 2
    content = _csv(
        "M001,ACME,2025-01-15,99213",
        "M002,ACME,2025-01-16,99214",
        "M003,ACME,2025-01-17,99213",
        "M004,NOPE,2025-01-18,99213",
        "M001,ACME,2025-01-15,99213",
    )
    up = _upload(ops, content)
    assert up.status_code == 201, up.content
    artifact = up.json()
    assert artifact["kind"] == "SERVICE_DELIVERY"
    assert artifact["size"] == len(content)
    assert artifact["filename"] == "services.csv"
    # when a batch is created from it with a key of two fields
    response = _create(
        ops,
        django_capture_on_commit_callbacks,
        {"artifactId": artifact["id"], "idempotencyKeyFields": ["ServiceDate", "MemberId"]},
    )
    # then it is accepted, and once processed its counters tie out
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["artifact"] == artifact["id"]
    assert created["idempotency_key_fields"] == ["service_date", "member_id"]
    batch = ops.get(f"/api/batches/{created['id']}").json()
    assert batch["status"] == "COMPLETED_WITH_ERRORS"
    assert (batch["total"], batch["success"], batch["error"], batch["skipped"]) == (5, 3, 1, 1)
    assert batch["pending"] == 0
    _ties_out(batch)
    assert ServiceDeliveryEvent.objects.filter(batch_id=created["id"]).count() == 3


def test_upload_all_good_rows_completes(facts, ops, django_capture_on_commit_callbacks):
    # given a clean file / when it is uploaded and batched
    artifact = _upload(ops, _csv("M001,ACME,2025-01-15,99213", "M002,ACME,2025-01-15,99213"))
    response = _create(
        ops, django_capture_on_commit_callbacks, {"artifactId": artifact.json()["id"]}
    )
    # then the batch is COMPLETED with every row loaded
    batch = ops.get(f"/api/batches/{response.json()['id']}").json()
    assert batch["status"] == "COMPLETED"
    assert (batch["total"], batch["processed"], batch["success"], batch["error"]) == (2, 2, 2, 0)
    _ties_out(batch)


def test_artifact_list_and_detail(facts, ops):
    # given an uploaded file
    artifact = _upload(ops, _csv("M001,ACME,2025-01-15,99213"), name="jan.csv").json()
    # then it is listed and readable, with its sha256
    listed = ops.get("/api/artifacts").json()["results"]
    assert [a["id"] for a in listed] == [artifact["id"]]
    detail = ops.get(f"/api/artifacts/{artifact['id']}").json()
    assert detail["filename"] == "jan.csv"
    assert len(detail["sha256"]) == 64
    assert detail["uploaded_by"] == "alpha-operations"


# --- JSON records -------------------------------------------------------------------------------


def test_json_records_with_seed_key_fields(facts, ops, django_capture_on_commit_callbacks):
    # given records as in seed 003: rowNumber + data with camelCase column names
    body = {
        "kind": "SERVICE_DELIVERY",
        "records": _service_records((1, _svc("M001")), (2, _svc("M002", day="2025-02-01"))),
        "idempotencyKeyFields": ["ServiceDate", "MemberId"],
    }
    # when the batch is created
    response = _create(ops, django_capture_on_commit_callbacks, body)
    # then the key fields and the data use the column names
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["format"] == "JSON"
    assert created["artifact"] is None
    assert created["idempotency_key_fields"] == ["service_date", "member_id"]
    batch = ops.get(f"/api/batches/{created['id']}").json()
    assert batch["status"] == "COMPLETED"
    assert batch["success"] == 2
    records = ops.get(f"/api/batches/{created['id']}/records").json()["results"]
    assert [r["row_number"] for r in records] == [1, 2]
    assert records[0]["data"] == {
        "member_id": "M001",
        "payer_code": "ACME",
        "service_date": "2025-01-15",
        "service_code": "99213",
    }
    assert {r["status"] for r in records} == {"SUCCESS"}


def test_json_records_resent_are_skipped(facts, ops, django_capture_on_commit_callbacks):
    # given records already loaded under the key (service_date, member_id)
    body = {
        "kind": "SERVICE_DELIVERY",
        "records": _service_records((1, _svc("M001")), (2, _svc("M002"))),
        "idempotencyKeyFields": ["ServiceDate", "MemberId"],
    }
    _create(ops, django_capture_on_commit_callbacks, body)
    # when they are sent again with a different service code (not part of the key)
    body["records"] = _service_records((1, _svc("M001", code="99214")), (2, _svc("M002")))
    again = _create(ops, django_capture_on_commit_callbacks, body).json()
    # then both are SKIPPED and nothing more is loaded
    batch = ops.get(f"/api/batches/{again['id']}").json()
    assert (batch["status"], batch["success"], batch["skipped"]) == ("COMPLETED", 0, 2)
    assert ServiceDeliveryEvent.objects.filter(tenant=facts.tenant).count() == 2


def test_error_records_listed_with_details(facts, ops, django_capture_on_commit_callbacks):
    # given a batch with an unknown payer on row 2 and a bad date on row 3
    body = {
        "kind": "SERVICE_DELIVERY",
        "records": _service_records(
            (1, _svc("M001")), (2, _svc("M002", payer="NOPE")), (3, _svc("M003", day="2025-02-30"))
        ),
    }
    created = _create(ops, django_capture_on_commit_callbacks, body).json()
    # when the ERROR records are asked for
    response = ops.get(f"/api/batches/{created['id']}/records?status=ERROR")
    # then only they come back, each saying row, field and what was expected
    assert response.status_code == 200
    errors = response.json()["results"]
    assert [r["row_number"] for r in errors] == [2, 3]
    assert {r["status"] for r in errors} == {"ERROR"}
    assert errors[0]["error_detail"].startswith("row 2: payer_code: expected a known payer")
    assert "NOPE" in errors[0]["error_detail"]
    assert errors[1]["error_detail"].startswith("row 3: service_date: expected a date YYYY-MM-DD")


def test_correct_then_retry_loads_the_record(facts, ops, django_capture_on_commit_callbacks):
    # given a batch whose row 2 names an unknown payer
    body = {
        "kind": "SERVICE_DELIVERY",
        "records": _service_records((1, _svc("M001")), (2, _svc("M002", payer="NOPE"))),
    }
    batch_id = _create(ops, django_capture_on_commit_callbacks, body).json()["id"]
    # when row 2 is corrected
    fix = ops.patch(
        f"/api/batches/{batch_id}/records/2", {"data": {"PayerCode": "ACME"}}, format="json"
    )
    assert fix.status_code == 200, fix.content
    assert fix.json()["status"] == "ERROR"  # loaded by the next retry
    assert fix.json()["data"]["payer_code"] == "ACME"
    assert "corrected (payer_code)" in fix.json()["error_detail"]
    # and the batch is retried
    with django_capture_on_commit_callbacks(execute=True):
        retry = ops.post(f"/api/batches/{batch_id}/retry")
    # then the record is loaded and the batch is COMPLETED
    assert retry.status_code == 200, retry.content
    batch = ops.get(f"/api/batches/{batch_id}").json()
    assert batch["status"] == "COMPLETED"
    assert (batch["total"], batch["success"], batch["error"]) == (2, 2, 0)
    _ties_out(batch)
    record = BatchRecord.objects.get(batch_id=batch_id, row_number=2)
    assert record.status == "SUCCESS"
    assert ops.get(f"/api/batches/{batch_id}/records?status=ERROR").json()["results"] == []


def test_retry_without_correction_keeps_the_error(facts, ops, django_capture_on_commit_callbacks):
    # given a batch whose row 2 names an unknown payer
    body = {"kind": "SERVICE_DELIVERY", "records": _service_records((2, _svc(payer="NOPE")))}
    batch_id = _create(ops, django_capture_on_commit_callbacks, body).json()["id"]
    # when it is retried as it is
    with django_capture_on_commit_callbacks(execute=True):
        assert ops.post(f"/api/batches/{batch_id}/retry").status_code == 200
    # then the record keeps its error and the counters still tie out
    batch = ops.get(f"/api/batches/{batch_id}").json()
    assert (batch["status"], batch["error"], batch["success"]) == ("COMPLETED_WITH_ERRORS", 1, 0)
    _ties_out(batch)
    assert BatchRecord.objects.get(batch_id=batch_id).error_detail.startswith("row 2: payer_code")


def test_correct_a_record_not_in_error_is_409(facts, ops, django_capture_on_commit_callbacks):
    # given a loaded record / when it is "corrected" / then 409
    body = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc()))}
    batch_id = _create(ops, django_capture_on_commit_callbacks, body).json()["id"]
    response = ops.patch(
        f"/api/batches/{batch_id}/records/1", {"data": {"payer_code": "X"}}, format="json"
    )
    assert _error(response, 409)["code"] == "conflict"


def test_correct_unknown_column_is_400(facts, ops, django_capture_on_commit_callbacks):
    body = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc(payer="NOPE")))}
    batch_id = _create(ops, django_capture_on_commit_callbacks, body).json()["id"]
    response = ops.patch(
        f"/api/batches/{batch_id}/records/1", {"data": {"colour": "blue"}}, format="json"
    )
    error = _error(response, 400)
    assert "colour" in error["message"]


def test_retry_without_errors_is_409(facts, ops, django_capture_on_commit_callbacks):
    # given a batch that completed cleanly
    body = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc()))}
    batch_id = _create(ops, django_capture_on_commit_callbacks, body).json()["id"]
    # when it is retried / then 409 in the error envelope, and nothing changes
    error = _error(ops.post(f"/api/batches/{batch_id}/retry"), 409)
    assert error["code"] in {"conflict", "transition_not_allowed"}
    assert str(batch_id) in error["message"]
    assert Batch.objects.get(pk=batch_id).status == "COMPLETED"


# --- refusals -----------------------------------------------------------------------------------


def test_oversized_upload_is_413(facts, ops, settings):
    # given a 100-byte limit / when a bigger file is uploaded / then 413 and nothing is stored
    settings.INGESTION_MAX_UPLOAD_BYTES = 100
    content = _csv(*["M001,ACME,2025-01-15,99213"] * 10)
    assert len(content) > 100
    error = _error(_upload(ops, content), 413)
    assert error["code"] == "too_large"
    assert error["details"] == {"size": len(content), "limit": 100}
    assert ops.get("/api/artifacts").json()["results"] == []


def test_upload_at_the_limit_is_accepted(facts, ops, settings):
    content = _csv("M001,ACME,2025-01-15,99213")
    settings.INGESTION_MAX_UPLOAD_BYTES = len(content)
    assert _upload(ops, content).status_code == 201


def test_missing_columns_give_a_failed_batch(facts, ops, django_capture_on_commit_callbacks):
    # given a file without the service_date and service_code columns
    artifact = _upload(ops, _csv("M001,ACME", header="member_id,payer_code")).json()
    # when a batch is made of it
    response = _create(ops, django_capture_on_commit_callbacks, {"artifactId": artifact["id"]})
    # then it is created FAILED, naming the missing columns, with no records
    assert response.status_code == 201, response.content
    batch = response.json()
    assert batch["status"] == "FAILED"
    assert "missing required column(s): service_date, service_code" in batch["failure"]
    assert batch["total"] == 0
    assert ops.get(f"/api/batches/{batch['id']}").json()["status"] == "FAILED"


def test_unknown_kind_is_400(facts, ops):
    # when a file or records of an unknown kind are sent / then 400 in the error envelope
    assert _error(_upload(ops, _csv("x"), kind="PIZZA"), 400)["code"] == "invalid"
    body = {"kind": "PIZZA", "records": _service_records((1, _svc()))}
    error = _error(ops.post("/api/batches", body, format="json"), 400)
    assert "kind" in error["message"]
    assert Batch.objects.count() == 0


def test_unknown_key_field_is_400(facts, ops):
    body = {
        "kind": "SERVICE_DELIVERY",
        "records": _service_records((1, _svc())),
        "idempotencyKeyFields": ["ShoeSize"],
    }
    error = _error(ops.post("/api/batches", body, format="json"), 400)
    assert "shoe_size" in error["message"]
    assert Batch.objects.count() == 0


def test_batch_without_artifact_or_records_is_400(facts, ops):
    error = _error(ops.post("/api/batches", {"kind": "SERVICE_DELIVERY"}, format="json"), 400)
    assert "artifactId" in error["message"]


def test_idempotency_key_replays_the_same_batch(facts, ops, django_capture_on_commit_callbacks):
    # given a batch created with an Idempotency-Key
    body = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc()))}
    first = _create(ops, django_capture_on_commit_callbacks, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    # when the same request is sent again
    second = _create(ops, django_capture_on_commit_callbacks, body, **{"Idempotency-Key": "k-1"})
    # then the first response comes back and no second batch exists
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert Batch.objects.filter(tenant=facts.tenant).count() == 1
    # and the same key with another body is refused
    other = {"kind": "SERVICE_DELIVERY", "records": _service_records((2, _svc()))}
    assert _error(
        ops.post("/api/batches", other, format="json", headers={"Idempotency-Key": "k-1"}), 422
    )
    assert Batch.objects.filter(tenant=facts.tenant).count() == 1


def test_another_tenants_batch_is_404(facts, ops, django_capture_on_commit_callbacks):
    # given a batch of tenant A
    body = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc(payer="NOPE")))}
    batch_id = _create(ops, django_capture_on_commit_callbacks, body).json()["id"]
    artifact_id = _upload(ops, _csv("M001,ACME,2025-01-15,99213")).json()["id"]
    beta = facts.client("outsider")
    # when tenant B's owner reaches for it / then it does not exist for them
    assert _error(beta.get(f"/api/batches/{batch_id}"), 404)["code"] == "not_found"
    _error(beta.get(f"/api/batches/{batch_id}/records?status=ERROR"), 404)
    _error(beta.post(f"/api/batches/{batch_id}/retry"), 404)
    _error(
        beta.patch(
            f"/api/batches/{batch_id}/records/1", {"data": {"payer_code": "ACME"}}, format="json"
        ),
        404,
    )
    _error(beta.get(f"/api/artifacts/{artifact_id}"), 404)
    _error(beta.post("/api/batches", {"artifactId": artifact_id}, format="json"), 404)
    assert beta.get("/api/batches").json()["results"] == []
    assert Batch.objects.get(pk=batch_id).status == "COMPLETED_WITH_ERRORS"


def test_read_only_token_cannot_create_batches(facts, token_client):
    # given a token of the owner carrying only ingestion.read
    _, raw = api_token_create(
        actor=facts.actor(S.Role.OWNER), name="reader", scopes=[S.INGESTION_READ]
    )
    client = token_client(raw)
    # then it may list batches but not create one or upload
    assert client.get("/api/batches").status_code == 200
    body = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc()))}
    error = _error(client.post("/api/batches", body, format="json"), 403)
    assert error["code"] == "permission_denied"
    _error(_upload(client, _csv("M001,ACME,2025-01-15,99213")), 403)
    assert Batch.objects.count() == 0


def test_viewer_cannot_retry(facts, django_capture_on_commit_callbacks):
    body = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc(payer="NOPE")))}
    batch_id = _create(
        facts.client(S.Role.OPERATIONS), django_capture_on_commit_callbacks, body
    ).json()["id"]
    _error(facts.client(S.Role.VIEWER).post(f"/api/batches/{batch_id}/retry"), 403)
    assert Batch.objects.get(pk=batch_id).status == "COMPLETED_WITH_ERRORS"


def test_batch_list_filters_by_status(facts, ops, django_capture_on_commit_callbacks):
    good = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc()))}
    bad = {"kind": "SERVICE_DELIVERY", "records": _service_records((1, _svc("M002", payer="X")))}
    ok_id = _create(ops, django_capture_on_commit_callbacks, good).json()["id"]
    bad_id = _create(ops, django_capture_on_commit_callbacks, bad).json()["id"]
    listed = ops.get("/api/batches?status=COMPLETED_WITH_ERRORS").json()["results"]
    assert [b["id"] for b in listed] == [bad_id]
    listed = ops.get("/api/batches?status=completed").json()["results"]
    assert [b["id"] for b in listed] == [ok_id]


# --- invariant ----------------------------------------------------------------------------------

_ROW = st.tuples(
    st.sampled_from(["M001", "M002", "M003", "M999"]),  # M999 is unknown
    st.sampled_from(["ACME", "NOPE"]),
    st.sampled_from(["2025-01-15", "2025-01-16", "2025-02-30", ""]),
)


@hsettings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(_ROW, min_size=1, max_size=12), retry=st.booleans())
def test_counters_always_tie_out(facts, django_capture_on_commit_callbacks, rows, retry):
    # given any mix of good, unknown, bad and repeated rows (and earlier examples' loads)
    ops = facts.client(S.Role.OPERATIONS)
    body = {
        "kind": "SERVICE_DELIVERY",
        "records": _service_records(
            *((i, _svc(m, payer=p, day=d)) for i, (m, p, d) in enumerate(rows, start=1))
        ),
    }
    # when the batch is processed (and maybe retried as it is)
    batch_id = _create(ops, django_capture_on_commit_callbacks, body).json()["id"]
    if retry and Batch.objects.get(pk=batch_id).error:
        with django_capture_on_commit_callbacks(execute=True):
            assert ops.post(f"/api/batches/{batch_id}/retry").status_code == 200
    # then every record is accounted for once
    batch = ops.get(f"/api/batches/{batch_id}").json()
    _ties_out(batch)
    assert batch["total"] == len(rows)
    assert batch["pending"] == 0
    by_status = {
        s: BatchRecord.objects.filter(batch_id=batch_id, status=s).count()
        for s in ("SUCCESS", "ERROR", "SKIPPED", "PENDING")
    }
    assert by_status == {
        "SUCCESS": batch["success"],
        "ERROR": batch["error"],
        "SKIPPED": batch["skipped"],
        "PENDING": 0,
    }
    expected = "COMPLETED_WITH_ERRORS" if batch["error"] else "COMPLETED"
    assert batch["status"] == expected
