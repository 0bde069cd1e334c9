"""API tokens (SPEC 2): hashed at rest, shown once, scoped, expiring, revocable, last use kept."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core import scopes as S
from core.models import ApiToken, AuditEntry, TenantMembership
from core.services import api_token_create, membership_set_role


def _create(world, role: str, scopes: list[str], name: str = "t", **kw):
    return api_token_create(actor=world.actor(role), name=name, scopes=scopes, **kw)


def _assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


# --- shown once, hashed at rest -----------------------------------------------------------------


def test_token_create_returns_raw_key_once(world):
    # given a signed-in owner
    client = world.client(S.Role.OWNER)
    # when they create a token
    response = client.post(
        "/api/tokens", {"name": "loader", "scopes": [S.BILLING_RUN_VIEW]}, format="json"
    )
    # then the response carries the raw key and the token's description
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith(f"hb_{body['prefix']}_")
    assert body["name"] == "loader"
    assert body["scopes"] == [S.BILLING_RUN_VIEW]
    assert body["active"] is True
    assert ApiToken.objects.filter(tenant=world.tenant).count() == 1


def test_token_stored_only_as_sha256(world):
    # given a token just created through the API
    client = world.client(S.Role.OWNER)
    body = client.post(
        "/api/tokens", {"name": "loader", "scopes": [S.BILLING_RUN_VIEW]}, format="json"
    ).json()
    raw = body["key"]
    secret = raw.split("_", 2)[2]
    # when the stored row is read
    token = ApiToken.objects.get(pk=body["id"])
    # then only the sha256 of the key is kept; neither the key nor its secret is in any column
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.key_hash != raw
    for f in ApiToken._meta.concrete_fields:
        value = str(f.value_from_object(token))
        assert raw not in value, f.name
        assert secret not in value, f.name
    # nor in the audit trail
    for entry in AuditEntry.objects.filter(tenant=world.tenant):
        assert secret not in str(entry.payload)


def test_token_list_never_shows_key(world):
    # given a token created through the API
    client = world.client(S.Role.OWNER)
    raw = client.post(
        "/api/tokens", {"name": "loader", "scopes": [S.BILLING_RUN_VIEW]}, format="json"
    ).json()["key"]
    # when the tokens are listed
    response = client.get("/api/tokens")
    # then the token is listed without its key
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["name"] for r in rows] == ["loader"]
    assert "key" not in rows[0]
    assert raw not in response.content.decode()
    assert raw.split("_", 2)[2] not in response.content.decode()


# --- authentication and the scopes in force -----------------------------------------------------


def test_token_authenticates_me_with_its_scopes(world, token_client):
    # given an OWNER's token carrying two scopes
    token, raw = _create(world, S.Role.OWNER, [S.BILLING_RUN_VIEW, S.AUDIT_READ])
    # when it calls GET /api/me
    response = token_client(raw).get("/api/me")
    # then the request is the owner's, in the tenant, with exactly the token's scopes
    assert response.status_code == 200
    me = response.json()
    assert me["user"] == "alpha-owner"
    assert me["tenant"] == "alpha"
    assert me["role"] == "OWNER"
    assert me["token"] == token.prefix
    assert me["scopes"] == sorted([S.BILLING_RUN_VIEW, S.AUDIT_READ])


def test_token_records_last_used_at(world, token_client):
    # given a token never used
    token, raw = _create(world, S.Role.VIEWER, [S.BILLING_RUN_VIEW])
    assert token.last_used_at is None
    before = timezone.now()
    # when it is used
    assert token_client(raw).get("/api/me").status_code == 200
    # then the time of use is recorded
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert before <= token.last_used_at <= timezone.now()


def test_token_create_refuses_scope_creator_lacks(world):
    # given a VIEWER
    client = world.client(S.Role.VIEWER)
    # when they ask for a token that could trigger billing runs
    response = client.post(
        "/api/tokens", {"name": "sneaky", "scopes": [S.BILLING_RUN_TRIGGER]}, format="json"
    )
    # then it is refused as a permission problem naming the scope, and no token exists
    error = _assert_envelope(response, 403, "permission_denied")
    assert S.BILLING_RUN_TRIGGER in error["message"]
    assert not ApiToken.objects.exists()


def test_token_narrow_scope_refused_beyond_it_even_for_owner(world, token_client):
    # given an OWNER's token carrying only billing.run.view
    _, raw = _create(world, S.Role.OWNER, [S.BILLING_RUN_VIEW])
    # when it verifies the audit chain (audit.read, which the owner holds)
    response = token_client(raw).get("/api/audit/verify")
    # then it is refused; the owner's own session is not
    _assert_envelope(response, 403, "permission_denied")
    assert world.client(S.Role.OWNER).get("/api/audit/verify").status_code == 200


def test_token_scopes_narrow_when_owner_is_demoted(world, token_client):
    # given a BILLING_MANAGER's token that can trigger runs and read the audit trail
    bm = world.users[S.Role.BILLING_MANAGER]
    _, raw = _create(world, S.Role.BILLING_MANAGER, [S.BILLING_RUN_TRIGGER, S.BILLING_RUN_VIEW])
    assert token_client(raw).get("/api/me").json()["scopes"] == sorted(
        [S.BILLING_RUN_TRIGGER, S.BILLING_RUN_VIEW]
    )
    # when the manager is made VIEWER
    membership = TenantMembership.objects.get(user=bm, tenant=world.tenant)
    membership_set_role(
        actor=world.actor(S.Role.OWNER), membership_id=membership.pk, role=S.Role.VIEWER
    )
    # then the token keeps only what a VIEWER holds
    assert token_client(raw).get("/api/me").json()["scopes"] == [S.BILLING_RUN_VIEW]


def test_token_cannot_create_another_token(world, token_client):
    # given an OWNER's token holding every scope
    _, raw = _create(world, S.Role.OWNER, list(S.offered_scopes()))
    # when it asks for a new token
    response = token_client(raw).post(
        "/api/tokens", {"name": "child", "scopes": [S.BILLING_RUN_VIEW]}, format="json"
    )
    # then it is refused with the error envelope and no second token exists
    assert response.status_code in (400, 403)
    _assert_envelope(response, response.status_code)
    assert ApiToken.objects.count() == 1


# --- expiry, revocation, bad keys ---------------------------------------------------------------


def test_token_expired_answers_401(world, token_client):
    # given a token that has expired
    token, raw = _create(
        world, S.Role.OWNER, [S.BILLING_RUN_VIEW], expires_at=timezone.now() + timedelta(days=1)
    )
    assert token_client(raw).get("/api/me").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # when it is used / then it is refused with the error envelope
    response = token_client(raw).get("/api/me")
    _assert_envelope(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_create_refuses_expiry_in_past(world):
    # when a token is asked for with an expiry in the past / then it is refused, none is created
    response = world.client(S.Role.OWNER).post(
        "/api/tokens",
        {
            "name": "late",
            "scopes": [S.BILLING_RUN_VIEW],
            "expires_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    error = _assert_envelope(response, 400)
    assert "expires_at" in error["message"]
    assert not ApiToken.objects.exists()


def test_token_revoke_by_owner_then_401(world, token_client):
    # given an OPERATIONS member's working token
    token, raw = _create(world, S.Role.OPERATIONS, [S.BILLING_RUN_VIEW])
    assert token_client(raw).get("/api/me").status_code == 200
    # when its owner revokes it
    response = world.client(S.Role.OPERATIONS).post(f"/api/tokens/{token.pk}/revoke")
    # then it is shown revoked and no longer authenticates
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["revoked_at"]
    _assert_envelope(token_client(raw).get("/api/me"), 401)


def test_token_revoke_by_other_non_manager_refused(world, token_client):
    # given an OPERATIONS member's token
    token, raw = _create(world, S.Role.OPERATIONS, [S.BILLING_RUN_VIEW])
    # when a BILLING_MANAGER (no tenant.manage) revokes it
    response = world.client(S.Role.BILLING_MANAGER).post(f"/api/tokens/{token.pk}/revoke")
    # then it is refused and the token still works
    _assert_envelope(response, 403, "permission_denied")
    token.refresh_from_db()
    assert token.revoked_at is None
    assert token_client(raw).get("/api/me").status_code == 200


def test_token_revoke_by_admin_allowed(world, token_client):
    # given an OPERATIONS member's token
    token, raw = _create(world, S.Role.OPERATIONS, [S.BILLING_RUN_VIEW])
    # when an ADMIN revokes it
    response = world.client(S.Role.ADMIN).post(f"/api/tokens/{token.pk}/revoke")
    # then it is revoked, by the admin, and no longer authenticates
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_by == world.users[S.Role.ADMIN]
    assert token_client(raw).get("/api/me").status_code == 401


def test_token_revoke_twice_conflicts(world):
    # given a revoked token
    token, _ = _create(world, S.Role.OWNER, [S.BILLING_RUN_VIEW])
    client = world.client(S.Role.OWNER)
    assert client.post(f"/api/tokens/{token.pk}/revoke").status_code == 200
    first_revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at
    # when it is revoked again / then 409, and the first revocation time stands
    _assert_envelope(client.post(f"/api/tokens/{token.pk}/revoke"), 409, "conflict")
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first_revoked_at


def test_token_revoke_of_another_tenants_token_not_found(world):
    # given a token of tenant A
    token, raw = _create(world, S.Role.OWNER, [S.BILLING_RUN_VIEW])
    # when tenant B's owner revokes it / then it does not exist for them, and stays active
    _assert_envelope(world.client("outsider").post(f"/api/tokens/{token.pk}/revoke"), 404)
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer {prefix_wrong_secret}",
        "Bearer hb_000000000000_notarealsecret",
        "Bearer garbage",
        "Bearer {raw} extra",
        "Bearer",
    ],
    ids=["right-prefix-wrong-secret", "unknown-prefix", "garbled", "two-parts", "empty"],
)
def test_token_wrong_or_garbled_key_answers_401(world, header):
    # given a real token, and a header that does not carry its exact key
    _, raw = _create(world, S.Role.OWNER, [S.BILLING_RUN_VIEW])
    prefix = raw.split("_")[1]
    value = header.format(prefix_wrong_secret=f"hb_{prefix}_{'x' * 43}", raw=raw)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=value)
    # when it calls the API / then 401 with the error envelope
    _assert_envelope(client.get("/api/me"), 401)
