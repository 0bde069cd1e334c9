"""Month close: a payer's month reviewed and closed after its authoritative run (issue 10)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from billing.models.facts import Payer
from billing.models.runs import BillingRun
from core.models import Tenant


class MonthClose(ConcurrentTransitionMixin, models.Model):
    """A (payer, month) closed on its authoritative run; reopening keeps the row as history."""

    class Status(models.TextChoices):
        CLOSED = "CLOSED", "Closed"
        REOPENED = "REOPENED", "Reopened"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="month_closes")
    month = models.DateField()
    run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, related_name="month_closes")
    status = FSMField(default=Status.CLOSED, choices=Status.choices, protected=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)
    # What was reviewed, as it stood when the month was closed.
    members = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    open_exceptions = models.PositiveIntegerField(default=0)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopen_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-month", "payer", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "payer", "month"],
                condition=models.Q(status="CLOSED"),
                name="one_closed_month_per_payer",
            )
        ]
        indexes = [models.Index(fields=["tenant", "month", "payer"], name="month_close_idx")]

    def __str__(self) -> str:
        return f"close {self.pk} {self.month:%Y-%m} payer {self.payer_id} ({self.status})"

    @transition(field=status, source=Status.CLOSED, target=Status.REOPENED)
    def reopen(self, *, by, reason: str, approved_by=None) -> None:
        """The month may be billed again; this close stays on record."""
        self.reopened_by = by
        self.reopen_approved_by = approved_by
        self.reopened_at = timezone.now()
        self.reopen_reason = reason
