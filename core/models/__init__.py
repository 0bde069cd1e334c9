"""Tenancy, roles, the audit chain, API tokens, idempotency keys and dual-control requests.

Events, webhooks and notifications live in `core.models.events`.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.scopes import ALL_SCOPES, SCOPE_LABELS, Role, codename


class Tenant(models.Model):
    """One customer organisation; every domain row belongs to exactly one."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    # Screens show times in this zone; storage and the API stay in UTC.
    time_zone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        permissions = [(codename(s), SCOPE_LABELS[s]) for s in ALL_SCOPES]

    def __str__(self) -> str:
        return self.slug


class TenantPolicy(models.Model):
    """Tenant-wide settings: dual control and the thresholds later apps read."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="policy")
    dual_control_scopes = models.JSONField(default=list, blank=True)
    override_request_ttl_hours = models.PositiveIntegerField(default=72)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant"]
        verbose_name_plural = "tenant policies"

    def __str__(self) -> str:
        return f"policy of {self.tenant}"


class TenantMembership(models.Model):
    """A user's role in one tenant; scopes are derived from the role (see core.services)."""

    Role = Role

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="uniq_membership_user_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class AuditChainHead(models.Model):
    """The last entry of a tenant's chain; its row lock serialises appends."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.PROTECT, primary_key=True, related_name="audit_head"
    )
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="")
    # The tenant's last event sequence number: events are numbered under the same row lock, so
    # numbers commit in order and a consumer reading `sequence > n` never skips one.
    event_seq = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["tenant"]

    def __str__(self) -> str:
        return f"{self.tenant} @ {self.seq}"


class AuditEntry(models.Model):
    """One link of a tenant's append-only, HMAC-chained audit trail."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="audit_entries")
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["tenant", "seq"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "seq"], name="uniq_audit_tenant_seq")
        ]
        indexes = [
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["tenant", "action"], name="audit_action_idx"),
            models.Index(fields=["tenant", "at"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant}#{self.seq} {self.action}"


class ApiToken(models.Model):
    """A per-tenant API credential: hashed at rest, shown once, scopes a subset of its owner's."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        """Neither revoked nor expired."""
        if self.revoked_at:
            return False
        return not (self.expires_at and self.expires_at <= timezone.now())


class IdempotencyKey(models.Model):
    """The first response to a POST sent with an `Idempotency-Key`, kept 24 h."""

    class Status(models.TextChoices):
        IN_FLIGHT = "IN_FLIGHT"
        DONE = "DONE"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    owner = models.CharField(max_length=64)  # "token:<id>" or "user:<id>"
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="uniq_idempotency_owner_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner}/{self.key}"


class OverrideRequest(ConcurrentTransitionMixin, models.Model):
    """An override action under dual control, waiting for a second person (SPEC 2)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"
        EXPIRED = "EXPIRED", "Expired"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="override_requests")
    action = models.CharField(max_length=100)
    scope = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    summary = models.CharField(max_length=300, blank=True)
    reason = models.TextField()
    status = FSMField(default=Status.PENDING, choices=Status.choices, protected=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status"], name="override_status_idx")]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk} ({self.status})"

    def is_expired(self) -> bool:
        """Past its deadline."""
        return timezone.now() >= self.expires_at

    def not_expired(self) -> bool:
        """Still within its deadline."""
        return not self.is_expired()

    @transition(
        field=status, source=Status.PENDING, target=Status.APPROVED, conditions=[not_expired]
    )
    def approve(self, *, by, note: str = "") -> None:
        """A second person approves; the action is executed by the service."""
        self.decided_by = by
        self.decided_at = timezone.now()
        self.decision_note = note

    @transition(field=status, source=Status.PENDING, target=Status.REJECTED)
    def reject(self, *, by, note: str = "") -> None:
        """A second person refuses the action."""
        self.decided_by = by
        self.decided_at = timezone.now()
        self.decision_note = note

    @transition(field=status, source=Status.PENDING, target=Status.EXPIRED, conditions=[is_expired])
    def expire(self) -> None:
        """Nobody decided within the deadline."""
        self.decided_at = timezone.now()

    @staticmethod
    def deadline(hours: int):
        """When a request made now expires."""
        return timezone.now() + timedelta(hours=hours)


class WorkerHeartbeat(models.Model):
    """When a django-q2 worker (or the scheduler's heartbeat task) last reported; one row each."""

    name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()
    pid = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class Invitation(models.Model):
    """A one-time link inviting someone into a tenant with a role; expires, single use."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    emailed = models.BooleanField(default=False)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"invitation {self.pk} to {self.tenant} as {self.role}"

    @property
    def state(self) -> str:
        """PENDING, ACCEPTED, REVOKED or EXPIRED."""
        if self.accepted_at:
            return "ACCEPTED"
        if self.revoked_at:
            return "REVOKED"
        if self.expires_at <= timezone.now():
            return "EXPIRED"
        return "PENDING"


from core.models.events import (  # noqa: E402  (after Tenant: the event models refer to it)
    Event,
    EventRelayCursor,
    Notification,
    NotificationPreference,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from core.models.watchdog import WatchdogPass, WatchdogRequeue  # noqa: E402

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEntry",
    "Event",
    "EventRelayCursor",
    "IdempotencyKey",
    "Invitation",
    "Notification",
    "NotificationPreference",
    "OverrideRequest",
    "Tenant",
    "TenantMembership",
    "TenantPolicy",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WatchdogPass",
    "WatchdogRequeue",
    "WorkerHeartbeat",
]
