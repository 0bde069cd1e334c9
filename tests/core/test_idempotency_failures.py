"""`Idempotency-Key` after failures (issue 11, defect 3): a 5xx or an exception releases the key,
so the retry runs; bodies are compared on their canonical JSON."""

import json

from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer

from core import scopes as S
from core.api import views as api_views
from core.models import ApiToken, IdempotencyKey

URL = "/api/tokens"
BODY = {"name": "loader", "scopes": [S.BILLING_RUN_VIEW]}


def _client(world):
    client = world.client(S.Role.OWNER)
    client.raise_request_exception = False  # see the 500 the way a partner system does
    return client


def _post(client, key: str, body: dict | None = None):
    return client.post(URL, body or BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _raw_post(client, key: str, raw: str):
    return client.post(URL, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def _fail_once(monkeypatch, exc: Exception):
    real = api_views.services.api_token_create
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise exc
        return real(**kwargs)

    monkeypatch.setattr(api_views.services, "api_token_create", flaky)


def test_idempotency_retry_after_uncaught_exception_runs_and_is_then_replayed(world, monkeypatch):
    # given token creation fails once with an exception no handler turns into a response
    _fail_once(monkeypatch, RuntimeError("database went away"))
    client = _client(world)
    first = _post(client, "retry-1")
    assert first.status_code == 500
    assert ApiToken.objects.count() == 0
    assert not IdempotencyKey.objects.filter(key="retry-1").exists()
    # when the client retries with the same key and body
    retry = _post(client, "retry-1")
    # then the request runs (201, one token), and a further retry replays it
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    again = _post(client, "retry-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == retry.json()["id"]
    assert ApiToken.objects.count() == 1


def test_idempotency_5xx_response_is_not_stored(world, monkeypatch):
    # given the handler answers a 500 envelope once (an APIException, handled by DRF)
    _fail_once(monkeypatch, exceptions.APIException("temporarily broken"))
    client = _client(world)
    assert _post(client, "retry-5xx").status_code == 500
    # when retried / then it runs and creates the token
    retry = _post(client, "retry-5xx")
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert ApiToken.objects.count() == 1


def test_idempotency_retry_after_corrected_body_is_not_422(world, monkeypatch):
    # given a first attempt that failed with a 500
    _fail_once(monkeypatch, RuntimeError("boom"))
    client = _client(world)
    assert _post(client, "retry-fix").status_code == 500
    # when the client retries the same key with a corrected body
    fixed = _post(client, "retry-fix", {"name": "loader-2", "scopes": [S.BILLING_RUN_VIEW]})
    # then the corrected request runs
    assert fixed.status_code == 201
    assert fixed.json()["name"] == "loader-2"


def test_idempotency_exception_while_rendering_releases_key(world, monkeypatch):
    # given rendering the response fails once
    real_render = JSONRenderer.render
    calls = {"n": 0}

    def flaky_render(self, data, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("cannot render")
        return real_render(self, data, *args, **kwargs)

    monkeypatch.setattr(JSONRenderer, "render", flaky_render)
    client = _client(world)
    raw = json.dumps(BODY)  # sent pre-encoded: the test client must not use the renderer
    assert _raw_post(client, "render-1", raw).status_code == 500
    # when retried / then it runs again (not 409) and is replayed afterwards
    retry = _raw_post(client, "render-1", raw)
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert _raw_post(client, "render-1", raw)["Idempotent-Replayed"] == "true"


def test_idempotency_reordered_keys_and_whitespace_replay(world):
    # given a first request sent compactly
    client = _client(world)
    first = _raw_post(client, "canon-1", json.dumps(BODY, separators=(",", ":")))
    assert first.status_code == 201
    # when the same content is sent with keys reordered and extra whitespace
    scope = S.BILLING_RUN_VIEW
    reordered = '{\n  "scopes" : [ "' + scope + '" ],\n\t"name":   "loader"\n}\n'
    again = _raw_post(client, "canon-1", reordered)
    # then it is a replay of the first response, not a 422
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ApiToken.objects.count() == 1


def test_idempotency_really_different_body_is_still_422(world):
    # given a key used for one body
    client = _client(world)
    assert _raw_post(client, "canon-2", json.dumps(BODY)).status_code == 201
    # when the same key comes with a different value (same keys, same layout)
    other = json.dumps({"name": "loader ", "scopes": [S.BILLING_RUN_VIEW]})
    response = _raw_post(client, "canon-2", other)
    # then 422
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert ApiToken.objects.count() == 1


def test_idempotency_non_json_body_compared_raw(world):
    # given a key used with a body that is not valid JSON (answered 400, stored)
    client = _client(world)
    first = _raw_post(client, "raw-1", '{"name": "x",')
    assert first.status_code == 400
    # when the same key comes with different bytes / then 422; the same bytes replay
    assert _raw_post(client, "raw-1", '{"name":  "x",').status_code == 422
    assert _raw_post(client, "raw-1", '{"name": "x",')["Idempotent-Replayed"] == "true"
