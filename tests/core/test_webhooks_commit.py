"""With real commits: a committed change reaches the receiver by itself; a rolled-back one never."""

from __future__ import annotations

import pytest
from django.db import transaction

from core.events import event_emit
from core.models import Event, WebhookDelivery
from core.webhooks import webhook_endpoint_create


class Boom(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_committed_event_is_delivered_and_rolled_back_one_never_is(
    settings, owner_actor, webhook_receiver, test_event_type
):
    settings.DEBUG = True
    rx = webhook_receiver()
    endpoint, secret = webhook_endpoint_create(actor=owner_actor, url=rx.url)

    with pytest.raises(Boom), transaction.atomic():
        event_emit(tenant=owner_actor.tenant, type=test_event_type, object_id=1, payload={"n": 1})
        raise Boom
    with transaction.atomic():
        event = event_emit(
            tenant=owner_actor.tenant, type=test_event_type, object_id=2, payload={"n": 2}
        )

    # after commit: relay -> delivery -> dispatch, all by themselves (Q_SYNC runs tasks inline)
    assert Event.objects.count() == 1
    (body,) = rx.verify(secret)
    assert body["id"] == event.message_id and body["data"] == {"n": 2}
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "DELIVERED"
