"""The delivery engine: deliveries from relayed events, and sending them in order per endpoint.

One dispatcher per endpoint at a time (a lease taken with a conditional UPDATE, so no
transaction stays open across an HTTP call). It reads the endpoint's pending deliveries in id
order, a batch at a time, sends them over one kept-alive connection to the checked address, and
stops at the first failure: later deliveries wait behind it, which keeps event order. The
successes of a batch are recorded in one short transaction (at least once: a crash before that
write means a re-send, never a loss). A failed delivery is retried with exponential backoff and
jitter; once it has been failing for 24 h the endpoint is disabled (audit entry, notice to
ADMINs) and the delivery stays PENDING at the head of its queue for when it is enabled again.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.audit import audit_record
from core.events import event_envelope
from core.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.webhooks import client
from core.webhooks.limits import BACKOFF_BASE, BACKOFF_CAP, LEASE, RETRY_WINDOW
from core.webhooks.services import secrets_in_force
from core.webhooks.signing import body_bytes, signed_headers, signers

log = logging.getLogger("healthbill.webhooks")

QUEUED_KINDS = (WebhookDelivery.Kind.EVENT, WebhookDelivery.Kind.REPLAY)
DISABLED_REASON = "failing for 24 h"
# deliveries read (and their successes written) together; the lease is renewed per batch
BATCH = 100
# ...and within a batch whose sends take long, well before the lease could lapse
LEASE_RENEW_AFTER = LEASE.total_seconds() / 3
# one dispatch call sends for at most this long, then records, releases and queues itself
# again: well inside the lease and the worker's task timeout
WALL_LIMIT = LEASE.total_seconds() / 2
# successes are written at least this often, so a killed worker re-sends few
FLUSH_EVERY = 20


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after `attempts` failures: 30 s * 2^(n-1), capped at 1 h, times 0.75-1.25.

    The jitter range is narrower than the doubling, so waits grow until the cap.
    """
    n = max(1, attempts)
    base = min(BACKOFF_BASE * (2 ** min(n - 1, 20)), BACKOFF_CAP)
    return base * (rng or random).uniform(0.75, 1.25)


def endpoint_screen_link(endpoint_id: int) -> str:
    """The endpoint's screen (its delivery log)."""
    return f"/settings/webhooks/{endpoint_id}/"


# --- from relayed events ----------------------------------------------------------------------


def deliveries_create(events: list[Event]) -> None:
    """Relay handler: one EVENT delivery per subscribed active endpoint, in event order."""
    by_tenant: dict[int, list[Event]] = defaultdict(list)
    for event in events:
        by_tenant[event.tenant_id].append(event)
    touched: list[int] = []
    now = timezone.now()
    for tenant_id, tenant_events in by_tenant.items():
        endpoints = list(
            WebhookEndpoint.objects.filter(tenant_id=tenant_id, active=True).order_by("pk")
        )
        if not endpoints:
            continue
        rows = []
        for event in sorted(tenant_events, key=lambda e: e.sequence):
            for endpoint in endpoints:
                if endpoint.created_at <= event.occurred_at and endpoint.wants(event.type):
                    rows.append(
                        WebhookDelivery(
                            tenant_id=tenant_id,
                            endpoint=endpoint,
                            event=event,
                            kind=WebhookDelivery.Kind.EVENT,
                            event_type=event.type,
                            next_attempt_at=now,
                        )
                    )
                    if endpoint.pk not in touched:
                        touched.append(endpoint.pk)
        if rows:
            WebhookDelivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)

    def fire() -> None:
        from core.queue import enqueue

        for endpoint_id in touched:
            enqueue("core.tasks.webhook_dispatch", endpoint_id, group="webhooks")

    if touched:
        transaction.on_commit(fire)


# --- sending ----------------------------------------------------------------------------------


def _message(delivery: WebhookDelivery) -> tuple[str, bytes]:
    if delivery.event_id is not None:
        event = delivery.event
        return event.message_id, body_bytes(event_envelope(event))
    payload = delivery.test_payload or {}
    return str(payload.get("id", "")), body_bytes(payload)


