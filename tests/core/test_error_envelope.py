"""Every API error is the JSON envelope with a request id (issue 11, defect 7)."""

import json

import pytest
from django.http import HttpResponse
from django.urls import include, path

from core import scopes as S
from ingestion import selectors as ingestion_selectors
from tests.logcapture import console_output

# Built at run time: the traceback's source lines show the name, never the value.
MEMBER = "M" + "000029"


def boom_view(request):
    raise RuntimeError(f"plain view failed for member {MEMBER}")


def html_view(request):
    return HttpResponse("<h1>teapot</h1>", status=418)


urlpatterns = [
    path("api/boom", boom_view),
    path("api/teapot", html_view),
    path("", include("config.urls")),
]


class BoomMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.endswith("/explode"):
            raise ValueError(f"middleware failed for member {MEMBER}")
        return self.get_response(request)


@pytest.fixture
def log_lines():
    """What the real console handler (formatter and filters from settings) writes."""
    with console_output() as buffer:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line]


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _server_error(response, log_lines) -> dict:
    error = _error(response, 500)
    assert error["code"] == "server_error"
    request_id = response["X-Request-ID"]
    assert error["details"] == {"request_id": request_id}
    failures = [line for line in log_lines() if line["level"] == "ERROR"]
    assert len(failures) == 1, failures
    assert failures[0]["request_id"] == request_id
    assert MEMBER not in json.dumps(failures[0])
    return error


@pytest.mark.parametrize("debug", [True, False])
def test_unhandled_exception_in_an_api_view_is_500_envelope_with_request_id(
    world, monkeypatch, settings, log_lines, debug
):
    # given a selector that fails unexpectedly (debug pages on or off)
    settings.DEBUG = debug

    def fail(*args, **kwargs):
        raise KeyError(MEMBER)

    monkeypatch.setattr(ingestion_selectors, "batch_list", fail)
    # when the list is read / then 500 envelope, and the log line carries the same request id
    _server_error(world.client(S.Role.OWNER).get("/api/batches"), log_lines)


@pytest.mark.urls(__name__)
def test_unhandled_exception_in_a_plain_view_under_api_is_500_envelope(world, log_lines):
    _server_error(world.client(S.Role.OWNER).get("/api/boom"), log_lines)


@pytest.mark.parametrize("debug", [True, False])
def test_unhandled_exception_in_middleware_under_api_is_500_envelope(
    world, settings, log_lines, debug
):
    settings.DEBUG = debug
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.core.test_error_envelope.BoomMiddleware"]
    client = world.client(S.Role.OWNER)
    client.raise_request_exception = False  # a real server answers; the test client re-raises
    _server_error(client.get("/api/batches/explode"), log_lines)


@pytest.mark.urls(__name__)
def test_non_json_error_pages_under_api_become_envelopes(world):
    error = _error(world.client(S.Role.OWNER).get("/api/teapot"), 418)
    assert error["code"] == "error"


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_api_path_is_404_envelope(world, settings, debug):
    settings.DEBUG = debug
    error = _error(world.client(S.Role.OWNER).get("/api/no-such-thing"), 404)
    assert error["code"] == "not_found"


def test_screens_keep_their_html_404(world, settings):
    settings.DEBUG = False
    response = world.client(S.Role.OWNER).get("/no-such-screen/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_oversized_json_body_is_413_envelope(world, settings):
    # given Django's own body limit of 1 kB
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"kind": "SERVICE_DELIVERY", "records": [], "pad": "x" * 4000})
    response = world.client(S.Role.OPERATIONS).post(
        "/api/batches", body, content_type="application/json"
    )
    assert _error(response, 413)["code"] == "too_large"


def test_oversized_body_read_inside_a_view_is_413_envelope(world, settings):
    # given a body that passes the Content-Length check but not Django's (read via request.body)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"kind": "SERVICE_DELIVERY", "records": [], "pad": "x" * 4000})
    response = world.client(S.Role.OPERATIONS).post(
        "/api/batches",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "k1"},
        CONTENT_LENGTH="10",
    )
    assert response.status_code in (400, 413), response.content
    _error(response, response.status_code)


def test_too_many_form_fields_is_413_envelope(world, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = {f"f{i}": "x" for i in range(20)}
    response = world.client(S.Role.OPERATIONS).post(
        "/api/artifacts", {"kind": "SERVICE_DELIVERY", **fields}, format="multipart"
    )
    assert _error(response, 413)["code"] == "too_large"


def test_every_response_carries_a_request_id(world):
    client = world.client(S.Role.OWNER)
    ok = client.get("/api/me")
    assert ok.status_code == 200
    assert len(ok["X-Request-ID"]) == 32
    other = client.get("/api/me")
    assert other["X-Request-ID"] != ok["X-Request-ID"]
    assert client.get("/login/")["X-Request-ID"]


def test_a_sane_incoming_request_id_is_kept_and_an_insane_one_replaced(world, log_lines):
    client = world.client(S.Role.OWNER)
    kept = client.get("/api/no-such-thing", headers={"X-Request-ID": "partner-42.abc"})
    assert kept["X-Request-ID"] == "partner-42.abc"
    assert [line["request_id"] for line in log_lines()] == ["partner-42.abc"]
    replaced = client.get("/api/me", headers={"X-Request-ID": "<script>\n" + "x" * 300})
    assert replaced["X-Request-ID"] != "<script>"
    assert len(replaced["X-Request-ID"]) == 32
