"""Batched dispatch: order, stop at the first failure, one write per run of successes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.events import event_emit
from core.models import WebhookAttempt, WebhookDelivery
from core.outbox import events_relay
from core.webhooks import webhook_dispatch, webhook_endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):
    settings.DEBUG = True  # plain http:// to the loopback receiver


def deliveries_for(actor, rx, n: int, test_event_type):
    """An endpoint at `rx` with n pending deliveries (oldest first)."""
    endpoint, secret = webhook_endpoint_create(actor=actor, url=rx.url)
    for i in range(1, n + 1):
        event_emit(tenant=actor.tenant, type=test_event_type, object_id=i, payload={"n": i})
    events_relay(actor.tenant.pk)
    return endpoint, secret, list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk"))


def test_third_of_five_fails_first_two_delivered_rest_wait(
    debug, owner_actor, webhook_receiver, test_event_type
):
    rx = webhook_receiver(fail_on={3})
    endpoint, _, deliveries = deliveries_for(owner_actor, rx, 5, test_event_type)
    t0 = timezone.now()

    assert webhook_dispatch(endpoint.pk, now=t0) == 2

    assert [b["data"]["n"] for b in rx.events()] == [1, 2, 3]
    for d in deliveries:
        d.refresh_from_db()
    first, second, third, fourth, fifth = deliveries
    for d in (first, second):
        assert d.status == "DELIVERED" and d.attempts == 1 and d.delivered_at == t0
        assert d.last_status_code == 200 and d.first_attempt_at == t0
        (attempt,) = d.attempt_log.all()
        assert attempt.succeeded and attempt.status_code == 200 and attempt.number == 1
        assert attempt.response_excerpt == "ok" and attempt.at == t0
    assert third.status == "PENDING" and third.attempts == 1 and third.last_status_code == 500
    assert timedelta(seconds=22) <= third.next_attempt_at - t0 <= timedelta(seconds=38)
    (failed,) = third.attempt_log.all()
    assert not failed.succeeded and failed.error == "HTTP 500"
    for d in (fourth, fifth):
        assert d.status == "PENDING" and d.attempts == 0 and d.first_attempt_at is None
        assert not d.attempt_log.exists()

    # once the retry is due, the rest follows in order
    assert webhook_dispatch(endpoint.pk, now=third.next_attempt_at) == 3
    assert [b["data"]["n"] for b in rx.events()] == [1, 2, 3, 3, 4, 5]
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status="DELIVERED").count() == 5
    assert WebhookAttempt.objects.filter(delivery__endpoint=endpoint).count() == 6


def test_batches_keep_order_and_queries_do_not_grow_per_delivery(
    debug, owner_actor, webhook_receiver, test_event_type, monkeypatch
):
    monkeypatch.setattr("core.webhooks.dispatch.BATCH", 4)
    rx = webhook_receiver()
    endpoint, secret, _ = deliveries_for(owner_actor, rx, 10, test_event_type)

    with CaptureQueriesContext(connection) as queries:
        assert webhook_dispatch(endpoint.pk) == 10

    assert [b["data"]["n"] for b in rx.verify(secret)] == list(range(1, 11))
    assert set(
        WebhookDelivery.objects.filter(endpoint=endpoint).values_list("attempts", "status")
    ) == {(1, "DELIVERED")}
    assert WebhookAttempt.objects.filter(delivery__endpoint=endpoint, succeeded=True).count() == 10
    # 3 batches of work + the empty read that ends the call; was ~8 statements per delivery
    assert len(queries) < 40


def test_url_refused_at_dispatch_is_a_failed_attempt_and_stops(
    owner_actor, webhook_receiver, test_event_type, settings
):
    settings.DEBUG = True
    rx = webhook_receiver()
    endpoint, _, deliveries = deliveries_for(owner_actor, rx, 3, test_event_type)
    settings.DEBUG = False  # plain http:// to loopback is refused again at delivery

    assert webhook_dispatch(endpoint.pk) == 0

    assert rx.requests == []
    first = WebhookDelivery.objects.get(pk=deliveries[0].pk)
    assert first.status == "PENDING" and first.attempts == 1
    assert first.attempt_log.get().error.startswith("refused:")
    assert not WebhookAttempt.objects.filter(
        delivery_id__in=[d.pk for d in deliveries[1:]]
    ).exists()


def test_one_dispatch_reuses_one_kept_alive_connection(debug, owner_actor, test_event_type):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    peers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # offers keep-alive

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            peers.append(self.client_address[1])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        endpoint, _ = webhook_endpoint_create(actor=owner_actor, url=url)
        for i in range(1, 6):
            event_emit(tenant=owner_actor.tenant, type=test_event_type, object_id=i, payload={})
        events_relay(owner_actor.tenant.pk)

        assert webhook_dispatch(endpoint.pk) == 5
    finally:
        server.shutdown()
        server.server_close()
    assert len(peers) == 5 and len(set(peers)) == 1  # one TCP connection for the whole call


@pytest.mark.parametrize("fail_on", [set(), {2}], ids=["successes", "failure"])
def test_a_dispatcher_that_lost_its_lease_records_nothing(
    debug, owner_actor, webhook_receiver, test_event_type, monkeypatch, fail_on
):
    """Another dispatcher took the endpoint over mid-batch: the stale one writes no outcome."""
    from core.models import WebhookEndpoint
    from core.webhooks import dispatch

    rx = webhook_receiver(fail_on=fail_on)
    endpoint, _, deliveries = deliveries_for(owner_actor, rx, 3, test_event_type)
    real_send = dispatch._send_one

    def send_then_lose_lease(sender, delivery, signed_by):
        outcome = real_send(sender, delivery, signed_by)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(lease_token="someone-else")
        return outcome

    monkeypatch.setattr(dispatch, "_send_one", send_then_lose_lease)

    assert webhook_dispatch(endpoint.pk) == 0

    assert 1 <= len(rx.requests) <= 3
    assert not WebhookAttempt.objects.exists()
    for d in deliveries:
        d.refresh_from_db()
        assert d.status == "PENDING" and d.attempts == 0
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.lease_token == "someone-else"


def test_deliveries_created_during_a_dispatch_are_sent_by_it(
    debug, owner_actor, webhook_receiver, test_event_type, monkeypatch
):
    """Without a controlled clock the dispatch's clock moves on per batch."""
    from core.webhooks import dispatch

    monkeypatch.setattr(dispatch, "BATCH", 2)
    rx = webhook_receiver()
    endpoint, _, _ = deliveries_for(owner_actor, rx, 2, test_event_type)
    real_send = dispatch._send_one
    emitted = []

    def send_and_emit(sender, delivery, signed_by):
        if not emitted:
            emitted.append(
                event_emit(
                    tenant=owner_actor.tenant, type=test_event_type, object_id=3, payload={"n": 3}
                )
            )
            events_relay(owner_actor.tenant.pk)  # its own dispatch would find the lease held
        return real_send(sender, delivery, signed_by)

    monkeypatch.setattr(dispatch, "_send_one", send_and_emit)

    assert webhook_dispatch(endpoint.pk) == 3
    assert [b["data"]["n"] for b in rx.events()] == [1, 2, 3]


