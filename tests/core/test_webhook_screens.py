"""The webhook screens: add an endpoint (secret shown once), refusals beside the URL field, test
event, rotation, disable/enable, delete, and the delivery log with attempts and replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import events as core_events
from core import scopes as S
from core.events import EventType
from core.models import AuditEntry, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.webhooks import webhook_endpoint_create
from tests.core.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

TYPE = "screens.thing.done"
OTHER_TYPE = "screens.thing.undone"
PUBLIC_URL = "https://93.184.215.14/hooks"  # an address literal: no DNS lookup needed


@pytest.fixture(autouse=True)
def catalogue(monkeypatch):
    """Two event types of our own, whatever the apps register."""
    for name in (TYPE, OTHER_TYPE):
        monkeypatch.setitem(
            core_events._TYPES,
            name,
            EventType(name=name, description=f"{name} (test)", object_type="thing", sample={}),
        )


@pytest.fixture
def owner_client(world):
    return world.client(S.Role.OWNER)


@pytest.fixture
def endpoint(owner_actor):
    ep, _ = webhook_endpoint_create(actor=owner_actor, url=PUBLIC_URL, description="ledger sync")
    return ep


def _event(tenant, seq: int) -> Event:
    return Event.objects.create(
        tenant=tenant, sequence=seq, type=TYPE, object_type="thing", object_id=str(seq)
    )


def test_nav_link_only_for_tenant_managers(world):
    page = world.client(S.Role.OWNER).get("/").content.decode()
    assert 'href="/settings/webhooks/"' in page
    viewer = world.client(S.Role.VIEWER)
    assert 'href="/settings/webhooks/"' not in viewer.get("/").content.decode()
    assert viewer.get("/settings/webhooks/").status_code == 403


def test_add_endpoint_shows_the_secret_once(owner_client, tenant):
    response = owner_client.post(
        "/settings/webhooks/",
        {"url": PUBLIC_URL, "description": "partner", "event_types": [TYPE]},
    )
    endpoint = WebhookEndpoint.objects.get(tenant=tenant)
    assert response.status_code == 302
    assert response["Location"] == f"/settings/webhooks/{endpoint.pk}/"
    assert endpoint.event_types == [TYPE]

    page = owner_client.get(response["Location"]).content.decode()
    assert 'id="webhook-secret"' in page
    assert endpoint.secret in page
    assert "shown only this once" in page
    # a reload neither shows it again nor adds a second endpoint
    again = owner_client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again and 'id="webhook-secret"' not in again
    assert WebhookEndpoint.objects.filter(tenant=tenant).count() == 1
    # the list shows it with its types and state
    listing = owner_client.get("/settings/webhooks/").content.decode()
    assert PUBLIC_URL in listing and TYPE in listing and "active" in listing
    assert endpoint.secret not in listing


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://127.0.0.1/hook",
        "http://93.184.215.14/hook",  # not https
    ],
)
def test_refused_url_is_shown_beside_the_url_field(owner_client, tenant, url):
    response = owner_client.post("/settings/webhooks/", {"url": url, "description": "x"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="wh-url-error"' in page
    assert 'aria-invalid="true"' in page
    assert f'value="{url}"' in page  # what was typed stays in the field
    assert not WebhookEndpoint.objects.filter(tenant=tenant).exists()


def test_unknown_event_type_refused(owner_client, tenant):
    response = owner_client.post(
        "/settings/webhooks/", {"url": PUBLIC_URL, "event_types": ["no.such.type"]}
    )
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.filter(tenant=tenant).exists()


def test_edit_settings_and_refusal_on_edit(owner_client, endpoint):
    url = f"/settings/webhooks/{endpoint.pk}/"
    refused = owner_client.post(url, {"url": "https://192.168.1.5/x", "event_types": [TYPE]})
    assert refused.status_code == 400
    assert 'id="wh-url-error"' in refused.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC_URL

    saved = owner_client.post(
        url, {"url": "https://93.184.215.15/new", "description": "moved", "event_types": [TYPE]}
    )
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        "https://93.184.215.15/new",
        "moved",
        [TYPE],
    )


def test_send_test_event_is_logged_with_status_200(owner_client, endpoint, settings):
    settings.DEBUG = True  # plain http to the loopback receiver
    with Receiver(body=b'{"received": "yes"}') as rx:
        endpoint.url = rx.url
        endpoint.save(update_fields=["url"])
        response = owner_client.post(
            f"/settings/webhooks/{endpoint.pk}/test/", HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert response.status_code == 200
    assert [e["type"] for e in rx.events()] == ["webhook.test"]
    # the HTMX answer is the refreshed log alone, with the outcome on top
    assert html.startswith('<div id="delivery-log"') and "<html" not in html
    assert "Test event delivered (HTTP 200)" in html
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.kind == WebhookDelivery.Kind.TEST
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert f'id="delivery-{delivery.pk}"' in html
    assert "<code>200</code>" in html and "{&quot;received&quot;: &quot;yes&quot;}" in html


def test_send_test_event_failure_without_htmx(owner_client, endpoint, settings):
    settings.DEBUG = True
    with Receiver(status=500, body=b"boom") as rx:
        endpoint.url = rx.url
        endpoint.save(update_fields=["url"])
        response = owner_client.post(f"/settings/webhooks/{endpoint.pk}/test/", follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Test event not delivered (HTTP 500)" in html
    assert "<code>500</code>" in html and "boom" in html


def test_rotate_secret_shows_the_new_one_once(owner_client, endpoint):
    old = endpoint.secret
    response = owner_client.post(f"/settings/webhooks/{endpoint.pk}/rotate/", follow=True)
    endpoint.refresh_from_db()
    html = response.content.decode()
    assert endpoint.secret != old
    assert endpoint.secret in html and old not in html
    assert "old secret stays valid for 24 hours" in html
    assert (
        endpoint.secret
        not in owner_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    )


def test_disable_with_reason_then_enable(owner_client, endpoint):
    url = f"/settings/webhooks/{endpoint.pk}/active/"
    owner_client.post(url, {"active": "0", "reason": "partner maintenance"})
    endpoint.refresh_from_db()
    assert not endpoint.active
    listing = owner_client.get("/settings/webhooks/").content.decode()
    assert (
        '<span class="badge red">disabled</span> <span class="small">partner maintenance</span>'
        in listing
    )
    detail = owner_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert 'id="disabled-reason"' in detail and 'id="enable-form"' in detail

    owner_client.post(url, {"active": "1"})
    endpoint.refresh_from_db()
    assert endpoint.active


def test_delete_endpoint(owner_client, endpoint, tenant):
    response = owner_client.post(f"/settings/webhooks/{endpoint.pk}/delete/", follow=True)
    assert response.status_code == 200
    assert f"Webhook endpoint {endpoint.pk} deleted." in response.content.decode()
    assert not WebhookEndpoint.objects.filter(tenant=tenant).exists()
    assert owner_client.get(f"/settings/webhooks/{endpoint.pk}/").status_code == 404


def test_log_lists_deliveries_attempts_and_list_shows_failing_since(owner_client, endpoint, tenant):
    now = timezone.now()
    ok = WebhookDelivery.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event=_event(tenant, 1),
        event_type=TYPE,
        status=WebhookDelivery.Status.DELIVERED,
        attempts=1,
        first_attempt_at=now - timedelta(hours=3),
        last_attempt_at=now - timedelta(hours=3),
        last_status_code=204,
    )
    WebhookAttempt.objects.create(
        delivery=ok, number=1, status_code=204, duration_ms=41, succeeded=True
    )
    failing = WebhookDelivery.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event=_event(tenant, 2),
        event_type=TYPE,
        status=WebhookDelivery.Status.PENDING,
        attempts=2,
        first_attempt_at=now - timedelta(hours=2),
        last_attempt_at=now - timedelta(minutes=1),
        next_attempt_at=now + timedelta(minutes=2),
        last_status_code=503,
    )
    WebhookAttempt.objects.create(
        delivery=failing, number=1, status_code=None, duration_ms=5000, error="timed out"
    )
    WebhookAttempt.objects.create(
        delivery=failing, number=2, status_code=503, duration_ms=12, response_excerpt="busy"
    )

    html = owner_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert f'id="delivery-{ok.pk}"' in html and f'id="delivery-{failing.pk}"' in html
    assert html.index(f'id="delivery-{failing.pk}"') < html.index(f'id="delivery-{ok.pk}"')
    assert "timed out" in html and "5000 ms" in html and "busy" in html
    assert "<code>503</code>" in html and "<code>204</code>" in html
    assert "2 attempts" in html
    assert "1 delivery pending" in html and "failing since" in html
    # pending work: the log refreshes itself
    assert 'hx-trigger="every 3s"' in html

    row = owner_client.get("/settings/webhooks/").content.decode()
    # the last attempt's delivery is still pending
    assert '<span class="badge amber">Pending</span>' in row
    assert f'id="endpoint-{endpoint.pk}"' in row
    block = row[row.index(f'id="endpoint-{endpoint.pk}"') :]
    assert "<td>1</td>" in block  # one pending delivery
    assert 'class="error"' in block  # failing since is shown


def test_replay_queues_a_new_delivery(owner_client, endpoint, tenant, owner):
    done = WebhookDelivery.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event=_event(tenant, 7),
        event_type=TYPE,
        status=WebhookDelivery.Status.DELIVERED,
        attempts=1,
        last_status_code=200,
    )
    response = owner_client.post(
        f"/settings/webhooks/{endpoint.pk}/deliveries/{done.pk}/replay/", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    replay = WebhookDelivery.objects.exclude(pk=done.pk).get(endpoint=endpoint)
    assert response.status_code == 200
    assert replay.kind == WebhookDelivery.Kind.REPLAY and replay.event_id == done.event_id
    assert f"queued again as delivery {replay.pk}" in html
    replay_row = html[html.index(f'id="delivery-{replay.pk}"') :].split("</tbody>")[0]
    assert "<td>Replay" in replay_row
    assert AuditEntry.objects.filter(
        tenant=tenant, action="WebhookDelivery.replay", object_id=str(replay.pk)
    ).exists()


def test_other_tenant_gets_404(world, endpoint):
    other = world.client("outsider")
    assert other.get(f"/settings/webhooks/{endpoint.pk}/").status_code == 404
    assert other.post(f"/settings/webhooks/{endpoint.pk}/test/").status_code == 404
    assert other.post(f"/settings/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert PUBLIC_URL not in other.get("/settings/webhooks/").content.decode()


def test_replay_a_time_range(owner_client, endpoint, tenant):
    old = _event(tenant, 1)
    Event.objects.filter(pk=old.pk).update(occurred_at=timezone.now() - timedelta(days=3))
    recent = [_event(tenant, 2), _event(tenant, 3)]
    since = timezone.localtime(timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = owner_client.post(
        f"/settings/webhooks/{endpoint.pk}/replay/", {"since": since}, follow=True
    )
    assert "2 events queued again for this endpoint." in response.content.decode()
    replays = WebhookDelivery.objects.filter(endpoint=endpoint, kind=WebhookDelivery.Kind.REPLAY)
    assert [d.event_id for d in replays.order_by("id")] == [e.pk for e in recent]

    url = f"/settings/webhooks/{endpoint.pk}/replay/"
    bad = owner_client.post(url, {"since": "soon"}, follow=True)
    assert "Give the start" in bad.content.decode()
    assert replays.count() == 2
