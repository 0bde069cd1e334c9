"""Rule versions (DRAFT -> ACTIVE -> RETIRED) and member-month overrides."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from billing.models.facts import Member, Payer
from core.models import Tenant


class RuleVersion(ConcurrentTransitionMixin, models.Model):
    """A payer's billing rules from `effective_from` on; params follow the SPEC 4 schema."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        ACTIVE = "ACTIVE", "Active"
        RETIRED = "RETIRED", "Retired"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="rule_versions")
    version = models.CharField(max_length=20)
    effective_from = models.DateField()
    status = FSMField(default=Status.DRAFT, choices=Status.choices, protected=True)
    params = models.JSONField()
    params_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payer", "effective_from", "version"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "version"], name="uniq_rule_payer_version")
        ]

    def __str__(self) -> str:
        return f"{self.payer} v{self.version}"

    @transition(field=status, source=Status.DRAFT, target=Status.ACTIVE)
    def activate(self) -> None:
        """The version applies to months from effective_from on."""
        self.activated_at = timezone.now()

    @transition(field=status, source=Status.ACTIVE, target=Status.RETIRED)
    def retire(self) -> None:
        """No longer used for new months; still used for past months it covered."""
        self.retired_at = timezone.now()


class MemberMonthOverride(models.Model):
    """A person's decision that a member-month is (not) billable, with a reason (step 9)."""

    class Outcome(models.TextChoices):
        BILLABLE = "BILLABLE", "Billable"
        NOT_BILLABLE = "NOT_BILLABLE", "Not billable"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="overrides")
    month = models.DateField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    rate = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "payer", "month", "member"], name="override_lookup_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["payer", "member", "month"],
                condition=models.Q(active=True),
                name="uniq_active_override",
            )
        ]

    def __str__(self) -> str:
        return f"override {self.pk} ({self.outcome})"
