"""Denial work (issue 14): auto-correction attempts, coverages and COB overrides."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.models import Member, Payer
from core.models import Tenant
from denials.models.claims import Claim
from denials.models.remittances import Denial


class CorrectionAttempt(models.Model):
    """One run of an auto-correction handler on a denial: what it read, what it decided.

    `fingerprint` is a hash of exactly the inputs the handler read (`inputs`), so the same
    (denial, handler, fingerprint) returns this attempt instead of running again; a force-retry
    (`forced`, with its reason) runs anyway and is kept beside it.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "SUCCESS", "Success"
        SKIPPED = "SKIPPED", "Skipped"
        FAILED = "FAILED", "Failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    denial = models.ForeignKey(Denial, on_delete=models.PROTECT, related_name="corrections")
    handler = models.CharField(max_length=40)
    handler_version = models.CharField(max_length=20, blank=True)
    fingerprint = models.CharField(max_length=64)
    inputs = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    result = models.JSONField(default=dict, blank=True)
    corrected_claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    forced = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["denial", "handler", "fingerprint"],
                condition=models.Q(forced=False),
                name="uniq_correction_fingerprint",
            )
        ]
        indexes = [models.Index(fields=["tenant", "outcome"], name="correction_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.handler} on denial {self.denial_id}: {self.outcome}"


class Coverage(models.Model):
    """A member's coverage with one payer (SPEC 6), what the COB ladder orders."""

    class Kind(models.TextChoices):
        COMMERCIAL = "COMMERCIAL", "Commercial"
        MEDICARE = "MEDICARE", "Medicare"
        MEDICAID = "MEDICAID", "Medicaid"
        OTHER = "OTHER", "Other"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    employer_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="employees of the employer behind the coverage"
    )
    active_employment = models.BooleanField(
        default=False, help_text="the member (or spouse) is actively employed there"
    )
    effective = models.DateField()
    termination = models.DateField(null=True, blank=True, help_text="last covered day")
    batch_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["member", "effective", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "member", "payer", "effective"], name="uniq_coverage_span"
            )
        ]
        indexes = [models.Index(fields=["tenant", "member"], name="coverage_member_idx")]

    def __str__(self) -> str:
        return f"{self.kind} coverage {self.pk}"


class CobOverride(models.Model):
    """A person's ordering of a member's payers that wins over the ladder until removed."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    ordering = models.JSONField(help_text="payer codes, primary first")
    reason = models.TextField()
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "member"],
                condition=models.Q(active=True),
                name="uniq_active_cob_override",
            )
        ]

    def __str__(self) -> str:
        return f"COB override {self.pk} ({'active' if self.active else 'removed'})"
