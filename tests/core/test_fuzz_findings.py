"""What the API fuzz (tests/fuzz) found, each pinned by a plain test: the request, now answered
as the schema says (issue 11, "API fuzzing in CI")."""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from core import scopes as S
from core.api.pagination import CURSOR_PATTERN
from core.models import TenantMembership


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _query_param(schema, path: str, name: str) -> dict:
    return next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name)


# --- member role: a body that is not an object ------------------------------------------------


@pytest.mark.parametrize("body", ["[null, null]", '"OWNER"', "7", "null"])
def test_role_change_with_a_non_object_body_is_400(world, body):
    # given a member / when the role body is JSON but not an object / then 400, not a 500
    member = TenantMembership.objects.filter(tenant=world.tenant).first()
    response = world.client(S.Role.OWNER).post(
        f"/api/tenant/members/{member.pk}/role", body, content_type="application/json"
    )
    _error(response, 400)
    member.refresh_from_db()
    assert member.role != "" and member.role in S.Role.values


def test_role_change_with_an_unknown_role_names_the_field(world):
    member = TenantMembership.objects.filter(tenant=world.tenant).first()
    response = world.client(S.Role.OWNER).post(
        f"/api/tenant/members/{member.pk}/role", {"role": "KING"}, format="json"
    )
    error = _error(response, 400)
    assert "expected one of" in error["details"]["role"][0]


# --- cursors: the schema states their form ----------------------------------------------------


def _pages(client, url: str, key: str = "next") -> list[list[int]]:
    pages = []
    while url:
        body = client.get(url).json()
        pages.append([row["id"] for row in body["results"]])
        url = body[key]
    return pages


def test_issued_cursors_match_the_documented_pattern_and_page_both_ways(world):
    # given more audit entries than one page / when following next, then previous links
    client = world.client(S.Role.OWNER)
    for n in range(5):
        client.post("/api/tokens", {"name": f"t{n}", "scopes": [S.BILLING_RUN_VIEW]}, format="json")
    first = client.get("/api/audit/entries?page_size=2").json()
    forward = _pages(client, "/api/audit/entries?page_size=2")
    seen = [i for page in forward for i in page]
    # then every row once, newest first, and every link carries a cursor of the documented form
    assert len(seen) == len(set(seen)) >= 5 and seen == sorted(seen, reverse=True)
    cursor = re.search(r"cursor=([^&]+)", first["next"])[1]
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == forward[0]
    assert re.fullmatch(CURSOR_PATTERN, re.search(r"cursor=([^&]+)", second["previous"])[1])


@pytest.mark.parametrize("cursor", ["p0", "p999999999999999999", "o5", "r", "p3o2r", "o999999999"])
def test_any_cursor_of_the_documented_form_is_a_page(world, cursor):
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    response = world.client(S.Role.OWNER).get(f"/api/audit/entries?cursor={cursor}")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("cursor", ["", "p", "p-1", "x1", "p1p2", "cD0x", "p1%00", "r" * 2])
def test_cursor_not_of_the_documented_form_is_400(world, cursor):
    assert not re.fullmatch(CURSOR_PATTERN, cursor)
    response = world.client(S.Role.OWNER).get(f"/api/audit/entries?cursor={cursor}")
    assert "cursor" in _error(response, 400)["details"]


def test_schema_states_the_cursor_form(schema):
    cursor = _query_param(schema, "/api/audit/entries", "cursor")
    assert cursor["schema"] == {"type": "string", "pattern": CURSOR_PATTERN}


# --- empty filter values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/audit/entries?since=",
        "/api/audit/entries?until=",
        "/api/audit/entries?phi=",
        "/api/billing/month-closes?status=",
        "/api/billing/month-closes?month=",
        "/api/billing/runs?month=",
        "/api/billing/runs?status=",
        "/api/batches?kind=",
    ],
)
def test_empty_filter_value_is_400_naming_it(world, url):
    # when a filter the schema types (date, enum, month) is sent empty / then 400, not "no filter"
    name = url.split("?")[1].split("=")[0]
    error = _error(world.client(S.Role.OWNER).get(url), 400)
    assert name in error["details"]


def test_free_text_filter_may_be_empty(world):
    response = world.client(S.Role.OWNER).get("/api/audit/entries?action=&since=2026-01-01")
    assert response.status_code == 200


def test_schema_states_the_accepted_months(schema):
    from core.months import month_year_range

    low, high = month_year_range()
    month = _query_param(schema, "/api/billing/runs", "month")["schema"]
    assert re.fullmatch(month["pattern"], f"{low}-01") and re.fullmatch(
        month["pattern"], f"{high}-12"
    )
    for bad in (f"{low - 1}-12", f"{high + 1}-01", f"{low}-00", f"{low}-13", "0000-00"):
        assert not re.fullmatch(month["pattern"], bad)
    body = schema["components"]["schemas"]["MonthCloseCreateRequest"]["properties"]["month"]
    assert body["pattern"] == month["pattern"]


