"""The webhook engine against a real loopback receiver: signatures, order, retries, the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core import scopes as S
from core.events import event_emit
from core.exceptions import NotFound, ScopeDenied
from core.models import AuditEntry, Notification, WebhookDelivery, WebhookEndpoint
from core.outbox import events_relay
from core.webhooks import (
    RETRY_WINDOW,
    backoff,
    webhook_delivery_list,
    webhook_delivery_replay,
    webhook_dispatch,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_get,
    webhook_endpoint_set_active,
    webhook_replay_range,
    webhook_secret_rotate,
    webhook_send_test,
    webhooks_dispatch_due,
)
from tests.core.webhook_receiver import TEST_TYPE

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):
    settings.DEBUG = True  # plain http:// to the loopback receiver


def emit(tenant, n: int, start: int = 1) -> list:
    """n events of the test type, relayed (deliveries created, dispatch left to the test)."""
    events = [
        event_emit(tenant=tenant, type=TEST_TYPE, object_id=i, payload={"n": i})
        for i in range(start, start + n)
    ]
    events_relay(tenant.pk)
    return events


def endpoint_for(actor, rx, **kw):
    return webhook_endpoint_create(actor=actor, url=rx.url, **kw)


def test_signed_delivery_verifies_with_standardwebhooks(
    debug, owner_actor, webhook_receiver, test_event_type
):
    rx = webhook_receiver()
    endpoint, secret = endpoint_for(owner_actor, rx)
    (event,) = emit(owner_actor.tenant, 1)

    assert webhook_dispatch(endpoint.pk) == 1

    (request,) = rx.requests
    body = Webhook(secret).verify(request.body, request.headers)
    assert body["id"] == event.message_id == request.headers["webhook-id"]
    assert body["type"] == TEST_TYPE
    assert body["sequence"] == event.sequence
    assert body["tenant"] == "alpha"
    assert body["data"] == {"n": 1}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "healthbill-webhooks/1"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert " " not in request.headers["webhook-signature"]
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == "DELIVERED" and delivery.attempts == 1
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(request.body, request.headers)


def test_rotation_old_and_new_secret_both_verify_for_24h_then_only_new(
    debug, owner_actor, webhook_receiver, test_event_type
):
    rx = webhook_receiver()
    endpoint, old = endpoint_for(owner_actor, rx)
    endpoint, new = webhook_secret_rotate(actor=owner_actor, endpoint_id=endpoint.pk)
    assert new != old and new.startswith("whsec_")
    emit(owner_actor.tenant, 1)
    webhook_dispatch(endpoint.pk, now=timezone.now() + timedelta(hours=23))

    first = rx.requests[-1]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(first.body, first.headers)  # a receiver still on the old secret
    Webhook(new).verify(first.body, first.headers)  # one already on the new secret

    emit(owner_actor.tenant, 1, start=2)
    webhook_dispatch(endpoint.pk, now=timezone.now() + timedelta(hours=24, minutes=1))

    later = rx.requests[-1]
    assert later.json["data"] == {"n": 2}
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(later.body, later.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(later.body, later.headers)
    # the secrets never reach the audit trail
    payloads = str(list(AuditEntry.objects.values_list("payload", flat=True)))
    assert old not in payloads and new not in payloads
    assert AuditEntry.objects.filter(action="WebhookEndpoint.rotate_secret").count() == 1


def test_per_endpoint_order(debug, owner_actor, webhook_receiver, test_event_type):
    rx = webhook_receiver()
    endpoint, secret = endpoint_for(owner_actor, rx)
    events = emit(owner_actor.tenant, 20)

    assert webhook_dispatch(endpoint.pk) == 20

    got = rx.verify(secret)
    assert [b["sequence"] for b in got] == [e.sequence for e in events]
    assert [b["data"]["n"] for b in got] == list(range(1, 21))


def test_failing_receiver_retries_first_event_while_later_ones_wait(
    debug, owner_actor, webhook_receiver, test_event_type
):
    rx = webhook_receiver(fail_first=2)
    endpoint, _ = endpoint_for(owner_actor, rx)
    emit(owner_actor.tenant, 5)
    first = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk").first()
    t0 = timezone.now()

    assert webhook_dispatch(endpoint.pk, now=t0) == 0
    first.refresh_from_db()
    wait1 = first.next_attempt_at - t0
    assert timedelta(seconds=22) <= wait1 <= timedelta(seconds=38)
    assert len(rx.requests) == 1

    # not due yet: nothing is sent, not even the later events
    assert webhook_dispatch(endpoint.pk, now=t0 + timedelta(seconds=20)) == 0
    assert len(rx.requests) == 1

    t1 = first.next_attempt_at
    assert webhook_dispatch(endpoint.pk, now=t1) == 0
    first.refresh_from_db()
    wait2 = first.next_attempt_at - t1
    assert wait2 > wait1  # exponential backoff
    assert first.attempts == 2 and first.status == "PENDING"

    assert webhooks_dispatch_due(now=first.next_attempt_at) == 5
    assert [b["data"]["n"] for b in rx.events()] == [1, 1, 1, 2, 3, 4, 5]
    first.refresh_from_db()
    assert first.status == "DELIVERED" and first.attempts == 3
    assert [a.status_code for a in first.attempt_log.all()] == [500, 500, 200]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"DELIVERED"}


def test_backoff_grows_until_its_cap():
    waits = [backoff(n) for n in range(1, 8)]
    assert all(a < b for a, b in zip(waits, waits[1:], strict=False))
    assert timedelta(minutes=45) <= backoff(30) <= timedelta(minutes=75)


def test_failing_for_24h_disables_the_endpoint_and_holds_the_delivery_back(
    debug, world, owner_actor, webhook_receiver, test_event_type, django_capture_on_commit_callbacks
):
    rx = webhook_receiver(fail_first=10**6)
    endpoint, _ = endpoint_for(owner_actor, rx)
    emit(owner_actor.tenant, 2)
    first, second = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk")
    t0 = now = timezone.now()
    for _ in range(100):
        webhook_dispatch(endpoint.pk, now=now)
        endpoint.refresh_from_db()
        if not endpoint.active:
            break
        first.refresh_from_db()
        now = first.next_attempt_at

    first.refresh_from_db()
    assert first.status == "PENDING"  # held back at the head of the queue, attempts kept
    assert now - t0 >= RETRY_WINDOW
    assert now - t0 < RETRY_WINDOW + timedelta(hours=2)
    assert first.attempts == first.attempt_log.count() == len(rx.requests)
    endpoint.refresh_from_db()
    assert endpoint.active is False and endpoint.disabled_reason == "failing for 24 h"
    entry = AuditEntry.objects.get(action="WebhookEndpoint.auto_disable")
    assert entry.actor_id is None and entry.object_id == str(endpoint.pk)
    second.refresh_from_db()
    assert second.status == "PENDING" and second.attempts == 0
    # the tenant's OWNER and ADMIN are told, nobody else
    admins = {world.users[S.Role.OWNER].pk, world.users[S.Role.ADMIN].pk}
    notes = Notification.objects.filter(kind="webhooks.endpoint.disabled")
    assert set(notes.values_list("user_id", flat=True)) == admins

    # disabled: nothing more goes out
    sent = len(rx.requests)
    assert webhook_dispatch(endpoint.pk, now=now + timedelta(hours=1)) == 0
    assert webhooks_dispatch_due(now=now + timedelta(hours=1)) == 0
    assert len(rx.requests) == sent

    # events while disabled: no delivery yet
    emit(owner_actor.tenant, 2, start=3)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2

    # enabled again with a healthy receiver: the held-back delivery, the one behind it and the
    # events of the disabled period go out, once each, in sequence order
    rx.fail_first = 0
    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_set_active(actor=owner_actor, endpoint_id=endpoint.pk, active=True)
    with django_capture_on_commit_callbacks(execute=True):
        emit(owner_actor.tenant, 1, start=5)  # relayed after enabling: not doubled
    assert [b["data"]["n"] for b in rx.events()[sent:]] == [1, 2, 3, 4, 5]
    sequences = [b["sequence"] for b in rx.events()[sent:]]
    assert sequences == sorted(sequences)
    first.refresh_from_db()
    assert first.status == "DELIVERED" and first.attempts == first.attempt_log.count()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"DELIVERED"}


def test_attempt_log_keeps_status_duration_and_first_kb(
    debug, owner_actor, webhook_receiver, test_event_type
):
    rx = webhook_receiver(body=b"x" * 5000)
    endpoint, _ = endpoint_for(owner_actor, rx)
    emit(owner_actor.tenant, 1)
    webhook_dispatch(endpoint.pk)

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code == 200 and attempt.succeeded and attempt.error == ""
    assert attempt.number == 1 and attempt.duration_ms >= 0
    assert attempt.response_excerpt == "x" * 1024
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None


def test_timeout_is_a_failed_attempt(
    debug, owner_actor, webhook_receiver, test_event_type, monkeypatch
):
    monkeypatch.setattr("core.webhooks.limits.TIMEOUT_SECONDS", 0.2)
    rx = webhook_receiver(delay=1.0)
    endpoint, _ = endpoint_for(owner_actor, rx)
    emit(owner_actor.tenant, 1)
    assert webhook_dispatch(endpoint.pk) == 0

    (attempt,) = WebhookDelivery.objects.get(endpoint=endpoint).attempt_log.all()
    assert attempt.status_code is None and not attempt.succeeded
    assert attempt.error.startswith("timed out")


def test_test_event_is_sent_signed_and_logged(debug, owner_actor, webhook_receiver):
    rx = webhook_receiver()
    endpoint, secret = endpoint_for(owner_actor, rx)

    delivery = webhook_send_test(actor=owner_actor, endpoint_id=endpoint.pk)

    assert delivery.kind == "TEST" and delivery.status == "DELIVERED"
    assert delivery.attempt_log.get().status_code == 200
    (body,) = rx.verify(secret)
    assert body["type"] == "webhook.test"
    assert body["data"] == {"endpoint_id": endpoint.pk, "message": "test event"}
    assert rx.requests[0].headers["webhook-id"] == body["id"]
    assert body["id"].startswith("msg_")
    assert AuditEntry.objects.filter(action="WebhookEndpoint.send_test").count() == 1
    assert [d.pk for d in webhook_delivery_list(owner_actor, endpoint_id=endpoint.pk)] == [
        delivery.pk
    ]


def test_failed_test_event_is_logged_and_not_retried(debug, owner_actor, webhook_receiver):
    rx = webhook_receiver(fail_first=1)
    endpoint, _ = endpoint_for(owner_actor, rx)
    delivery = webhook_send_test(actor=owner_actor, endpoint_id=endpoint.pk)
    assert delivery.status == "FAILED" and delivery.attempts == 1
    assert delivery.attempt_log.get().error == "HTTP 500"
    assert webhooks_dispatch_due(now=timezone.now() + timedelta(hours=1)) == 0
    assert len(rx.requests) == 1


def test_replay_sends_the_same_webhook_id_again(
    debug, owner_actor, webhook_receiver, test_event_type, django_capture_on_commit_callbacks
):
    rx = webhook_receiver()
    endpoint, secret = endpoint_for(owner_actor, rx)
    (event,) = emit(owner_actor.tenant, 1)
    webhook_dispatch(endpoint.pk)
    original = WebhookDelivery.objects.get(endpoint=endpoint)

    with django_capture_on_commit_callbacks(execute=True):
        replay = webhook_delivery_replay(actor=owner_actor, delivery_id=original.pk)

    replay.refresh_from_db()
    assert replay.pk != original.pk and replay.kind == "REPLAY"
    assert replay.status == "DELIVERED" and replay.event_id == event.pk
    assert [r.headers["webhook-id"] for r in rx.requests] == [event.message_id] * 2
    rx.verify(secret)
    assert AuditEntry.objects.filter(action="WebhookDelivery.replay").count() == 1


def test_replay_range_resends_a_window_in_order(
    debug, owner_actor, webhook_receiver, test_event_type, django_capture_on_commit_callbacks
):
    rx = webhook_receiver()
    endpoint, _ = endpoint_for(owner_actor, rx)
    events = emit(owner_actor.tenant, 5)
    webhook_dispatch(endpoint.pk)
    since, until = events[1].occurred_at, events[3].occurred_at

    with django_capture_on_commit_callbacks(execute=True):
        count = webhook_replay_range(
            actor=owner_actor, endpoint_id=endpoint.pk, since=since, until=until
        )

    assert count == 3
    assert [b["data"]["n"] for b in rx.events()] == [1, 2, 3, 4, 5, 2, 3, 4]
    assert WebhookDelivery.objects.filter(kind="REPLAY", status="DELIVERED").count() == 3


def test_relay_creates_and_dispatches_after_commit(
    debug, owner_actor, webhook_receiver, test_event_type, django_capture_on_commit_callbacks
):
    rx = webhook_receiver()
    wanted, _ = endpoint_for(owner_actor, rx, event_types=[TEST_TYPE])
    with django_capture_on_commit_callbacks(execute=True):
        event = event_emit(tenant=owner_actor.tenant, type=TEST_TYPE, object_id=7, payload={})
    assert [r.headers["webhook-id"] for r in rx.requests] == [event.message_id]
    assert WebhookDelivery.objects.get(endpoint=wanted).status == "DELIVERED"


def test_endpoint_created_after_the_event_does_not_get_it(
    debug, owner_actor, webhook_receiver, test_event_type
):
    event_emit(tenant=owner_actor.tenant, type=TEST_TYPE, object_id=1, payload={})
    rx = webhook_receiver()
    endpoint_for(owner_actor, rx)
    events_relay(owner_actor.tenant.pk)
    assert WebhookDelivery.objects.count() == 0


def test_inactive_endpoint_gets_nothing_and_resumes_in_order(
    debug, owner_actor, webhook_receiver, test_event_type, django_capture_on_commit_callbacks
):
    rx = webhook_receiver()
    endpoint, _ = endpoint_for(owner_actor, rx)
    emit(owner_actor.tenant, 3)
    webhook_endpoint_set_active(
        actor=owner_actor, endpoint_id=endpoint.pk, active=False, reason="partner maintenance"
    )
    assert webhook_dispatch(endpoint.pk) == 0
    assert webhooks_dispatch_due() == 0
    emit(owner_actor.tenant, 1, start=4)  # while disabled: no delivery at all
    assert rx.requests == []
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 3

    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_set_active(actor=owner_actor, endpoint_id=endpoint.pk, active=True)

    # the held-back deliveries, then the event of the disabled period: once each, in order
    assert [b["data"]["n"] for b in rx.events()] == [1, 2, 3, 4]
    with django_capture_on_commit_callbacks(execute=True):
        emit(owner_actor.tenant, 1, start=5)
    assert [b["data"]["n"] for b in rx.events()] == [1, 2, 3, 4, 5]
    actions = list(
        AuditEntry.objects.filter(action__startswith="WebhookEndpoint.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "WebhookEndpoint.create",
        "WebhookEndpoint.deactivate",
        "WebhookEndpoint.activate",
    ]


def test_deleted_endpoint_is_gone_with_its_deliveries(
    debug, owner_actor, webhook_receiver, test_event_type
):
    rx = webhook_receiver()
    endpoint, _ = endpoint_for(owner_actor, rx)
    emit(owner_actor.tenant, 2)
    webhook_endpoint_delete(actor=owner_actor, endpoint_id=endpoint.pk)
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    emit(owner_actor.tenant, 1, start=3)
    assert WebhookDelivery.objects.count() == 0 and rx.requests == []
    assert webhook_dispatch(endpoint.pk) == 0
    with pytest.raises(NotFound):
        webhook_endpoint_get(owner_actor, endpoint.pk)


def test_only_managers_of_the_same_tenant(debug, world, webhook_receiver):
    rx = webhook_receiver()
    endpoint, _ = endpoint_for(world.actor(S.Role.ADMIN), rx)
    for role in (S.Role.BILLING_MANAGER, S.Role.OPERATIONS, S.Role.VIEWER):
        with pytest.raises(ScopeDenied):
            webhook_endpoint_create(actor=world.actor(role), url=rx.url)
        with pytest.raises(ScopeDenied):
            webhook_send_test(actor=world.actor(role), endpoint_id=endpoint.pk)
    from core.actors import Actor

    stranger = Actor(tenant=world.other_tenant, user=world.outsider)
    with pytest.raises(NotFound):
        webhook_endpoint_get(stranger, endpoint.pk)
    with pytest.raises(NotFound):
        webhook_secret_rotate(actor=stranger, endpoint_id=endpoint.pk)
    assert rx.requests == []
