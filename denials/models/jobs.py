"""Nightly job runs and the claim alerts they raise."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.models import Tenant
from denials.models.claims import Claim


class JobRun(models.Model):
    """One run of one nightly job for one tenant: when, how long, what it did, why it failed."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    job = models.CharField(max_length=40)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    as_of = models.DateField(null=True, blank=True, help_text="the day the job ran for")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["tenant", "job", "-started_at"], name="jobrun_last_idx")]

    def __str__(self) -> str:
        return f"{self.job} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        """How long it took (None while running)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ClaimAlert(models.Model):
    """A timely-filing warning or alert, or a stale-claim flag, raised once per claim and kind."""

    class Kind(models.TextChoices):
        FILING_30 = "FILING_30", "Timely filing: 30 days left"
        FILING_7 = "FILING_7", "Timely filing: 7 days left"
        FILING_PAST = "FILING_PAST", "Timely filing: limit passed"
        STALE = "STALE", "Stale: no remittance in 30 days"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    raised_on = models.DateField()
    deadline = models.DateField(null=True, blank=True)
    job_run = models.ForeignKey(JobRun, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-raised_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "kind"], name="uniq_claim_alert_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.claim_id}"