# --- strict JSON types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "P9", "name": "Nine", "active": 0}, "active"),
        ({"code": "P9", "name": "Nine", "active": "true"}, "active"),
        ({"code": "P9", "name": 0}, "name"),
        ({"code": 9, "name": "Nine"}, "code"),
    ],
)
def test_payer_create_refuses_what_is_not_the_schema_type(world, body, field):
    # when a JSON body carries 0/"true" for a boolean or a number for text / then 400 naming it
    from billing.models import Payer

    before = Payer.objects.count()
    error = _error(world.client(S.Role.OWNER).post("/api/billing/payers", body, format="json"), 400)
    assert field in error["details"]
    assert Payer.objects.count() == before


def test_payer_create_takes_json_booleans(world):
    body = {"code": "P9", "name": "Nine", "active": False}
    response = world.client(S.Role.OWNER).post("/api/billing/payers", body, format="json")
    assert response.status_code == 201 and response.json()["active"] is False


def test_query_booleans_still_read_text(world):
    response = world.client(S.Role.OWNER).get("/api/audit/entries?phi=true")
    assert response.status_code == 200


# --- invitations ------------------------------------------------------------------------------


def test_invitation_with_an_empty_email_is_400_naming_it(world):
    from core.models import Invitation

    response = world.client(S.Role.OWNER).post(
        "/api/tenant/invitations", {"email": "", "role": "VIEWER"}, format="json"
    )
    assert "email" in _error(response, 400)["details"]
    assert not Invitation.objects.exists()


def test_invitation_without_an_address_reads_null(world, schema):
    client = world.client(S.Role.OWNER)
    created = client.post("/api/tenant/invitations", {"role": "VIEWER"}, format="json")
    assert created.status_code == 201 and created.json()["email"] is None
    listed = client.get("/api/tenant/invitations").json()["results"]
    assert listed[0]["email"] is None
    email = schema["components"]["schemas"]["Invitation"]["properties"]["email"]
    assert email["nullable"] is True and email["format"] == "email"


# --- what the schema now states ---------------------------------------------------------------


def test_schema_documents_201_on_upload(schema):
    responses = schema["paths"]["/api/artifacts"]["post"]["responses"]
    assert "201" in responses and "200" not in responses


def test_schema_states_body_shapes(schema):
    components = schema["components"]["schemas"]
    token = components["ApiTokenCreateRequest"]["properties"]["scopes"]
    assert token["minItems"] == 1
    assert set(components["ScopesEnum"]["enum"]) == set(S.offered_scopes())
    assert set(components["DualControlScopesEnum"]["enum"]) == set(S.offered_override_scopes())
    payers = components["RunTriggerRequest"]["properties"]["payers"]
    assert {"type": "array", "items": {"type": "string"}, "minItems": 1} in payers["oneOf"]
    assert components["RuleVersionCreateRequest"]["properties"]["params"]["type"] == "object"
    batch = components["BatchCreateRequest"]
    assert batch["properties"]["records"]["minItems"] == 1
    assert batch["anyOf"] == [{"required": ["artifactId"]}, {"required": ["kind", "records"]}]
    upload = components["ArtifactUploadRequest"]["properties"]["file"]
    assert upload["minLength"] == 1
    patch = schema["paths"]["/api/batches/{id}/records/{row}"]["patch"]["requestBody"]
    assert patch["required"] is True


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/tokens", {"name": "t", "scopes": ["no.such.scope"]}, "scopes"),
        ("/api/tokens", {"name": "t", "scopes": []}, "scopes"),
        ("/api/tenant/policy", {"dual_control_scopes": ["00"]}, "dual_control_scopes"),
        ("/api/billing/runs", {"month": "2026-11", "payers": None}, "payers"),
        ("/api/billing/runs", {"month": "2026-11", "payers": []}, "payers"),
        ("/api/batches", {"kind": "ELIGIBILITY", "records": []}, "records"),
        ("/api/batches", {}, "non_field_errors"),
    ],
)
def test_schema_invalid_bodies_are_400_naming_the_field(world, url, body, field):
    response = world.client(S.Role.OWNER).post(url, body, format="json")
    assert field in _error(response, 400)["details"]


def test_a_batch_body_is_required_because_an_artifact_or_records_must_be_given(schema, world):
    # each of artifactId and records is optional, but not both: the schema says a body is needed
    assert schema["paths"]["/api/batches"]["post"]["requestBody"]["required"] is True
    response = world.client(S.Role.OPERATIONS).post("/api/batches")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Give an artifactId, records, or both."


def test_a_text_field_that_may_not_be_blank_states_that_whitespace_alone_is_blank(schema, world):
    # DRF trims with str.strip() before it checks for blank; the pattern names exactly the
    # characters that survive it (the fuzzer sent "\x1e", which an ECMA `\S` lets through)
    replay = schema["components"]["schemas"]["ReplayRequest"]["properties"]["rule_version"]
    pattern = re.compile(replay["pattern"])
    for code in range(0x3001):
        assert (pattern.fullmatch(chr(code)) is None) == chr(code).isspace(), hex(code)
    for blank in ("\x1d", "\x1e"):
        response = world.client(S.Role.OWNER).post(
            "/api/invoicing/calendars", {"name": blank}, format="json"
        )
        assert "name" in _error(response, 400)["details"]
