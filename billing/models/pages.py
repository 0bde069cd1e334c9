"""Page marks of a run's decision lists: where each page of 50 starts (issue 16)."""

from django.db import models

from billing.models.runs import BillingRun
from core.models import Tenant


class DecisionPageMark(models.Model):
    """The first decision id of one page of a completed run's decisions, unfiltered
    (`decision_class` blank) or of one class: page N is read from its mark by the primary key
    instead of skipping (N - 1) x 50 rows."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="+")
    decision_class = models.CharField(max_length=24, blank=True)
    page = models.PositiveIntegerField()
    first_id = models.BigIntegerField()

    class Meta:
        ordering = ["run", "decision_class", "page"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "decision_class", "page"], name="uniq_decision_page_mark"
            )
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.decision_class or 'all'} page {self.page}"
