"""Artifacts (uploaded files), batches of records and the records themselves (SPEC 8)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from core.models import Tenant


class Kind(models.TextChoices):
    """What an artifact or batch carries; each kind has a registered record handler."""

    ELIGIBILITY = "ELIGIBILITY", "Eligibility"
    SERVICE_DELIVERY = "SERVICE_DELIVERY", "Service delivery"
    ENROLLMENT = "ENROLLMENT", "Enrollment (X12 834 or CSV)"
    CHARGES = "CHARGES", "Charges"
    REMITTANCE = "REMITTANCE", "Remittance (X12 835 or CSV)"
    MEMBERSHIP_EVENTS = "MEMBERSHIP_EVENTS", "Membership events"
    BILLABLE_CHARGES = "BILLABLE_CHARGES", "Billable charges (invoicing)"
    COVERAGE = "COVERAGE", "Coverage (COB)"


class Artifact(models.Model):
    """One uploaded file, kept as received; its arrival time is every row's `received_at`."""

    Kind = Kind

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="artifacts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    file = models.FileField(upload_to="artifacts/%Y/%m/", blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["tenant", "kind", "sha256"], name="artifact_sha_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"


class Batch(ConcurrentTransitionMixin, models.Model):
    """A set of records processed in chunks; counters always tie out (SPEC 8)."""

    Kind = Kind

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        PROCESSING = "PROCESSING", "Processing"
        COMPLETED = "COMPLETED", "Completed"
        COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS", "Completed with exceptions"
        FAILED = "FAILED", "Failed"

    class Format(models.TextChoices):
        CSV = "CSV"
        JSON = "JSON"
        X12 = "X12"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="batches")
    artifact = models.ForeignKey(
        Artifact, null=True, blank=True, on_delete=models.PROTECT, related_name="batches"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.CSV)
    idempotency_key_fields = models.JSONField(default=list)
    options = models.JSONField(default=dict, blank=True)
    status = FSMField(default=Status.PENDING, choices=Status.choices, protected=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    success = models.PositiveIntegerField(default=0)
    error = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # duplicates of a loaded key whose newer values (e.g. a corrected name) were applied
    updated = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # when a queued chunk last finished or the batch was retried: the job watchdog's sign of life
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "batches"
        indexes = [models.Index(fields=["tenant", "status"], name="batch_status_idx")]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.kind}, {self.status})"

    @property
    def pending(self) -> int:
        """Records not processed yet."""
        return self.total - self.processed

    @property
    def total_known(self) -> bool:
        """The records are stored, so the total is known (never for a file that failed)."""
        return self.total > 0

    @property
    def percent(self) -> int | None:
        """Progress for the screens and the API; None while the total is not known."""
        if not self.total_known:
            return None
        return int(100 * self.processed / self.total)

    @property
    def waiting(self) -> bool:
        """Queued, its total not known yet: the screens show an indeterminate bar."""
        return self.is_active and not self.total_known

    @property
    def is_active(self) -> bool:
        """Still being worked on (the screens poll it)."""
        return self.status in (self.Status.PENDING, self.Status.PROCESSING)

    def all_processed(self) -> bool:
        """No record left pending."""
        return self.processed >= self.total

    def has_errors(self) -> bool:
        """Some records failed."""
        return self.error > 0

    @transition(field=status, source=Status.PENDING, target=Status.PROCESSING)
    def start(self) -> None:
        """Records are stored; chunks are queued."""
        self.started_at = timezone.now()

    @transition(
        field=status,
        source=Status.PROCESSING,
        target=RETURN_VALUE(Status.COMPLETED, Status.COMPLETED_WITH_ERRORS),
        conditions=[all_processed],
    )
    def finish(self) -> str:
        """Every record is processed: completed, with or without errors."""
        self.finished_at = timezone.now()
        return self.Status.COMPLETED_WITH_ERRORS if self.error else self.Status.COMPLETED

    @transition(field=status, source=[Status.PENDING, Status.PROCESSING], target=Status.FAILED)
    def fail(self, *, message: str) -> None:
        """The file as a whole cannot be processed (unreadable, columns missing)."""
        self.failure = message
        self.finished_at = timezone.now()

    @transition(
        field=status,
        source=Status.COMPLETED_WITH_ERRORS,
        target=Status.PROCESSING,
        conditions=[has_errors],
    )
    def retry(self) -> None:
        """Failed records go back to pending and are processed again."""
        self.finished_at = None


LOADED_KEY_CONSTRAINT = "uniq_record_loaded_key"


class BatchRecord(models.Model):
    """One row of a batch: its data, what became of it and its idempotency key."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SUCCESS = "SUCCESS", "Success"
        ERROR = "ERROR", "Error"
        SKIPPED = "SKIPPED", "Skipped"
        UPDATED = "UPDATED", "Updated"

    # No foreign-key constraints (a per-row check at commit was a tenth of a 100,000-row load):
    # one statement-level trigger checks each insert's (batch, tenant) pairs set-based, and a
    # batch still holding records cannot be deleted (migration 0007, docs/benchmarks.md).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    # no index of its own: the unique (batch, row_number) index leads with it
    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, related_name="records", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    row_number = models.PositiveIntegerField()
    data = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    error_detail = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["batch", "row_number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row_number"], name="uniq_record_batch_row"),
            # A key is loaded once per tenant and kind, even by two workers at the same moment:
            # the second chunk's transaction fails on this index and its record is SKIPPED.
            models.UniqueConstraint(
                fields=["tenant", "kind", "idempotency_key"],
                name=LOADED_KEY_CONSTRAINT,
                condition=models.Q(status="SUCCESS"),
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "status", "row_number"], name="record_status_idx"),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number} of batch {self.batch_id}"
