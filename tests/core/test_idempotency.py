"""`Idempotency-Key` on POSTs (SPEC 2), exercised on POST /api/tokens."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core import scopes as S
from core.api import views as api_views
from core.api.idempotency import _request_hash
from core.models import ApiToken, IdempotencyKey, TenantMembership
from core.services import api_token_create, membership_set_role
from core.tasks import purge_idempotency_keys

URL = "/api/tokens"
BODY = {"name": "loader", "scopes": [S.BILLING_RUN_VIEW]}


def _post(client, key: str, body: dict | None = None):
    return client.post(URL, body or BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_idempotency_same_key_same_body_replays_first_response(world):
    # given a first token creation sent with a key
    client = world.client(S.Role.OWNER)
    first = _post(client, "create-loader-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    # when the same request is sent again with the same key
    again = _post(client, "create-loader-1")
    # then the first response comes back, marked as a replay, and only one token exists
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["key"] == first.json()["key"]
    assert again["Idempotent-Replayed"] == "true"
    assert ApiToken.objects.count() == 1


def test_idempotency_without_key_creates_each_time(world):
    # given no Idempotency-Key / when the same body is posted twice / then two tokens exist
    client = world.client(S.Role.OWNER)
    assert client.post(URL, BODY, format="json").status_code == 201
    assert client.post(URL, BODY, format="json").status_code == 201
    assert ApiToken.objects.count() == 2


def test_idempotency_same_key_different_body_is_422(world):
    # given a key already used for one body
    client = world.client(S.Role.OWNER)
    assert _post(client, "k-1").status_code == 201
    # when it is sent with another body
    response = _post(client, "k-1", {"name": "other", "scopes": [S.BILLING_RUN_VIEW]})
    # then 422 says the key was reused, and nothing new is created
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert ApiToken.objects.count() == 1


def test_idempotency_key_in_flight_is_409(world):
    # given a key whose first request is still being processed
    owner = world.users[S.Role.OWNER]
    client = world.client(S.Role.OWNER)
    assert _post(client, "k-busy").status_code == 201
    IdempotencyKey.objects.filter(owner=f"user:{owner.pk}", key="k-busy").update(
        status=IdempotencyKey.Status.IN_FLIGHT, response_status=None, response_body=None
    )
    # when the same request arrives / then 409 asks to retry later, and nothing is created
    response = _post(client, "k-busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_flight"
    assert ApiToken.objects.count() == 1


def test_idempotency_row_in_flight_created_directly_is_409(world):
    # given an in-flight record, made directly, for the owner's key and this very request
    owner = world.users[S.Role.OWNER]
    same_request = Request(APIRequestFactory().post(URL, BODY, format="json"))
    IdempotencyKey.objects.create(
        tenant=world.tenant,
        owner=f"user:{owner.pk}",
        key="k-direct",
        request_hash=_request_hash(same_request),
        status=IdempotencyKey.Status.IN_FLIGHT,
    )
    # when the request with that key arrives / then 409, and no token is created
    response = _post(world.client(S.Role.OWNER), "k-direct")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_flight"
    assert ApiToken.objects.count() == 0


def test_idempotency_keys_are_scoped_per_user(world):
    # given the owner used a key
    first = _post(world.client(S.Role.OWNER), "shared-key")
    assert first.status_code == 201
    # when another user sends the same key and body
    other = _post(world.client(S.Role.ADMIN), "shared-key")
    # then they get their own fresh token
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert other.json()["id"] != first.json()["id"]
    assert other.json()["user"] == "alpha-admin"
    assert ApiToken.objects.count() == 2


def test_idempotency_keys_are_scoped_per_token(world, token_client):
    # given a token that used a key (creating a token with a token is refused; that is stored)
    _, raw = api_token_create(
        actor=world.actor(S.Role.OWNER), name="api", scopes=[S.BILLING_RUN_VIEW]
    )
    by_token = _post(token_client(raw), "same-key")
    assert 400 <= by_token.status_code < 500
    # when the token's owner, in a session, sends the same key and body
    by_session = _post(world.client(S.Role.OWNER), "same-key")
    # then the session's request runs on its own
    assert by_session.status_code == 201
    assert "Idempotent-Replayed" not in by_session
    assert ApiToken.objects.count() == 2


def test_idempotency_key_older_than_24h_is_forgotten(world):
    # given a key used 25 hours ago
    client = world.client(S.Role.OWNER)
    first = _post(client, "old-key")
    IdempotencyKey.objects.filter(key="old-key").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    # when it is sent again with the same body
    again = _post(client, "old-key")
    # then the request runs again: a new token, not a replay
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.json()["id"] != first.json()["id"]
    assert ApiToken.objects.count() == 2


def test_idempotency_key_younger_than_24h_is_kept(world):
    # given a key used 23 hours ago / when sent again / then it is still a replay
    client = world.client(S.Role.OWNER)
    first = _post(client, "recent-key")
    IdempotencyKey.objects.filter(key="recent-key").update(
        created_at=timezone.now() - timedelta(hours=23)
    )
    again = _post(client, "recent-key")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_purge_idempotency_keys_deletes_only_old_keys(world):
    # given one key used 25 hours ago and one just now
    client = world.client(S.Role.OWNER)
    _post(client, "old")
    _post(client, "fresh", {"name": "fresh", "scopes": [S.BILLING_RUN_VIEW]})
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    # when the purge job runs
    deleted = purge_idempotency_keys()
    # then only the old key is gone
    assert deleted == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


def test_idempotency_replays_4xx_first_response(world):
    # given an invalid request (unknown scope) sent with a key
    client = world.client(S.Role.OWNER)
    bad = {"name": "bad", "scopes": ["no.such.scope"]}
    first = _post(client, "bad-key", bad)
    assert first.status_code == 400
    # when it is sent again / then the same 400 comes back as a replay
    again = _post(client, "bad-key", bad)
    assert again.status_code == 400
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ApiToken.objects.count() == 0


def test_idempotency_replays_refusal_even_after_grant(world):
    # given a VIEWER refused a token with billing.run.trigger under a key
    viewer_client = world.client(S.Role.VIEWER)
    body = {"name": "trig", "scopes": [S.BILLING_RUN_TRIGGER]}
    first = _post(viewer_client, "trig-key", body)
    assert first.status_code == 403
    # when the viewer becomes BILLING_MANAGER and resends with the same key
    membership = TenantMembership.objects.get(user=world.users[S.Role.VIEWER], tenant=world.tenant)
    membership_set_role(
        actor=world.actor(S.Role.OWNER), membership_id=membership.pk, role=S.Role.BILLING_MANAGER
    )
    again = _post(viewer_client, "trig-key", body)
    # then the stored refusal is replayed; a new key runs the request afresh
    assert again.status_code == 403
    assert again["Idempotent-Replayed"] == "true"
    assert ApiToken.objects.count() == 0
    assert _post(viewer_client, "trig-key-2", body).status_code == 201


def test_idempotency_key_too_long_is_400(world):
    # when a key longer than 255 characters is sent / then 400, nothing created
    response = _post(world.client(S.Role.OWNER), "k" * 256)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert ApiToken.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_idempotency_concurrent_same_key_second_gets_409(world, monkeypatch):
    # given the view holds the first request inside token creation until released
    entered, release = threading.Event(), threading.Event()
    real_create = api_views.services.api_token_create

    def held_create(**kwargs):
        entered.set()
        assert release.wait(timeout=30), "the test never released the first request"
        return real_create(**kwargs)

    monkeypatch.setattr(api_views.services, "api_token_create", held_create)
    first_client = world.client(S.Role.OWNER)
    second_client = world.client(S.Role.OWNER)
    results: dict[str, object] = {}

    def first_request():
        try:
            results["first"] = _post(first_client, "race-key")
        finally:
            connection.close()

    def second_request():
        try:
            results["second"] = _post(second_client, "race-key")
        finally:
            connection.close()

    # when the first request is in flight and a second one with the same key arrives
    first_thread = threading.Thread(target=first_request)
    first_thread.start()
    try:
        assert entered.wait(timeout=30), "the first request never reached the view"
        second_thread = threading.Thread(target=second_request)
        second_thread.start()
        second_thread.join(timeout=30)
        assert not second_thread.is_alive()
    finally:
        release.set()
        first_thread.join(timeout=30)
    assert not first_thread.is_alive()

    # then the second was told the key is in flight, the first completed
    second, first = results["second"], results["first"]
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_key_in_flight"
    assert first.status_code == 201
    # and a third call replays the first response
    monkeypatch.setattr(api_views.services, "api_token_create", real_create)
    third = _post(world.client(S.Role.OWNER), "race-key")
    assert third.status_code == 201
    assert third["Idempotent-Replayed"] == "true"
    assert third.json()["id"] == first.json()["id"]
    assert ApiToken.objects.count() == 1