def delivery_attempt(delivery_id: int, *, now: datetime | None = None) -> bool:
    """Make one HTTP attempt of a delivery and record it; True if it was delivered.

    No transaction is open during the HTTP call. `now` is the (controllable) clock of the
    scheduling decisions; the `webhook-timestamp` header is the real time of sending, which is
    what a receiver checks against its own clock.
    """
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "endpoint__tenant", "event__tenant")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return False
    endpoint = delivery.endpoint
    msg_id, body = _message(delivery)
    headers = signed_headers(
        secrets_in_force=secrets_in_force(endpoint, now),
        msg_id=msg_id,
        timestamp=timezone.now(),
        body=body,
    )
    outcome = client.post(endpoint.url, body=body, headers=headers)
    return _record(delivery.pk, outcome, now=now)


def _lease_held(endpoint_id: int, token: str | None) -> bool:
    """Inside the recording transaction: does this dispatcher still hold the endpoint?

    The endpoint row is locked, so a takeover cannot slip in between this check and the
    write. A single attempt outside any dispatch (token None) holds no lease.
    """
    if token is None:
        return True
    return (
        WebhookEndpoint.objects.select_for_update()
        .filter(pk=endpoint_id, lease_token=token)
        .exists()
    )


def _record(
    delivery_id: int, outcome: client.Outcome, *, now: datetime, token: str | None = None
) -> bool:
    """Write one attempt's outcome; False (nothing written) when the lease was lost or the
    delivery is no longer PENDING (another dispatcher already settled it)."""
    with transaction.atomic():
        endpoint_id = (
            WebhookDelivery.objects.filter(pk=delivery_id)
            .values_list("endpoint_id", flat=True)
            .first()
        )
        if endpoint_id is None or not _lease_held(endpoint_id, token):
            return False
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "endpoint__tenant")
            .get(pk=delivery_id)
        )
        if delivery.status != WebhookDelivery.Status.PENDING:
            return False
        number = delivery.attempts + 1
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.excerpt,
            error=outcome.error[:300],
            succeeded=outcome.succeeded,
        )
        delivery.attempts = number
        delivery.last_attempt_at = now
        delivery.first_attempt_at = delivery.first_attempt_at or now
        delivery.last_status_code = outcome.status_code
        if outcome.succeeded:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
        elif delivery.kind == WebhookDelivery.Kind.TEST:
            delivery.status = WebhookDelivery.Status.FAILED
        elif now - delivery.first_attempt_at >= RETRY_WINDOW:
            # the delivery stays PENDING at the head of the queue (its attempts kept): enabling
            # the endpoint again resumes it, then the events of the disabled period, in order
            delivery.next_attempt_at = now + backoff(number)
            _auto_disable(delivery, now=now)
        else:
            delivery.next_attempt_at = now + backoff(number)
        delivery.save()
    if not outcome.succeeded:
        log.info(
            "webhook attempt failed",
            extra={
                "event": "webhook_attempt_failed",
                "endpoint_id": delivery.endpoint_id,
                "delivery_id": delivery.pk,
                "attempt": number,
                "status_code": outcome.status_code,
            },
        )
    return outcome.succeeded


def _auto_disable(delivery: WebhookDelivery, *, now: datetime) -> None:
    """The endpoint has failed for 24 h: disable it, audit it, tell the tenant's ADMINs."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if not endpoint.active:
        return
    endpoint.active = False
    # the real time: events of the disabled period (their occurred_at) are counted from it
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = DISABLED_REASON
    endpoint.save(update_fields=["active", "disabled_at", "disabled_reason", "updated_at"])
    tenant = delivery.endpoint.tenant
    audit_record(
        tenant=tenant,
        actor=None,
        action="WebhookEndpoint.auto_disable",
        obj=endpoint,
        reason=DISABLED_REASON,
        payload={"delivery_id": delivery.pk, "attempts": delivery.attempts},
    )
    log.warning(
        "webhook endpoint disabled",
        extra={"event": "webhook_endpoint_disabled", "endpoint_id": endpoint.pk},
    )
    from core.notifications import notify_admins

    notify_admins(
        tenant=tenant,
        kind="webhooks.endpoint.disabled",
        title=f"Webhook endpoint {endpoint.pk} was disabled after failing for 24 h",
        body=(
            f"Deliveries to endpoint {endpoint.pk} failed for 24 hours, so it was disabled. "
            "Its pending deliveries are kept; enable it again to resume them, followed by the "
            "events that happened while it was disabled."
        ),
        link=endpoint_screen_link(endpoint.pk),
    )


def _lease_take(endpoint_id: int, now: datetime) -> str | None:
    token = secrets.token_hex(8)
    won = (
        WebhookEndpoint.objects.filter(pk=endpoint_id, active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(lease_until=now + LEASE, lease_token=token)
    )
    return token if won else None


def _lease_renew(endpoint_id: int, token: str, now: datetime) -> bool:
    until = max(now, timezone.now()) + LEASE
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint_id, lease_token=token, active=True).update(
            lease_until=until
        )
    )


def _lease_release(endpoint_id: int, token: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, lease_token=token).update(
        lease_until=None, lease_token=""
    )


def _pending_batch(endpoint_id: int) -> list[WebhookDelivery]:
    """The endpoint's next pending queued deliveries, oldest first, with their events."""
    return list(
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id,
            status=WebhookDelivery.Status.PENDING,
            kind__in=QUEUED_KINDS,
        )
        .select_related("event__tenant")
        .order_by("pk")[:BATCH]
    )


