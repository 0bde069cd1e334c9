"""Review findings on webhook management: a second rotation inside the grace period, replay
ranges too large to queue, endpoint URLs in the audit chain without their query string, and
impossible dates in the replay form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import scopes as S
from core.exceptions import Conflict, DomainError
from core.models import AuditEntry, Event, WebhookDelivery, WebhookEndpoint
from core.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_replay_range,
    webhook_secret_rotate,
)

pytestmark = pytest.mark.django_db

URL = "https://93.184.215.14/hooks?token=s3cr3t-partner-token"


@pytest.fixture
def endpoint(owner_actor):
    ep, _ = webhook_endpoint_create(actor=owner_actor, url=URL)
    return ep


def test_a_second_rotation_inside_the_grace_period_is_refused(owner_actor, endpoint):
    endpoint, first = webhook_secret_rotate(actor=owner_actor, endpoint_id=endpoint.pk)
    old = endpoint.previous_secret
    with pytest.raises(Conflict) as refused:
        webhook_secret_rotate(actor=owner_actor, endpoint_id=endpoint.pk)
    assert refused.value.code == "rotation_in_grace"
    endpoint.refresh_from_db()
    # the partner still verifying with the first secret keeps working
    assert endpoint.previous_secret == old and endpoint.secret == first

    # once the 24 h are over, rotating again is fine
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    endpoint, second = webhook_secret_rotate(actor=owner_actor, endpoint_id=endpoint.pk)
    assert second != first and endpoint.previous_secret == first


def test_a_replay_range_larger_than_the_limit_is_refused_and_queues_nothing(
    owner_actor, endpoint, monkeypatch
):
    monkeypatch.setattr("core.webhooks.services.REPLAY_MAX", 2)
    for seq in (1, 2, 3):
        Event.objects.create(tenant=owner_actor.tenant, sequence=seq, type="t.x", object_id=seq)
    since = timezone.now() - timedelta(days=1)
    with pytest.raises(DomainError) as refused:
        webhook_replay_range(actor=owner_actor, endpoint_id=endpoint.pk, since=since)
    assert refused.value.code == "replay_too_large"
    assert refused.value.details == {"field": "since", "events": 3, "max": 2}
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()


def test_the_audit_chain_keeps_endpoint_urls_without_their_query_string(owner_actor, endpoint):
    webhook_endpoint_update(
        actor=owner_actor, endpoint_id=endpoint.pk, url="https://93.184.215.14/v2?key=abc"
    )
    webhook_endpoint_delete(actor=owner_actor, endpoint_id=endpoint.pk)
    entries = AuditEntry.objects.filter(action__startswith="WebhookEndpoint.").order_by("seq")
    payloads = [e.payload for e in entries]
    assert payloads[0]["url"] == "https://93.184.215.14/hooks?..."
    assert payloads[1]["changed"]["url"] == "https://93.184.215.14/v2?..."
    assert payloads[2]["url"] == "https://93.184.215.14/v2?..."
    assert "s3cr3t" not in str(payloads) and "abc" not in str(payloads)


@pytest.mark.parametrize(
    "since", ["2026-02-30T10:00", "0001-01-01T00:00+05:00", "2026-01-01T10:00+99:00", "9999-12-31"]
)
def test_impossible_dates_in_the_replay_form_are_a_message_not_a_500(world, endpoint, since):
    client = world.client(S.Role.OWNER)
    response = client.post(f"/settings/webhooks/{endpoint.pk}/replay/", {"since": since})
    assert (response.status_code, response["Location"]) == (
        302,
        f"/settings/webhooks/{endpoint.pk}/",
    )
    page = client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert "Give the start" in page
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()


def test_the_api_stops_showing_the_old_secrets_grace_once_it_is_over(world, endpoint, owner_actor):
    webhook_secret_rotate(actor=owner_actor, endpoint_id=endpoint.pk)
    client = world.client(S.Role.OWNER)
    url = f"/api/webhooks/endpoints/{endpoint.pk}"
    assert client.get(url).json()["previous_secret_valid_until"] is not None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(url).json()["previous_secret_valid_until"] is None
