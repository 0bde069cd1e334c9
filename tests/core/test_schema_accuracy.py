"""The OpenAPI schema says exactly what the API answers (issue 11, defect 8)."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from core import scopes as S

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _component(schema, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


# --- nullable fields -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("Run", "triggered_by"),
        ("Artifact", "uploaded_by"),
        ("Batch", "created_by"),
        ("Override", "approved_by"),
        ("Exception", "resolved_by"),
    ],
)
def test_schema_marks_optional_people_nullable(schema, component, field):
    # given fields that hold no user for system actions / then the schema allows null
    properties = schema["components"]["schemas"][component]["properties"]
    assert properties[field].get("nullable") is True


# --- error responses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/me", "get", {"400", "401", "403", "429", "500"}),
        (
            "/api/billing/runs",
            "post",
            {"400", "401", "403", "409", "413", "415", "422", "429", "500"},
        ),
        ("/api/billing/runs/{id}", "get", {"400", "401", "403", "404"}),
        ("/api/batches/{id}/records/{row}", "patch", {"400", "401", "403", "404", "409", "413"}),
        ("/api/billing/runs/{id}/roster.csv", "get", {"401", "403", "404", "409"}),
    ],
)
def test_schema_documents_error_envelopes(schema, path, method, codes):
    # when the schema of an operation is read / then its error statuses carry the envelope
    responses = schema["paths"][path][method]["responses"]
    assert codes <= set(responses)
    for code in codes:
        assert responses[code]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF
    error = _component(schema, ERROR_REF)["properties"]["error"]
    assert set(_component(schema, error["$ref"])["required"]) == {"code", "message", "details"}


def test_schema_documents_idempotency_key_on_posts(schema):
    params = schema["paths"]["/api/billing/runs"]["post"]["parameters"]
    header = next(p for p in params if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    assert header["schema"]["maxLength"] == 255


# --- upload kinds ----------------------------------------------------------------------------


def _request_kind_enum(schema, path: str, media: str) -> list[str]:
    body = schema["paths"][path]["post"]["requestBody"]["content"][media]["schema"]
    kind = _component(schema, body["$ref"])["properties"]["kind"]
    return _component(schema, kind["$ref"])["enum"]


def _unloadable_kinds() -> list[str]:
    from ingestion.models import Kind
    from ingestion.registry import handlers

    loadable = {h.kind for h in handlers()}
    return [k for k in Kind.values if k not in loadable]


def test_schema_upload_kinds_are_the_loadable_ones(schema):
    # given kinds without a loader / then uploads and batches offer only the loadable ones
    from ingestion.registry import handlers

    for path, media in (
        ("/api/artifacts", "multipart/form-data"),
        ("/api/batches", "application/json"),
    ):
        kinds = _request_kind_enum(schema, path, media)
        assert not set(_unloadable_kinds()) & set(kinds)
        assert set(kinds) == {h.kind for h in handlers()}
        assert {"ELIGIBILITY", "SERVICE_DELIVERY", "REMITTANCE"} <= set(kinds)


def test_upload_of_a_kind_without_loader_is_refused_naming_kind(world):
    client = world.client(S.Role.OWNER)
    kind = (_unloadable_kinds() or ["NOT_A_KIND"])[0]
    response = client.post(
        "/api/batches",
        {"kind": kind, "records": [{"rowNumber": 1, "data": {}}]},
        format="json",
    )
    assert "kind" in _error(response, 400)["details"]


# --- strict filters and paging ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/batches?status=BOGUS",
        "/api/batches?kind=BOGUS",
        "/api/billing/runs?status=BOGUS",
        "/api/billing/runs?mode=BOGUS",
        "/api/override-requests?status=BOGUS",
    ],
)
def test_unknown_filter_value_is_400_naming_it(world, url):
    # when a list is filtered by a value the schema does not list / then 400 naming the parameter
    name = url.split("?")[1].split("=")[0]
    error = _error(world.client(S.Role.OWNER).get(url), 400)
    assert name in error["details"]


def test_known_filter_value_still_filters(world):
    response = world.client(S.Role.OWNER).get("/api/override-requests?status=PENDING")
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["null", "0", "-1", "abc", "1001", "1.5", "", "٣"])
def test_bad_page_size_is_400(world, value):
    error = _error(world.client(S.Role.OWNER).get(f"/api/tokens?page_size={value}"), 400)
    assert "page_size" in error["details"]


def test_page_size_within_range_pages(world):
    response = world.client(S.Role.OWNER).get("/api/audit/entries?page_size=1000")
    assert response.status_code == 200


def test_schema_bounds_page_size(schema):
    params = schema["paths"]["/api/tokens"]["get"]["parameters"]
    page_size = next(p for p in params if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}


@pytest.mark.parametrize("cursor", ["%%%not-base64", "cj14", "cD1hYmM%3D"])
def test_malformed_cursor_is_400(world, cursor):
    # "cj14" is base64 of "r=x"; "cD1hYmM=" is "p=abc": a position that is no sequence number
    error = _error(world.client(S.Role.OWNER).get(f"/api/audit/entries?cursor={cursor}"), 400)
    assert "cursor" in error["details"]
