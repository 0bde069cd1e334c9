"""Every webhook attempt has one overall deadline: a receiver dripping its answer is cut off."""

from __future__ import annotations

import time

import pytest

from core.events import event_emit
from core.models import WebhookDelivery
from core.outbox import events_relay
from core.webhooks import webhook_dispatch, webhook_endpoint_create
from core.webhooks.client import Sender
from tests.core.webhook_receiver import TEST_TYPE

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_deadline(settings, monkeypatch):
    settings.DEBUG = True  # plain http:// to the loopback receiver
    monkeypatch.setattr("core.webhooks.limits.TIMEOUT_SECONDS", 0.5)


def test_dripping_receiver_is_cut_at_the_deadline_and_the_next_endpoint_works(
    short_deadline, owner_actor, webhook_receiver, test_event_type
):
    slow = webhook_receiver(drip=0.1)  # status line, headers, body: one byte every 0.1 s
    healthy = webhook_receiver()
    slow_endpoint, _ = webhook_endpoint_create(actor=owner_actor, url=slow.url)
    event_emit(tenant=owner_actor.tenant, type=TEST_TYPE, object_id=1, payload={"n": 1})
    events_relay(owner_actor.tenant.pk)

    started = time.monotonic()
    assert webhook_dispatch(slow_endpoint.pk) == 0
    assert time.monotonic() - started < 3

    delivery = WebhookDelivery.objects.get(endpoint=slow_endpoint)
    (attempt,) = delivery.attempt_log.all()
    assert not attempt.succeeded and attempt.status_code is None
    assert attempt.error == "timed out after 0.5 s"
    assert attempt.duration_ms < 2000
    assert delivery.status == "PENDING" and delivery.next_attempt_at is not None

    healthy_endpoint, _ = webhook_endpoint_create(actor=owner_actor, url=healthy.url)
    event_emit(tenant=owner_actor.tenant, type=TEST_TYPE, object_id=2, payload={"n": 2})
    events_relay(owner_actor.tenant.pk)
    assert webhook_dispatch(healthy_endpoint.pk) == 1
    assert [b["data"]["n"] for b in healthy.events()] == [2]
    assert WebhookDelivery.objects.filter(endpoint=healthy_endpoint, status="DELIVERED").exists()


def test_after_a_cut_attempt_the_same_sender_reconnects_and_delivers(
    short_deadline, webhook_receiver
):
    rx = webhook_receiver(drip=0.1, drip_first=1)  # only the first answer drips

    with Sender() as sender:
        sender.target(rx.url)
        first = sender.send(body=b"{}", headers={"content-type": "application/json"})
        second = sender.send(body=b"{}", headers={"content-type": "application/json"})

    assert not first.succeeded and first.error == "timed out after 0.5 s"
    assert first.duration_ms < 2000
    assert second.succeeded and second.status_code == 200 and second.excerpt == "ok"
    assert len(rx.requests) == 2
    assert rx.requests[0].peer != rx.requests[1].peer  # the cut connection was not reused
