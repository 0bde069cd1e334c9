"""Billing facts (SPEC 4, Facts): payers, members, eligibility assertions, service events."""

from django.db import models

from core.models import Tenant
from ingestion.models import Artifact, Batch


class Payer(models.Model):
    """An insurer the tenant bills."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="payers")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    timely_filing_days = models.PositiveIntegerField(default=365)
    # How the payer names itself in X12 835 files (N1*PR04 or TRN03), to find it on load.
    x12_payer_id = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["tenant", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_payer_tenant_code")
        ]

    def __str__(self) -> str:
        return self.code


class Member(models.Model):
    """A covered person. PHI: never put these fields in logs or error messages."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="members")
    external_id = models.CharField(max_length=64)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    # Which file set the names and birth date: only a newer file (by file_date, then arrival)
    # may change them. Empty for members whose source is not known (any file may then).
    demographics_file_date = models.DateField(null=True, blank=True)
    demographics_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="uniq_member_tenant_external"
            )
        ]

    def __str__(self) -> str:
        return f"member {self.pk}"


class EligibilityAssertion(models.Model):
    """One line of an eligibility file: what a source said about a member's coverage."""

    class SourceKind(models.TextChoices):
        MANUAL = "MANUAL"
        AMENDED_FILE = "AMENDED_FILE"
        FULL_FILE = "FULL_FILE"
        CHANGE_FILE = "CHANGE_FILE"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        PENDING = "PENDING"
        TERMINATED = "TERMINATED"
        CANCELLED = "CANCELLED"

    # No foreign-key constraints (five per-row checks at commit were a fifth of a 100,000-row
    # load): one statement-level trigger checks each insert's references set-based, under the
    # row's tenant, and a referenced member, payer, batch or artifact cannot be deleted
    # (migration 0015, docs/benchmarks.md).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    payer = models.ForeignKey(
        Payer, on_delete=models.PROTECT, related_name="assertions", db_constraint=False
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="assertions", db_constraint=False
    )
    source_kind = models.CharField(max_length=12, choices=SourceKind.choices)
    file_date = models.DateField()
    received_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    effective_date = models.DateField()
    termination_date = models.DateField(null=True, blank=True)  # last covered day
    benefit_code = models.CharField(max_length=20)
    benefit_suffix = models.CharField(max_length=10, blank=True)
    artifact = models.ForeignKey(
        Artifact,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    batch = models.ForeignKey(
        Batch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "payer", "member", "received_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "payer", "member"], name="assertion_payer_member_idx"),
            models.Index(fields=["tenant", "payer", "received_at"], name="assertion_received_idx"),
        ]

    def __str__(self) -> str:
        return f"assertion {self.pk} ({self.status})"


class ServiceDeliveryEvent(models.Model):
    """A service delivered to a member (qualifies the member-month when required)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="service_events")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="service_events")
    service_date = models.DateField()
    service_code = models.CharField(max_length=20)
    received_at = models.DateTimeField()
    artifact = models.ForeignKey(
        Artifact, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "payer", "member", "service_date", "id"]
        indexes = [
            models.Index(fields=["tenant", "payer", "member"], name="service_payer_member_idx"),
            models.Index(fields=["tenant", "payer", "service_date"], name="service_date_idx"),
        ]

    def __str__(self) -> str:
        return f"service {self.pk} on {self.service_date}"