def _send_one(sender: client.Sender, delivery: WebhookDelivery, signed_by: list) -> client.Outcome:
    """Sign and send one queued delivery on the dispatch's connection."""
    msg_id, body = _message(delivery)
    headers = signed_headers(
        msg_id=msg_id, timestamp=timezone.now(), body=body, signed_by=signed_by
    )
    return sender.send(body=body, headers=headers)


def _record_delivered(
    sent: list[tuple[WebhookDelivery, client.Outcome]],
    *,
    now: datetime,
    endpoint_id: int | None = None,
    token: str | None = None,
) -> bool:
    """Write a run of successful attempts in one short transaction: attempt rows, DELIVERED.

    A crash before this write only causes a re-send later (at least once; receivers dedupe on
    `webhook-id`), never a lost delivery. Returns False (nothing written) when the lease was
    lost: the dispatcher that took over owns these deliveries now. Only rows still PENDING are
    settled, and attempts are numbered from the values read under lock.
    """
    if not sent:
        return True
    with transaction.atomic():
        if endpoint_id is not None and not _lease_held(endpoint_id, token):
            return False
        fresh = dict(
            WebhookDelivery.objects.select_for_update()
            .filter(pk__in=[d.pk for d, _ in sent], status=WebhookDelivery.Status.PENDING)
            .values_list("pk", "attempts")
        )
        attempts = []
        by_code: dict[int | None, list[int]] = defaultdict(list)
        for delivery, outcome in sent:
            if delivery.pk not in fresh:
                continue
            attempts.append(
                WebhookAttempt(
                    delivery=delivery,
                    number=fresh[delivery.pk] + 1,
                    at=now,
                    status_code=outcome.status_code,
                    duration_ms=outcome.duration_ms,
                    response_excerpt=outcome.excerpt,
                    error="",
                    succeeded=True,
                )
            )
            by_code[outcome.status_code].append(delivery.pk)
        WebhookAttempt.objects.bulk_create(attempts)
        # one UPDATE per status code seen (usually one): bulk_update's CASE per row is slow
        for status_code, ids in by_code.items():
            WebhookDelivery.objects.filter(
                pk__in=ids, status=WebhookDelivery.Status.PENDING
            ).update(
                status=WebhookDelivery.Status.DELIVERED,
                attempts=F("attempts") + 1,
                first_attempt_at=Coalesce(F("first_attempt_at"), Value(now)),
                last_attempt_at=now,
                last_status_code=status_code,
                delivered_at=now,
            )
    return True


