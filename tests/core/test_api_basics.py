"""API conventions (SPEC 9): error envelope, cursor pagination, filters, X-Tenant, schema, docs."""

import pytest
from rest_framework.test import APIClient

from core import scopes as S
from core.actors import Actor
from core.models import AuditEntry
from core.services import api_token_create, membership_add, user_ensure
from tests.envelope import error_envelope as _error
from tests.fixtures import make_tenant


@pytest.fixture
def many_entries(world):
    """Tenant A's trail grown to a dozen-odd entries of several kinds."""
    owner = world.actor(S.Role.OWNER)
    for i in range(4):
        api_token_create(actor=owner, name=f"t{i}", scopes=[S.BILLING_RUN_VIEW])
    return list(
        AuditEntry.objects.filter(tenant=world.tenant)
        .order_by("-seq")
        .values_list("seq", flat=True)
    )


# --- errors -------------------------------------------------------------------------------------


def test_api_unknown_object_is_404_envelope(world):
    # when an unknown token id is revoked / then 404 with the error envelope
    error = _error(world.client(S.Role.OWNER).post("/api/tokens/999999/revoke"), 404)
    assert error["code"] == "not_found"
    assert "999999" in error["message"]


def test_api_another_tenants_object_is_404_envelope(world):
    # given a token of tenant B
    token, _ = api_token_create(
        actor=Actor(tenant=world.other_tenant, user=world.outsider),
        name="b",
        scopes=[S.BILLING_RUN_VIEW],
    )
    # when tenant A's owner revokes it / then it looks like it does not exist
    error = _error(world.client(S.Role.OWNER).post(f"/api/tokens/{token.pk}/revoke"), 404)
    assert error["code"] == "not_found"


def test_api_unknown_override_request_is_404_envelope(world):
    # when an unknown override request is approved / then 404 with the error envelope
    response = world.client(S.Role.OWNER).post(
        "/api/override-requests/424242/approve", {}, format="json"
    )
    assert _error(response, 404)["code"] == "not_found"


def test_api_validation_error_is_400_naming_field(world):
    # when a token is asked for without a name / then 400 naming the field
    response = world.client(S.Role.OWNER).post(
        "/api/tokens", {"scopes": [S.BILLING_RUN_VIEW]}, format="json"
    )
    error = _error(response, 400)
    assert error["code"] == "invalid"
    assert error["message"].startswith("name")
    assert "name" in error["details"]


def test_api_validation_error_on_wrong_type_names_field(world):
    # when scopes is not a list / then 400 naming scopes
    response = world.client(S.Role.OWNER).post(
        "/api/tokens", {"name": "x", "scopes": "billing.run.view"}, format="json"
    )
    error = _error(response, 400)
    assert "scopes" in error["message"]


def test_api_anonymous_is_401_envelope(world):
    # when an anonymous client asks who it is / then 401 with the envelope
    _error(world.client(None).get("/api/me"), 401)


def test_api_missing_scope_is_403_envelope(world):
    # when a VIEWER reads the audit trail / then 403 naming the scope
    error = _error(world.client(S.Role.VIEWER).get("/api/audit/entries"), 403)
    assert error["code"] == "permission_denied"
    assert S.AUDIT_READ in error["message"]


# --- cursor pagination and filters ----------------------------------------------------------------


def test_audit_entries_cursor_pagination_walks_older_entries(world, many_entries):
    # given a trail of more than a few entries
    client = world.client(S.Role.OWNER)
    assert len(many_entries) > 6
    # when the first page of two is read
    page = client.get("/api/audit/entries", {"page_size": 2}).json()
    # then it holds the two newest, and a cursor to the next
    assert [e["seq"] for e in page["results"]] == many_entries[:2]
    assert page["next"]
    assert page["previous"] is None
    # when the next page is followed
    second = client.get(page["next"]).json()
    # then it holds the next two older ones
    assert [e["seq"] for e in second["results"]] == many_entries[2:4]
    assert second["previous"]


def test_audit_entries_cursor_pagination_covers_all_once(world, many_entries):
    # given a trail / when every page of two is followed to the end
    client = world.client(S.Role.OWNER)
    seen: list[int] = []
    url, params = "/api/audit/entries", {"page_size": 2}
    pages = 0
    while url:
        body = client.get(url, params).json()
        assert len(body["results"]) <= 2
        seen += [e["seq"] for e in body["results"]]
        url, params = body["next"], None
        pages += 1
        assert pages < 100
    # then every entry is seen once, newest to oldest, and only tenant A's
    assert seen == many_entries
    assert len(set(seen)) == len(seen)
    assert pages == (len(many_entries) + 1) // 2


