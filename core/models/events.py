"""The event outbox, webhook endpoints and their deliveries, and staff notifications.

An `Event` row is written in the same transaction as the change it reports (see core.events);
the relay (core.outbox) later turns each event into webhook deliveries and notifications.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.Model):
    """One thing that happened, numbered per tenant in commit order: the outbox row."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="events")
    sequence = models.BigIntegerField()
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # ids, states, counts and amounts only: never names, birth dates or member ids
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(default=timezone.now)
    # the audit entry written by the same action (None for events an app emits on its own)
    audit_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sequence"], name="uniq_event_tenant_seq")
        ]
        indexes = [
            models.Index(fields=["tenant", "type", "sequence"], name="event_type_idx"),
            models.Index(fields=["tenant", "occurred_at"], name="event_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}#{self.sequence} {self.type}"

    @property
    def message_id(self) -> str:
        """The `webhook-id` of every delivery of this event (the same on a retry or replay)."""
        return f"evt_{self.uid.hex}"


class EventRelayCursor(models.Model):
    """How far the relay has turned a tenant's events into deliveries and notifications."""

    tenant = models.OneToOneField(
        "core.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="event_cursor"
    )
    last_sequence = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant"]

    def __str__(self) -> str:
        return f"{self.tenant_id} relayed to {self.last_sequence}"


class WebhookEndpoint(models.Model):
    """A partner URL that receives the tenant's events, signed with its secret."""

    tenant = models.ForeignKey(
        "core.Tenant", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.CharField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # catalogue type names; an empty list means every type
    event_types = models.JSONField(default=list, blank=True)
    # `whsec_` + base64 (Standard Webhooks); shown once, when created or rotated
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # one dispatcher at a time per endpoint (keeps event order); a lease, not a row lock, so no
    # transaction stays open across an HTTP call
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["tenant", "id"]

    def __str__(self) -> str:
        return f"webhook endpoint {self.pk}"

    def wants(self, event_type: str) -> bool:
        """Whether this endpoint subscribes to `event_type`."""
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One message to one endpoint (an event, a replay of one, or a test), with its attempts."""

    class Kind(models.TextChoices):
        EVENT = "EVENT", "Event"
        REPLAY = "REPLAY", "Replay"
        TEST = "TEST", "Test"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        DELIVERED = "DELIVERED", "Delivered"
        FAILED = "FAILED", "Failed"

    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EVENT)
    # for TEST deliveries (no event row): the type and body sent
    event_type = models.CharField(max_length=100)
    test_payload = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        # per endpoint, deliveries go out in id order: the relay creates them in event order
        ordering = ["endpoint", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                condition=Q(kind="EVENT"),
                name="uniq_delivery_endpoint_event",
            )
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "status", "id"],
                name="delivery_queue_idx",
            ),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: what came back and how long it took."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # the first 1 KB of the response body
    response_excerpt = models.TextField(blank=True)
    # why no usable response came back (timeout, refused address, redirect, ...)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class Notification(models.Model):
    """An in-app notice to one staff user about work that waits for them."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # an event type of the catalogue, or `webhooks.endpoint.disabled` for the ADMIN notice
    kind = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event"],
                condition=Q(event__isnull=False),
                name="uniq_notification_user_event",
            )
        ]
        indexes = [
            models.Index(fields=["user", "tenant", "read_at"], name="notification_inbox_idx")
        ]

    def __str__(self) -> str:
        return f"notification {self.pk} to {self.user_id}"


class NotificationPreference(models.Model):
    """A user's choice for one kind of notice in one tenant (no row: inbox and email both on)."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=100)
    inbox = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        ordering = ["tenant", "user", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "kind"], name="uniq_notification_pref"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"