def _send_batch(
    sender: client.Sender,
    batch: list[WebhookDelivery],
    signed_by: list,
    *,
    endpoint_id: int,
    token: str,
    now: datetime,
    deadline: float,
) -> tuple[int, bool]:
    """Send a batch in order; returns (delivered, stop). Stops at the first failure, at a
    delivery not yet due, at a lost lease, or when the wall-time `deadline` (monotonic) passed.

    Successes are written every FLUSH_EVERY sends, when the batch ends, and just before a
    failure is recorded (so the log stays in id order); a long batch renews the lease as it goes.
    """
    delivered: list[tuple[WebhookDelivery, client.Outcome]] = []
    written = 0
    renewed = time.monotonic()
    stop = False
    try:
        for delivery in batch:
            if delivery.next_attempt_at > now or time.monotonic() > deadline:
                stop = True
                break
            if time.monotonic() - renewed > LEASE_RENEW_AFTER:
                if not _lease_renew(endpoint_id, token, now):
                    stop = True
                    break
                renewed = time.monotonic()
            outcome = _send_one(sender, delivery, signed_by)
            if outcome.succeeded:
                delivered.append((delivery, outcome))
                if len(delivered) >= FLUSH_EVERY:
                    done, delivered = delivered, []
                    if not _record_delivered(done, now=now, endpoint_id=endpoint_id, token=token):
                        return written, True
                    written += len(done)
                continue
            done, delivered = delivered, []
            if _record_delivered(done, now=now, endpoint_id=endpoint_id, token=token):
                _record(delivery.pk, outcome, now=now, token=token)
                return written + len(done), True
            return written, True
    finally:
        if delivered and not _record_delivered(
            delivered, now=now, endpoint_id=endpoint_id, token=token
        ):
            delivered, stop = [], True
    return written + len(delivered), stop


def _head_due(endpoint_id: int, now: datetime) -> bool:
    """Is the endpoint active with its oldest pending queued delivery due?"""
    head = (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id,
            status=WebhookDelivery.Status.PENDING,
            kind__in=QUEUED_KINDS,
            endpoint__active=True,
        )
        .order_by("pk")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return head is not None and head <= now


def _enqueue_dispatch(endpoint_id: int) -> None:
    from core.queue import enqueue

    enqueue("core.tasks.webhook_dispatch", endpoint_id, group="webhooks")


def webhook_dispatch(endpoint_id: int, *, now: datetime | None = None) -> int:
    """Send an endpoint's due pending deliveries in order; returns how many were delivered.

    Stops at the first failure (its retry is scheduled; later deliveries wait behind it), at a
    delivery not yet due, when another dispatcher holds the endpoint, or after WALL_LIMIT
    seconds. Deliveries are read in batches; before each batch the lease is renewed, the
    endpoint re-read (URL, secrets, still active) and its URL checked again (fresh DNS); one
    kept-alive connection to the checked address serves the whole call.

    Without a controlled clock (`now` not given) the clock moves on per batch, so deliveries
    created meanwhile are sent too, and after the lease is released the dispatch queues itself
    again when the endpoint's head delivery is due (work that arrived while the lease was held,
    or a run cut short by the wall-time bound).
    """
    fixed = now is not None
    now = now or timezone.now()
    token = _lease_take(endpoint_id, now)
    if token is None:
        return 0
    sent = 0
    deadline = time.monotonic() + WALL_LIMIT
    try:
        with client.Sender() as sender:
            while _lease_renew(endpoint_id, token, now):
                if time.monotonic() > deadline:
                    break
                if not fixed:
                    now = max(now, timezone.now())
                endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
                batch = _pending_batch(endpoint_id)
                if not batch:
                    break
                sender.target(endpoint.url)
                signed_by = signers(secrets_in_force(endpoint, now))
                count, stop = _send_batch(
                    sender,
                    batch,
                    signed_by,
                    endpoint_id=endpoint_id,
                    token=token,
                    now=now,
                    deadline=deadline,
                )
                sent += count
                if stop:
                    break
    finally:
        _lease_release(endpoint_id, token)
    if not fixed and _head_due(endpoint_id, timezone.now()):
        _enqueue_dispatch(endpoint_id)
    return sent


def webhooks_dispatch_due(*, now: datetime | None = None) -> int:
    """The periodic job: queue one dispatch task per active endpoint that has a delivery due.

    Returns how many were queued; each endpoint runs in its own task, so a slow receiver holds
    up only its own deliveries. With a controlled clock (`now` given: tests, tools) the
    endpoints are dispatched inline at that time instead, and the sum of deliveries is returned.
    """
    fixed = now is not None
    now = now or timezone.now()
    # a rotated-out secret past its grace period is forgotten
    WebhookEndpoint.objects.filter(previous_secret_expires_at__lte=now).update(
        previous_secret="", previous_secret_expires_at=None
    )
    endpoint_ids = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            kind__in=QUEUED_KINDS,
            next_attempt_at__lte=now,
            endpoint__active=True,
        )
        .order_by("endpoint_id")
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    if fixed:
        return sum(webhook_dispatch(pk, now=now) for pk in endpoint_ids)
    for pk in endpoint_ids:
        _enqueue_dispatch(pk)
    return len(endpoint_ids)