def test_audit_entries_filter_by_action(world, many_entries):
    # when the trail is filtered by action / then only those entries come back
    response = world.client(S.Role.OWNER).get("/api/audit/entries", {"action": "API_TOKEN_CREATED"})
    results = response.json()["results"]
    assert len(results) == 4
    assert {e["action"] for e in results} == {"API_TOKEN_CREATED"}


def test_audit_entries_filter_by_object_type(world, many_entries):
    # when the trail is filtered by object type / then only entries of that type come back
    response = world.client(S.Role.OWNER).get(
        "/api/audit/entries", {"object_type": "core.TenantMembership"}
    )
    results = response.json()["results"]
    assert len(results) == len(S.Role)  # one MEMBERSHIP_ADDED per role
    assert {e["object_type"] for e in results} == {"core.TenantMembership"}
    assert {e["action"] for e in results} == {"MEMBERSHIP_ADDED"}


def test_audit_entries_filter_combined_and_empty(world, many_entries):
    # when filters match nothing / then an empty page
    response = world.client(S.Role.OWNER).get(
        "/api/audit/entries", {"action": "API_TOKEN_CREATED", "object_type": "core.Tenant"}
    )
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_audit_entries_bad_date_filter_is_400(world):
    # when a date filter is not a date / then 400 naming it
    response = world.client(S.Role.OWNER).get("/api/audit/entries", {"since": "yesterday"})
    assert "since" in _error(response, 400)["message"]


def test_audit_entries_never_show_another_tenant(world, many_entries):
    # when tenant B's owner reads their trail / then none of tenant A's entries is there
    results = world.client("outsider").get("/api/audit/entries").json()["results"]
    assert results
    ids = {e["id"] for e in results}
    assert not ids & set(
        AuditEntry.objects.filter(tenant=world.tenant).values_list("id", flat=True)
    )


# --- X-Tenant -------------------------------------------------------------------------------------


@pytest.fixture
def two_tenant_user(world):
    """alpha's OWNER, also a VIEWER of beta."""
    user = world.users[S.Role.OWNER]
    membership_add(actor=Actor.system_for(world.other_tenant), user=user, role=S.Role.VIEWER)
    return user


def test_x_tenant_selects_tenant_for_session_user(world, two_tenant_user):
    client = world.client(S.Role.OWNER)
    # when the header names beta / then the request is in beta with the VIEWER role
    beta = client.get("/api/me", HTTP_X_TENANT="beta").json()
    assert beta["tenant"] == "beta"
    assert beta["role"] == "VIEWER"
    assert beta["scopes"] == sorted(S.ROLE_SCOPES[S.Role.VIEWER])
    # when it names alpha / then the request is in alpha as OWNER
    alpha = client.get("/api/me", HTTP_X_TENANT="alpha").json()
    assert alpha["tenant"] == "alpha"
    assert alpha["role"] == "OWNER"
    # and the scope check follows the header: audit.read in alpha, not in beta
    assert client.get("/api/audit/verify", HTTP_X_TENANT="alpha").status_code == 200
    assert client.get("/api/audit/verify", HTTP_X_TENANT="beta").status_code == 403


def test_x_tenant_of_foreign_tenant_is_403(world, two_tenant_user):
    # given a tenant the user does not belong to
    make_tenant("gamma")
    client = world.client(S.Role.OWNER)
    # when the header names it, or a tenant that does not exist / then 403
    assert _error(client.get("/api/me", HTTP_X_TENANT="gamma"), 403)
    assert _error(client.get("/api/me", HTTP_X_TENANT="nope"), 403)


def test_x_tenant_does_not_widen_a_single_tenant_user(world):
    # given alpha's VIEWER / when naming beta (not theirs) / then 403, and no beta data
    response = world.client(S.Role.VIEWER).get("/api/tokens", HTTP_X_TENANT="beta")
    _error(response, 403)


def test_x_tenant_absent_uses_session_tenant(world):
    # given a user of one tenant / when no header is sent / then their tenant is used
    user = user_ensure(username="solo")
    membership_add(actor=Actor.system_for(world.other_tenant), user=user, role=S.Role.VIEWER)
    client = APIClient()
    client.force_login(user)
    assert client.get("/api/me").json()["tenant"] == "beta"


# --- schema and docs ------------------------------------------------------------------------------


def test_api_schema_is_openapi_document(world):
    # when the schema is fetched as JSON / then it is an OpenAPI document listing core's paths
    response = world.client(None).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "Healthbill API"
    assert "/api/tokens" in doc["paths"]
    assert "/api/audit/entries" in doc["paths"]


def test_api_schema_default_format_is_served(world):
    # when the schema is fetched without a format / then 200 and an openapi document
    response = world.client(None).get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_api_docs_page_renders(world):
    # when the docs page is fetched / then 200 and a Swagger UI pointing at the schema
    response = world.client(None).get("/api/docs/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "swagger" in content.lower()
    assert "/api/schema/" in content
