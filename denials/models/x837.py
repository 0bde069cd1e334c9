"""The 837P interchanges sent out: control numbers, what they carried, the file itself."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models import Tenant
from denials.models.claims import MONEY


class Interchange837(models.Model):
    """One 005010X222A1 interchange written for a tenant (ISA13 is unique per tenant)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    interchange_control_number = models.CharField(max_length=9)
    group_control_number = models.CharField(max_length=9)
    claim_count = models.PositiveIntegerField(default=0)
    total_billed = models.DecimalField(**MONEY, default=Decimal("0"))
    content = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "interchange_control_number"], name="uniq_837_control_number"
            )
        ]

    def __str__(self) -> str:
        return f"837P interchange {self.interchange_control_number}"
