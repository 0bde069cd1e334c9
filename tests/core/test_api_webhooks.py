"""Webhook endpoints and deliveries through the API: CRUD, the secret shown once, safe URLs,
test sends and replays against a loopback receiver, other tenants' ids answering 404."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from django.utils import timezone

from core import events as E
from core import scopes as S
from core.models import AuditEntry, WebhookDelivery, WebhookEndpoint
from core.webhooks import deliveries_create, webhook_dispatch
from tests.core.event_types_fixture import OTHER, THING, catalogue  # noqa: F401 (fixture)
from tests.core.webhook_receiver import Receiver
from tests.envelope import error_envelope

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]

PARTNER = "https://hooks.partner.example/in"
PUBLIC_IP = "93.184.216.34"


@pytest.fixture
def dns(monkeypatch):
    """A controlled resolver: host name -> addresses (anything else does not resolve)."""
    table = {"hooks.partner.example": [PUBLIC_IP], "other.partner.example": [PUBLIC_IP]}

    def host_addresses(host, port):
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            return [ipaddress.ip_address(a) for a in table.get(host, [])]

    monkeypatch.setattr("core.webhooks.safety.host_addresses", host_addresses)
    return table


@pytest.fixture
def receivers():
    """Loopback receivers started on demand (`receivers(status=500)`), stopped afterwards."""
    started: list[Receiver] = []

    def build(**options) -> Receiver:
        started.append(Receiver(**options).start())
        return started[-1]

    yield build
    for rx in started:
        rx.stop()


@pytest.fixture
def owner(world):
    return world.client(S.Role.OWNER)


def create(client, url=PARTNER, **body):
    response = client.post("/api/webhooks/endpoints", {"url": url, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_returns_the_secret_once_and_reads_never_show_it(world, owner, dns):
    body = create(owner, event_types=[THING], description="ERP")
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert body["url"] == PARTNER
    assert body["event_types"] == [THING]
    assert body["description"] == "ERP"
    assert body["active"] is True
    assert body["created_by"] == "alpha-owner"
    assert body["previous_secret_valid_until"] is None
    assert WebhookEndpoint.objects.get(pk=body["id"]).secret == secret

    listed = owner.get("/api/webhooks/endpoints")
    one = owner.get(f"/api/webhooks/endpoints/{body['id']}")
    assert [e["id"] for e in listed.json()["results"]] == [body["id"]]
    assert listed.json()["results"][0]["pending_count"] == 0
    for response in (listed, one):
        assert response.status_code == 200
        assert "secret" not in response.json()
        assert secret not in response.content.decode()
        assert secret.removeprefix("whsec_") not in response.content.decode()
    assert AuditEntry.objects.filter(action="WebhookEndpoint.create").count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.partner.example/in",  # plain http
        "https://10.1.2.3/in",  # private
        "https://127.0.0.1/in",  # loopback
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[fd00::1]/in",  # IPv6 unique local
        "https://[::ffff:10.0.0.1]/in",  # IPv4-mapped private
        "https://inside.partner.example/in",  # a name that resolves to loopback
        "https://nowhere.partner.example/in",  # does not resolve
        "ftp://hooks.partner.example/in",
    ],
)
def test_unsafe_urls_answer_400_naming_url(world, owner, dns, url):
    dns["inside.partner.example"] = ["127.0.0.1"]
    response = owner.post("/api/webhooks/endpoints", {"url": url}, format="json")
    err = error_envelope(response, 400)
    assert err["code"] == "unsafe_url"
    assert err["details"] == {"field": "url"}
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_to_loopback_only_with_debug(world, owner, settings):
    settings.DEBUG = False
    err = error_envelope(
        owner.post("/api/webhooks/endpoints", {"url": "http://127.0.0.1:8099/hook"}, format="json"),
        400,
    )
    assert err["details"] == {"field": "url"}
    settings.DEBUG = True
    assert create(owner, "http://127.0.0.1:8099/hook")["url"] == "http://127.0.0.1:8099/hook"


def test_unknown_event_type_or_field_answers_400_naming_it(world, owner, dns):
    err = error_envelope(
        owner.post(
            "/api/webhooks/endpoints",
            {"url": PARTNER, "event_types": [THING, "billing.nope"]},
            format="json",
        ),
        400,
    )
    assert list(err["details"]) == ["event_types"]
    assert "billing.nope" in err["message"]
    err = error_envelope(
        owner.post("/api/webhooks/endpoints", {"url": PARTNER, "secret": "x"}, format="json"),
        400,
    )
    assert list(err["details"]) == ["secret"]
    err = error_envelope(owner.post("/api/webhooks/endpoints", {}, format="json"), 400)
    assert list(err["details"]) == ["url"]
    assert not WebhookEndpoint.objects.exists()


def test_patch_changes_only_what_is_sent_and_rechecks_the_url(world, owner, dns):
    ep = create(owner, event_types=[THING], description="ERP")
    url = f"/api/webhooks/endpoints/{ep['id']}"
    body = owner.patch(url, {"event_types": [THING, OTHER]}, format="json").json()
    assert (body["url"], body["event_types"], body["description"]) == (
        PARTNER,
        [THING, OTHER],
        "ERP",
    )
    body = owner.patch(url, {"url": "https://other.partner.example/x"}, format="json").json()
    assert body["url"] == "https://other.partner.example/x"
    assert "secret" not in body

    err = error_envelope(owner.patch(url, {"url": "https://10.0.0.1/x"}, format="json"), 400)
    assert err["details"] == {"field": "url"}
    err = error_envelope(owner.patch(url, {"active": False}, format="json"), 400)
    assert list(err["details"]) == ["active"]
    assert owner.get(url).json()["url"] == "https://other.partner.example/x"


def test_delete_removes_the_endpoint(world, owner, dns):
    ep = create(owner)
    url = f"/api/webhooks/endpoints/{ep['id']}"
    response = owner.delete(url)
    assert response.status_code == 204
    error_envelope(owner.get(url), 404)
    error_envelope(owner.delete(url), 404)
    assert AuditEntry.objects.filter(action="WebhookEndpoint.delete").count() == 1


def test_rotate_shows_the_new_secret_once_and_the_old_one_signs_for_24h(world, owner, dns):
    ep = create(owner)
    before = timezone.now()
    response = owner.post(f"/api/webhooks/endpoints/{ep['id']}/rotate-secret")
    assert response.status_code == 200
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != ep["secret"]
    valid_until = timezone.datetime.fromisoformat(body["previous_secret_valid_until"])
    assert before + timedelta(hours=24) <= valid_until <= timezone.now() + timedelta(hours=24)
    stored = WebhookEndpoint.objects.get(pk=ep["id"])
    assert (stored.secret, stored.previous_secret) == (body["secret"], ep["secret"])
    text = owner.get(f"/api/webhooks/endpoints/{ep['id']}").content.decode()
    assert body["secret"] not in text and ep["secret"] not in text


def test_disable_with_a_reason_then_enable(world, owner, dns):
    ep = create(owner)
    base = f"/api/webhooks/endpoints/{ep['id']}"
    body = owner.post(f"{base}/disable", {"reason": "partner maintenance"}, format="json").json()
    assert (body["active"], body["disabled_reason"]) == (False, "partner maintenance")
    assert body["disabled_at"] is not None
    body = owner.post(f"{base}/enable").json()
    assert (body["active"], body["disabled_reason"], body["disabled_at"]) == (True, "", None)
    # no body: the reason is optional
    assert owner.post(f"{base}/disable").json()["active"] is False
    err = error_envelope(owner.post(f"{base}/disable", {"why": "x"}, format="json"), 400)
    assert list(err["details"]) == ["why"]


def test_send_test_event_answers_the_delivery_with_its_attempt(world, owner, settings, receivers):
    settings.DEBUG = True
    rx = receivers(body=b"thanks")
    ep = create(owner, rx.url)
    response = owner.post(f"/api/webhooks/endpoints/{ep['id']}/test")
    assert response.status_code == 201, response.content
    delivery = response.json()
    assert delivery["kind"] == "TEST"
    assert delivery["event_type"] == "webhook.test"
    assert delivery["status"] == "DELIVERED"
    assert delivery["attempt_count"] == 1
    assert delivery["requested_by"] == "alpha-owner"
    [attempt] = delivery["attempts"]
    assert attempt["number"] == 1
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == "thanks"
    assert attempt["succeeded"] is True and attempt["error"] == ""
    [received] = rx.verify(ep["secret"])  # signed: standardwebhooks verifies it
    assert received["type"] == "webhook.test"
    assert rx.requests[0].headers["webhook-id"] == delivery["message_id"]

    listed = owner.get(f"/api/webhooks/endpoints/{ep['id']}/deliveries").json()["results"]
    assert [d["id"] for d in listed] == [delivery["id"]]
    assert "attempts" not in listed[0]
    assert owner.get(f"/api/webhooks/deliveries/{delivery['id']}").json() == delivery


def test_a_failed_test_send_is_logged_with_the_response(world, owner, settings, receivers):
    settings.DEBUG = True
    rx = receivers(status=503, body=b"x" * 5000)
    ep = create(owner, rx.url)
    delivery = owner.post(f"/api/webhooks/endpoints/{ep['id']}/test").json()
    assert delivery["status"] == "FAILED"
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 503 and attempt["succeeded"] is False
    assert len(attempt["response_excerpt"]) == 1024


def test_deliveries_filter_by_status(world, owner, settings, receivers):
    settings.DEBUG = True
    ok, broken = receivers(), receivers(status=500)
    ep = create(owner, ok.url)
    base = f"/api/webhooks/endpoints/{ep['id']}"
    good = owner.post(f"{base}/test").json()
    owner.patch(base, {"url": broken.url}, format="json")
    bad = owner.post(f"{base}/test").json()

    def ids(query=""):
        response = owner.get(f"{base}/deliveries{query}")
        assert response.status_code == 200, response.content
        return [d["id"] for d in response.json()["results"]]

    assert ids() == [bad["id"], good["id"]]  # newest first
    assert ids("?status=DELIVERED") == [good["id"]]
    assert ids("?status=failed") == [bad["id"]]
    assert ids("?status=PENDING") == []
    err = error_envelope(owner.get(f"{base}/deliveries?status=LOST"), 400)
    assert list(err["details"]) == ["status"]


def test_replay_queues_the_same_message_again(
    world, owner, settings, receivers, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    rx = receivers()
    ep = create(owner, rx.url, event_types=[THING])
    event = E.event_emit(tenant=world.tenant, type=THING, object_id=7, payload={"thing_id": 7})
    deliveries_create([event])  # what the relay does after commit
    assert webhook_dispatch(ep["id"]) == 1
    [original] = owner.get(f"/api/webhooks/endpoints/{ep['id']}/deliveries").json()["results"]
    assert (original["status"], original["event_sequence"]) == ("DELIVERED", event.sequence)
    assert original["message_id"] == event.message_id

    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(f"/api/webhooks/deliveries/{original['id']}/replay")
    assert response.status_code == 201, response.content
    replay = response.json()
    assert replay["kind"] == "REPLAY"
    assert (replay["message_id"], replay["event_sequence"]) == (event.message_id, event.sequence)
    assert owner.get(f"/api/webhooks/deliveries/{replay['id']}").json()["status"] == "DELIVERED"
    # the receiver got the event twice, under the same webhook-id (consumers deduplicate on it)
    assert [r.headers["webhook-id"] for r in rx.requests] == [event.message_id] * 2
    assert [b["sequence"] for b in rx.verify(ep["secret"])] == [event.sequence] * 2


def test_replay_to_a_disabled_endpoint_answers_409(world, owner, settings, receivers):
    settings.DEBUG = True
    ep = create(owner, receivers().url)
    delivery = owner.post(f"/api/webhooks/endpoints/{ep['id']}/test").json()
    owner.post(f"/api/webhooks/endpoints/{ep['id']}/disable")
    err = error_envelope(owner.post(f"/api/webhooks/deliveries/{delivery['id']}/replay"), 409)
    assert err["code"] == "endpoint_inactive"
    assert WebhookDelivery.objects.count() == 1


def test_another_tenants_endpoints_and_deliveries_answer_404(world, owner, settings, receivers):
    settings.DEBUG = True
    ep = create(owner, receivers().url)
    delivery = owner.post(f"/api/webhooks/endpoints/{ep['id']}/test").json()
    beta = world.client("outsider")
    base = f"/api/webhooks/endpoints/{ep['id']}"
    for method, url in [
        ("get", base),
        ("patch", base),
        ("delete", base),
        ("post", f"{base}/rotate-secret"),
        ("post", f"{base}/enable"),
        ("post", f"{base}/disable"),
        ("post", f"{base}/test"),
        ("get", f"{base}/deliveries"),
        ("get", f"/api/webhooks/deliveries/{delivery['id']}"),
        ("post", f"/api/webhooks/deliveries/{delivery['id']}/replay"),
    ]:
        response = getattr(beta, method)(url, {}, format="json")
        error_envelope(response, 404)
    assert beta.get("/api/webhooks/endpoints").json()["results"] == []
    stored = WebhookEndpoint.objects.get(pk=ep["id"])
    assert (stored.active, stored.secret) == (True, ep["secret"])
    assert WebhookDelivery.objects.count() == 1


def test_managing_webhooks_needs_tenant_manage(world, dns):
    without = [r for r in S.Role if S.TENANT_MANAGE not in S.scopes_for_role(r)]
    assert S.Role.VIEWER in without
    for role in without:
        client = world.client(role)
        err = error_envelope(client.get("/api/webhooks/endpoints"), 403)
        assert "tenant.manage" in err["message"]
        error_envelope(client.post("/api/webhooks/endpoints", {"url": PARTNER}, format="json"), 403)
    assert not WebhookEndpoint.objects.exists()


def test_readme_api_routes_resolve():
    import re
    from pathlib import Path

    from django.urls import Resolver404, resolve

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("\n### Events and webhooks: API\n")
    end = readme.index("\n##", start + 1)
    paths = set(re.findall(r"(?<![\w.])/api/[\w/{}-]+", readme[start:end]))
    assert {"/api/events", "/api/webhooks/deliveries/{id}/replay"} <= paths
    for path in paths:
        try:
            resolve(re.sub(r"\{\w+\}", "1", path))
        except Resolver404:
            raise AssertionError(f"{path} does not resolve") from None