def test_a_dispatch_stops_at_its_wall_time_bound_and_queues_itself_again(
    debug, owner_actor, webhook_receiver, test_event_type, monkeypatch
):
    from core.webhooks import dispatch

    rx = webhook_receiver()
    endpoint, _, deliveries = deliveries_for(owner_actor, rx, 3, test_event_type)
    queued = []
    monkeypatch.setattr(dispatch, "_enqueue_dispatch", queued.append)
    monkeypatch.setattr(dispatch, "WALL_LIMIT", -1)

    assert webhook_dispatch(endpoint.pk) == 0
    assert queued == [endpoint.pk] and rx.requests == []
    endpoint.refresh_from_db()
    assert endpoint.lease_token == ""  # released for the queued run

    monkeypatch.setattr(dispatch, "WALL_LIMIT", 30)
    queued.clear()
    assert webhook_dispatch(endpoint.pk) == 3
    assert queued == []  # nothing left due: not queued again


def test_successes_are_written_every_few_sends(
    debug, owner_actor, webhook_receiver, test_event_type, monkeypatch
):
    from core.webhooks import dispatch

    monkeypatch.setattr(dispatch, "FLUSH_EVERY", 2)
    rx = webhook_receiver()
    endpoint, _, _ = deliveries_for(owner_actor, rx, 5, test_event_type)
    real_send = dispatch._send_one
    delivered_before = []

    def send_and_count(sender, delivery, signed_by):
        delivered_before.append(WebhookDelivery.objects.filter(status="DELIVERED").count())
        return real_send(sender, delivery, signed_by)

    monkeypatch.setattr(dispatch, "_send_one", send_and_count)

    assert webhook_dispatch(endpoint.pk) == 5
    assert delivered_before == [0, 0, 2, 2, 4]
    assert WebhookAttempt.objects.filter(succeeded=True).count() == 5


def test_dispatch_due_queues_one_task_per_due_endpoint(
    debug, owner_actor, webhook_receiver, test_event_type, monkeypatch
):
    from core.webhooks import dispatch

    a, _, _ = deliveries_for(owner_actor, webhook_receiver(), 1, test_event_type)
    b, _, _ = deliveries_for(owner_actor, webhook_receiver(), 1, test_event_type)
    queued = []
    monkeypatch.setattr(dispatch, "_enqueue_dispatch", queued.append)

    assert dispatch.webhooks_dispatch_due() == 2
    assert sorted(queued) == sorted([a.pk, b.pk])
