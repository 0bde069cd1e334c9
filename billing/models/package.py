"""The audit package of a production run: a PDF summary and the full decisions CSV, zipped."""

from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from billing.models.runs import BillingRun
from core.models import Tenant


class AuditPackage(ConcurrentTransitionMixin, models.Model):
    """Built by a background task; QUEUED -> BUILDING -> READY | FAILED, and rebuilt on request."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        BUILDING = "BUILDING", "Building"
        READY = "READY", "Ready"
        FAILED = "FAILED", "Failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    run = models.OneToOneField(BillingRun, on_delete=models.CASCADE, related_name="package")
    status = FSMField(default=Status.QUEUED, choices=Status.choices, protected=True)
    file = models.FileField(upload_to="packages/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    csv_sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"audit package of run {self.run_id} ({self.status})"

    @transition(field=status, source=Status.QUEUED, target=Status.BUILDING)
    def build(self) -> None:
        """A worker started on it."""
        self.error = ""

    @transition(field=status, source=Status.BUILDING, target=Status.READY)
    def ready(self, *, pdf_sha256: str, csv_sha256: str, pages: int, seconds: float) -> None:
        """Built: the file and its checksums are recorded."""
        self.pdf_sha256, self.csv_sha256, self.pages = pdf_sha256, csv_sha256, pages
        self.built_at = timezone.now()
        self.seconds = seconds

    @transition(field=status, source=[Status.QUEUED, Status.BUILDING], target=Status.FAILED)
    def fail(self, *, error: str) -> None:
        """The build failed; it can be requested again."""
        self.error = error

    @transition(field=status, source=[Status.READY, Status.FAILED], target=Status.QUEUED)
    def rebuild(self) -> None:
        """Build again (e.g. after exceptions were resolved)."""
        self.requested_at = timezone.now()
