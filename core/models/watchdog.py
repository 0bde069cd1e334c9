"""The job watchdog's records: its passes, and how often it re-queued each stuck job."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class WatchdogPass(models.Model):
    """One pass of the watchdog (every minute): what it re-queued and what it failed.

    `actions` holds the job kind, its id and what was done, never PHI.
    """

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    requeued = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    actions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"watchdog pass {self.started_at:%Y-%m-%d %H:%M:%S}"


class WatchdogRequeue(models.Model):
    """How often the watchdog re-queued one stuck job since it last made progress."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    count = models.PositiveSmallIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "object_id"], name="uniq_watchdog_job")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.object_id}: {self.count}"
