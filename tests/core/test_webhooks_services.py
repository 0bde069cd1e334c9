"""Endpoint management: validation, audit entries, selectors, the dispatcher's lease."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.exceptions import Conflict, DomainError, NotFound
from core.models import AuditEntry, WebhookDelivery, WebhookEndpoint
from core.webhooks import (
    ROTATION_GRACE,
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_delivery_replay,
    webhook_dispatch,
    webhook_endpoint_create,
    webhook_endpoint_list,
    webhook_endpoint_set_active,
    webhook_endpoint_update,
    webhook_secret_rotate,
    webhook_send_test,
    webhooks_dispatch_due,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_create_checks_event_types_and_never_audits_the_secret(debug, owner_actor, test_event_type):
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(
            actor=owner_actor, url="http://127.0.0.1:9/h", event_types=["no.such.type"]
        )
    assert refused.value.code == "unknown_event_type"
    assert refused.value.details["unknown"] == ["no.such.type"]

    endpoint, secret = webhook_endpoint_create(
        actor=owner_actor,
        url="http://127.0.0.1:9/h",
        event_types=[test_event_type, test_event_type],
        description="  ERP bridge ",
    )
    assert endpoint.event_types == [test_event_type]
    assert endpoint.description == "ERP bridge"
    assert endpoint.created_by == owner_actor.user and endpoint.active
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 32
    entry = AuditEntry.objects.get(action="WebhookEndpoint.create")
    assert entry.object_id == str(endpoint.pk)
    assert entry.payload == {"url": "http://127.0.0.1:9/h", "event_types": [test_event_type]}
    assert secret not in str(entry.payload)


def test_update_changes_only_what_is_given(debug, owner_actor, test_event_type):
    endpoint, _ = webhook_endpoint_create(actor=owner_actor, url="http://127.0.0.1:9/h")
    updated = webhook_endpoint_update(
        actor=owner_actor, endpoint_id=endpoint.pk, event_types=[test_event_type]
    )
    assert updated.event_types == [test_event_type] and updated.url == "http://127.0.0.1:9/h"
    webhook_endpoint_update(actor=owner_actor, endpoint_id=endpoint.pk, description="")
    assert AuditEntry.objects.filter(action="WebhookEndpoint.update").count() == 1
    with pytest.raises(DomainError):
        webhook_endpoint_update(actor=owner_actor, endpoint_id=endpoint.pk, description="x" * 201)
    with pytest.raises(NotFound):
        webhook_endpoint_update(actor=owner_actor, endpoint_id="abc", description="x")


def test_rotation_keeps_the_old_secret_for_24h_then_forgets_it(debug, owner_actor):
    endpoint, old = webhook_endpoint_create(actor=owner_actor, url="http://127.0.0.1:9/h")
    before = timezone.now()
    endpoint, new = webhook_secret_rotate(actor=owner_actor, endpoint_id=endpoint.pk)
    assert endpoint.secret == new and endpoint.previous_secret == old
    assert endpoint.previous_secret_expires_at - before >= ROTATION_GRACE - timedelta(seconds=5)

    webhooks_dispatch_due(now=timezone.now() + timedelta(hours=23))
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == old
    webhooks_dispatch_due(now=timezone.now() + timedelta(hours=25))
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == "" and endpoint.previous_secret_expires_at is None


def test_selectors_list_the_tenant_endpoints_and_deliveries(
    debug, world, owner_actor, webhook_receiver
):
    rx = webhook_receiver(fail_first=1)
    endpoint, _ = webhook_endpoint_create(actor=owner_actor, url=rx.url)
    failed = webhook_send_test(actor=owner_actor, endpoint_id=endpoint.pk)
    ok = webhook_send_test(actor=owner_actor, endpoint_id=endpoint.pk)

    (listed,) = webhook_endpoint_list(owner_actor)
    assert listed.pk == endpoint.pk and listed.failed_count == 1 and listed.pending_count == 0
    assert [d.pk for d in webhook_delivery_list(owner_actor)] == [ok.pk, failed.pk]
    assert [d.pk for d in webhook_delivery_list(owner_actor, status="failed")] == [failed.pk]
    got = webhook_delivery_get(owner_actor, failed.pk)
    assert [a.status_code for a in got.attempt_log.all()] == [500]

    from core.actors import Actor

    stranger = Actor(tenant=world.other_tenant, user=world.outsider)
    assert list(webhook_endpoint_list(stranger)) == []
    assert list(webhook_delivery_list(stranger)) == []
    with pytest.raises(NotFound):
        webhook_delivery_get(stranger, failed.pk)
    with pytest.raises(NotFound):
        webhook_delivery_replay(actor=stranger, delivery_id=failed.pk)


def test_replay_of_a_disabled_endpoint_is_refused(debug, owner_actor, webhook_receiver):
    rx = webhook_receiver()
    endpoint, _ = webhook_endpoint_create(actor=owner_actor, url=rx.url)
    delivery = webhook_send_test(actor=owner_actor, endpoint_id=endpoint.pk)
    webhook_endpoint_set_active(actor=owner_actor, endpoint_id=endpoint.pk, active=False)
    with pytest.raises(Conflict) as refused:
        webhook_delivery_replay(actor=owner_actor, delivery_id=delivery.pk)
    assert refused.value.code == "endpoint_inactive"
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == "disabled by a manager" and endpoint.disabled_at


def test_a_second_dispatcher_waits_for_the_lease(
    debug, owner_actor, webhook_receiver, test_event_type
):
    from core.events import event_emit
    from core.outbox import events_relay

    rx = webhook_receiver()
    endpoint, _ = webhook_endpoint_create(actor=owner_actor, url=rx.url)
    event_emit(tenant=owner_actor.tenant, type=test_event_type, object_id=1, payload={})
    events_relay(owner_actor.tenant.pk)
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        lease_until=now + timedelta(seconds=30), lease_token="someone-else"
    )

    assert webhook_dispatch(endpoint.pk, now=now) == 0
    assert rx.requests == []
    # a lease whose holder died lapses
    assert webhook_dispatch(endpoint.pk, now=now + timedelta(seconds=31)) == 1
    endpoint.refresh_from_db()
    assert endpoint.lease_until is None and endpoint.lease_token == ""
    assert WebhookDelivery.objects.get().status == "DELIVERED"
