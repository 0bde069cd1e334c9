"""Hostile request bodies (issue 11, defects 2 and 6): 400/413 envelopes, never a 500.

Run on SQLite and PostgreSQL alike: both databases must answer the same.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import Payer, RuleVersion
from core import scopes as S
from ingestion.models import Artifact, Batch, BatchRecord
from tests.billing import api_builders as b
from tests.envelope import error_envelope as _error

INT4_MAX = 2**31 - 1


@pytest.fixture
def ops(world):
    return world.client(S.Role.OPERATIONS)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _svc(member="M001", **extra):
    return {
        "MemberId": member,
        "PayerCode": "ACME",
        "ServiceDate": "2025-01-15",
        "ServiceCode": "99213",
        **extra,
    }


def _batch(client, body, capture):
    with capture(execute=True):
        return client.post("/api/batches", body, format="json")


# --- depth and size (defect 6) ------------------------------------------------------------------


def test_deeply_nested_json_is_400_not_500(ops):
    # given a body nested 100 000 levels deep (RecursionError in the stock parser)
    body = '{"kind": "SERVICE_DELIVERY", "records": ' + "[" * 100_000 + "]" * 100_000 + "}"
    # when it is posted / then 400 with a clear message, nothing stored
    error = _error(ops.post("/api/batches", body, content_type="application/json"), 400)
    assert error["code"] == "parse_error"
    assert "nested deeper than 64 levels" in error["message"]
    assert not Batch.objects.exists()


def test_json_one_level_too_deep_is_400_and_the_limit_itself_passes_the_parser(ops):
    def nested(levels: int) -> dict:
        value: dict = {}
        for _ in range(levels):
            value = {"a": value}
        return value

    # body, records, record, then data: 61 wrappers around {} put the innermost at level 65
    too_deep = {"kind": "SERVICE_DELIVERY", "records": [{"rowNumber": 1, "data": nested(61)}]}
    error = _error(ops.post("/api/batches", too_deep, format="json"), 400)
    assert "nested deeper than 64 levels" in error["message"]
    assert "records[0].data" in error["message"]
    # 64 levels are read (and refused further on for other reasons, never as too deep)
    at_limit = {"kind": "SERVICE_DELIVERY", "records": [{"rowNumber": 1, "data": nested(60)}]}
    response = ops.post("/api/batches", at_limit, format="json")
    assert "nested deeper" not in response.content.decode()
    assert response.status_code < 500


def test_json_body_over_the_limit_is_413(ops, settings):
    # given a 2 kB limit on JSON bodies
    settings.API_JSON_MAX_BYTES = 2000
    records = [{"rowNumber": n, "data": _svc()} for n in range(1, 60)]
    # when a larger body is posted / then 413, nothing stored
    error = _error(
        ops.post("/api/batches", {"kind": "SERVICE_DELIVERY", "records": records}, format="json"),
        413,
    )
    assert error["code"] == "too_large"
    assert not Batch.objects.exists()


# --- NUL characters (defect 2) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (
            {
                "kind": "SERVICE_DELIVERY",
                "records": [{"rowNumber": n, "data": _svc(f"M00{n}")} for n in range(1, 4)]
                + [{"rowNumber": 4, "data": _svc(first_name="Ann\u0000e")}],
            },
            "records[3].data.first_name",
        ),
        (
            {"kind": "SERVICE_DELIVERY", "records": [{"rowNumber": 1, "data": {"Mem\u0000": "x"}}]},
            "records[0].data.Mem\\u0000",
        ),
        (
            {
                "kind": "SERVICE_DELIVERY",
                "records": [{"rowNumber": 1, "data": _svc()}],
                "options": {"payer_code": "AC\u0000ME"},
            },
            "options.payer_code",
        ),
        (
            {
                "kind": "SERVICE_DELIVERY",
                "records": [{"rowNumber": 1, "data": _svc(codes=["a", "b\u0000"])}],
            },
            "records[0].data.codes[1]",
        ),
        ({"kind": "SERVICE\u0000DELIVERY", "records": []}, "kind"),
    ],
)
def test_nul_anywhere_in_a_json_body_is_400_naming_the_field(ops, body, path):
    # when a body holds a NUL character / then 400 naming its path, and nothing is stored
    error = _error(ops.post("/api/batches", body, format="json"), 400)
    assert error["code"] == "invalid"
    assert path in error["details"], error
    assert error["message"].startswith(path)
    assert "NUL" in error["message"]
    assert not Batch.objects.exists()
    assert not BatchRecord.objects.exists()


def test_lone_surrogate_in_json_is_400(ops):
    body = '{"kind": "SERVICE_DELIVERY", "records": [{"rowNumber": 1, "data": {"x": "\\ud800"}}]}'
    error = _error(ops.post("/api/batches", body, content_type="application/json"), 400)
    assert "records[0].data.x" in error["details"]
    assert not Batch.objects.exists()


def test_nul_in_a_record_patch_is_400_and_the_record_is_unchanged(
    world, ops, django_capture_on_commit_callbacks
):
    # given a batch whose row 1 failed (unknown payer)
    body = {"kind": "SERVICE_DELIVERY", "records": [{"rowNumber": 1, "data": _svc()}]}
    batch_id = _batch(ops, body, django_capture_on_commit_callbacks).json()["id"]
    before = BatchRecord.objects.get(batch_id=batch_id, row_number=1).data
    # when its correction holds a NUL / then 400 naming data.PayerCode, record unchanged
    response = ops.patch(
        f"/api/batches/{batch_id}/records/1", {"data": {"PayerCode": "AC\u0000ME"}}, format="json"
    )
    error = _error(response, 400)
    assert "data.PayerCode" in error["details"]
    assert BatchRecord.objects.get(batch_id=batch_id, row_number=1).data == before


def test_nul_in_rule_version_service_codes_is_400(world):
    # given a payer and a billing manager
    payer = b.payer(world.tenant)
    params = b.params()
    params["service_codes"] = ["99213", "992\u000014"]
    # when a version is created with a NUL in a service code / then 400, nothing stored
    response = world.client(S.Role.BILLING_MANAGER).post(
        "/api/billing/rule-versions",
        {"payer": payer.code, "version": "v1", "effective_from": "2025-01-01", "params": params},
        format="json",
    )
    error = _error(response, 400)
    assert "params.service_codes[1]" in error["details"]
    assert not RuleVersion.objects.exists()


def test_nul_in_a_query_parameter_is_400_naming_it(ops):
    error = _error(ops.get("/api/batches?status=PEND%00ING"), 400)
    assert error["code"] == "invalid"
    assert "status" in error["details"]
    assert "status" in error["message"]


def test_nul_in_a_form_field_is_400_naming_it(ops):
    # when an upload's kind holds a NUL / then 400 naming the field, no artifact stored
    upload = SimpleUploadedFile("s.csv", b"member_id\nM001\n", content_type="text/csv")
    response = ops.post(
        "/api/artifacts", {"kind": "SERVICE\u0000DELIVERY", "file": upload}, format="multipart"
    )
    error = _error(response, 400)
    assert "kind" in error["details"]
    assert not Artifact.objects.exists()


def test_nul_in_a_form_encoded_body_is_400(world):
    client = world.client(S.Role.OWNER)
    response = client.post(
        "/api/billing/payers",
        "code=AC%00ME&name=Acme",
        content_type="application/x-www-form-urlencoded",
    )
    error = _error(response, 400)
    assert "code" in error["details"]
    assert not Payer.objects.exists()


# --- integers against their column's range (defect 2) -------------------------------------------


def test_row_number_above_int4_is_400_naming_the_field(ops):
    body = {"kind": "SERVICE_DELIVERY", "records": [{"rowNumber": INT4_MAX + 1, "data": _svc()}]}
    error = _error(ops.post("/api/batches", body, format="json"), 400)
    assert "records" in error["details"]
    assert "rowNumber" in error["message"]
    assert str(INT4_MAX) in error["message"]
    assert not Batch.objects.exists()


def test_row_number_at_int4_max_is_stored(ops, django_capture_on_commit_callbacks):
    body = {"kind": "SERVICE_DELIVERY", "records": [{"rowNumber": INT4_MAX, "data": _svc()}]}
    response = _batch(ops, body, django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.content
    assert BatchRecord.objects.get().row_number == INT4_MAX


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/batches", {"artifactId": 2**63}, "artifactId"),
        (
            "/api/billing/month-closes",
            {"payer": "ACME", "month": "2025-01", "run": 2**63},
            "run",
        ),
        (
            "/api/billing/month-closes",
            {"payer": "ACME", "month": "2025-01", "confirm_open_exceptions": 2**70},
            "confirm_open_exceptions",
        ),
        ("/api/billing/runs/{run}/exceptions/resolve", {"ids": [2**64], "resolution": "x"}, "ids"),
    ],
)
def test_ids_and_counts_beyond_int8_are_400(world, url, body, field):
    if "{run}" in url:
        url = url.format(run=b.run_with_exception(world.tenant)[0].pk)
    error = _error(world.client(S.Role.OWNER).post(url, body, format="json"), 400)
    assert field in error["details"], error


def test_compare_with_beyond_int8_is_refused_not_500(world):
    run, _ = b.run_with_exception(world.tenant)
    client = world.client(S.Role.OWNER)
    for url in (
        f"/api/billing/runs/{run.pk}/compare",
        f"/api/billing/runs/{run.pk}/compare/changes",
    ):
        response = client.get(f"{url}?with={2**63}")
        assert response.status_code in (400, 404), response.content
        assert "with" in _error(response, response.status_code)["message"]


# --- media types -------------------------------------------------------------------------------


def test_an_upload_in_a_media_type_no_parser_takes_is_a_documented_415(ops):
    # given an upload whose body is not multipart (the API fuzzer sent one with no type)
    for content_type in ("text/plain", "application/octet-stream"):
        response = ops.post("/api/artifacts", b"kind=MEMBERS", content_type=content_type)
        # then the envelope says the media type was not taken, and nothing is stored
        assert _error(response, 415)["code"] == "unsupported_media_type"
    assert not Artifact.objects.exists()
    # and the schema documents that answer, as a client generated from it expects
    schema = ops.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "415" in schema["paths"]["/api/artifacts"]["post"]["responses"]


def test_a_batch_sent_as_plain_text_is_415(ops):
    response = ops.post("/api/batches", "kind=SERVICE_DELIVERY", content_type="text/plain")
    assert _error(response, 415)["code"] == "unsupported_media_type"
    assert not Batch.objects.exists()
