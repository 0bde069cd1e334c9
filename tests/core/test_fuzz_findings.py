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
