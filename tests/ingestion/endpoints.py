"""Ingestion's API endpoints and screens in the permission matrix (SPEC 2, 8; seed 003)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from ingestion import services
from tests.permissions import Endpoint, register

FILENAME = "alpha-matrix-services.csv"
# the member is unknown to tenant A: the row ends in ERROR
CSV = b"member_id,payer_code,service_date,service_code\nM-MATRIX-1,MATRIX,2026-01-05,99213\n"
ROW = 2  # the header is line 1


def _batch_with_error(world) -> dict:
    """A fresh COMPLETED_WITH_ERRORS batch of tenant A with one ERROR record (row 2)."""
    Payer.objects.get_or_create(tenant=world.tenant, code="MATRIX", defaults={"name": "Matrix"})
    system = Actor.system_for(world.tenant)
    batch = services.batch_ingest_file(
        actor=system, kind="SERVICE_DELIVERY", filename=FILENAME, content=CSV, enqueue=False
    )
    batch = services.batch_run_inline(batch_id=batch.pk)
    assert batch.status == "COMPLETED_WITH_ERRORS", batch.status
    return {"batch": batch.pk, "artifact": batch.artifact_id, "row": ROW}


def _upload(ctx) -> dict:
    return {
        "kind": "SERVICE_DELIVERY",
        "file": SimpleUploadedFile("upload.csv", CSV, content_type="text/csv"),
    }


def _records(ctx) -> dict:
    return {
        "kind": "SERVICE_DELIVERY",
        "records": [
            {
                "rowNumber": 1,
                "data": {
                    "MemberId": "M-MATRIX-2",
                    "PayerCode": "MATRIX",
                    "ServiceDate": "2026-01-06",
                    "ServiceCode": "99213",
                },
            }
        ],
    }


_batch_marker = lambda c: f'"id":{c["batch"]},'  # noqa: E731
_file_marker = lambda c: FILENAME  # noqa: E731
READ, UPDATE = S.INGESTION_READ, S.INGESTION_UPDATE
OK, CREATED, REDIRECT = frozenset({200}), frozenset({201}), frozenset({302})

register(
    # API (seed 003)
    Endpoint(
        "api artifacts list",
        "GET",
        lambda c: "/api/artifacts",
        READ,
        setup=_batch_with_error,
        success=OK,
        marker=_file_marker,
    ),
    Endpoint(
        "api artifact upload",
        "POST",
        lambda c: "/api/artifacts",
        UPDATE,
        data=_upload,
        format="multipart",
        success=CREATED,
    ),
    Endpoint(
        "api artifact detail",
        "GET",
        lambda c: f"/api/artifacts/{c['artifact']}",
        READ,
        setup=_batch_with_error,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api batches list",
        "GET",
        lambda c: "/api/batches",
        READ,
        setup=_batch_with_error,
        success=OK,
        marker=_batch_marker,
    ),
    Endpoint(
        "api batch create",
        "POST",
        lambda c: "/api/batches",
        UPDATE,
        data=_records,
        success=CREATED,
    ),
    Endpoint(
        "api batch detail",
        "GET",
        lambda c: f"/api/batches/{c['batch']}",
        READ,
        setup=_batch_with_error,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api batch error records",
        "GET",
        lambda c: f"/api/batches/{c['batch']}/records?status=ERROR",
        READ,
        setup=_batch_with_error,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api batch record correct",
        "PATCH",
        lambda c: f"/api/batches/{c['batch']}/records/{c['row']}",
        UPDATE,
        setup=_batch_with_error,
        data=lambda c: {"data": {"payer_code": "MATRIX"}},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api batch retry",
        "POST",
        lambda c: f"/api/batches/{c['batch']}/retry",
        UPDATE,
        setup=_batch_with_error,
        success=OK,
        object_of_tenant=True,
    ),
    # staff screens
    Endpoint(
        "screen ingestion",
        "GET",
        lambda c: "/ingestion/",
        READ,
        kind="screen",
        setup=_batch_with_error,
        success=OK,
        marker=_file_marker,
    ),
    Endpoint(
        "screen ingestion rows",
        "GET",
        lambda c: "/ingestion/rows/",
        READ,
        kind="screen",
        setup=_batch_with_error,
        success=OK,
        marker=_file_marker,
    ),
    Endpoint(
        "screen ingestion upload",
        "POST",
        lambda c: "/ingestion/",
        UPDATE,
        kind="screen",
        data=_upload,
        success=REDIRECT,
    ),
    Endpoint(
        "screen batch detail",
        "GET",
        lambda c: f"/ingestion/batches/{c['batch']}/",
        READ,
        kind="screen",
        setup=_batch_with_error,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen batch progress",
        "GET",
        lambda c: f"/ingestion/batches/{c['batch']}/progress/",
        READ,
        kind="screen",
        setup=_batch_with_error,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen batch retry",
        "POST",
        lambda c: f"/ingestion/batches/{c['batch']}/retry/",
        UPDATE,
        kind="screen",
        setup=_batch_with_error,
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen record correct",
        "POST",
        lambda c: f"/ingestion/batches/{c['batch']}/records/{c['row']}/",
        UPDATE,
        kind="screen",
        setup=_batch_with_error,
        data=lambda c: {"payer_code": "MATRIX"},
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen batch list export",
        "GET",
        lambda c: "/ingestion/export.csv?status=COMPLETED_WITH_ERRORS",
        READ,
        kind="screen",
        setup=_batch_with_error,
        success=OK,
        marker=_file_marker,
    ),
    Endpoint(
        "screen kind template csv",
        "GET",
        lambda c: "/ingestion/templates/eligibility.csv",
        READ,
        kind="screen",
        success=OK,
    ),
)
