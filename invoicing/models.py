"""Invoicing (SPEC 5): calendars, accounts and memberships, charges, invoice requests and bills."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.models import Tenant

MONEY = {"max_digits": 14, "decimal_places": 2}
WEEKDAY_CODES = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def _default_weekend() -> list[str]:
    return ["SAT", "SUN"]


class WorkCalendar(models.Model):
    """Working days of a tenant: weekend days plus holidays."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="work_calendars")
    name = models.CharField(max_length=100)
    weekend_days = models.JSONField(default=_default_weekend, blank=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_workcal_tenant_name")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        days = self.weekend_days or []
        if not isinstance(days, list) or any(d not in WEEKDAY_CODES for d in days):
            raise ValidationError(
                {"weekend_days": f"expected a list of {', '.join(WEEKDAY_CODES)}, found {days!r}"}
            )


class Holiday(models.Model):
    """A day off on a calendar, typed in or imported from the `holidays` package."""

    class Source(models.TextChoices):
        MANUAL = "MANUAL", "Manual"
        IMPORTED = "IMPORTED", "Imported"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    calendar = models.ForeignKey(WorkCalendar, on_delete=models.CASCADE, related_name="holidays")
    day = models.DateField()
    name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        ordering = ["calendar", "day"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "day"], name="uniq_holiday_calendar_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class Division(models.Model):
    """An organisational division; its calendar decides working days for its accounts."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="divisions")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200, blank=True)
    work_calendar = models.ForeignKey(
        WorkCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="divisions"
    )

    class Meta:
        ordering = ["tenant", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_division_tenant_code")
        ]

    def __str__(self) -> str:
        return self.code


class Account(models.Model):
    """What gets invoiced: charges gather on it, bills are cut for it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="accounts")
    number = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    bill_cycle_day = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    division = models.ForeignKey(
        Division, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    payer = models.ForeignKey(
        "billing.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    # an accounts-receivable classification (prepaid runs filter by it, seed 004)
    classification = models.CharField(max_length=40, blank=True, default="", db_default="")

    class Meta:
        ordering = ["tenant", "number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="uniq_account_tenant_number"),
            models.CheckConstraint(
                condition=Q(bill_cycle_day__gte=1) & Q(bill_cycle_day__lte=28),
                name="account_bill_cycle_day_1_28",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Membership(models.Model):
    """A membership billed to an account (individual or group)."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "INDIVIDUAL", "Individual"
        GROUP = "GROUP", "Group"

    class Status(models.TextChoices):
        ENROLLED = "ENROLLED", "Enrolled"
        TERMINATED = "TERMINATED", "Terminated"
        CANCELLED = "CANCELLED", "Cancelled"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="memberships")
    external_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INDIVIDUAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ENROLLED)

    class Meta:
        ordering = ["account", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="uniq_membership_account_extid"
            )
        ]

    def __str__(self) -> str:
        return self.external_id


class MembershipCharacteristic(models.Model):
    """An effective-dated characteristic of a membership (e.g. INVRACTE = Y from a day on)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="characteristics"
    )
    type = models.CharField(max_length=30)
    value = models.CharField(max_length=100)
    effective_from = models.DateField()

    class Meta:
        ordering = ["membership", "type", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "type", "effective_from"], name="uniq_membership_char"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type}={self.value} from {self.effective_from}"


class MembershipLog(models.Model):
    """A line of a membership's Log tab."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    event = models.CharField(max_length=40)
    message = models.TextField(blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    request = models.ForeignKey(
        "InvoiceRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["membership", "-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.event}"


class FeatureConfiguration(models.Model):
    """Per-tenant invoicing options (the C1-INVREQ feature configuration)."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.PROTECT, related_name="invoicing_features"
    )
    invoice_request_eligibility_char_type = models.CharField(max_length=30, default="INVRACTE")

    class Meta:
        ordering = ["tenant"]

    def __str__(self) -> str:
        return f"invoicing features of {self.tenant}"


class InvoiceRequestType(models.Model):
    """How requests of a kind are made: manual or automatic, regular or trial, approval, waits."""

    class InvoiceMode(models.TextChoices):
        MANUAL = "MANUAL", "Manual"
        AUTOMATIC = "AUTOMATIC", "Automatic"

    class BillGeneration(models.TextChoices):
        REGULAR = "REGULAR", "Regular"
        TRIAL = "TRIAL", "Trial"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200, blank=True)
    invoice_mode = models.CharField(max_length=10, choices=InvoiceMode.choices)
    bill_generation = models.CharField(max_length=10, choices=BillGeneration.choices)
    approval_required = models.BooleanField(default=False)
    defer_charge_count = models.PositiveIntegerField(null=True, blank=True)
    wait_days = models.PositiveSmallIntegerField(default=0)
    threshold_days = models.PositiveSmallIntegerField(default=0)
    work_calendar = models.ForeignKey(
        WorkCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["tenant", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_invreqtype_tenant_code")
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        from invoicing.services.types import type_rules_check

        type_rules_check(
            invoice_mode=self.invoice_mode,
            bill_generation=self.bill_generation,
            approval_required=self.approval_required,
            defer_charge_count=self.defer_charge_count,
            as_validation_error=True,
        )


class Bill(models.Model):
    """A bill cut for an account: REGULAR (posted, takes the charges) or TRIAL (a draft look)."""

    class Kind(models.TextChoices):
        REGULAR = "REGULAR", "Regular"
        TRIAL = "TRIAL", "Trial"

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        POSTED = "POSTED", "Posted"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="bills")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    cutoff_date = models.DateField()
    bill_date = models.DateField()
    accounting_date = models.DateField()
    total = models.DecimalField(default=0, **MONEY)
    line_count = models.PositiveIntegerField(default=0)
    pdf = models.FileField(upload_to="bills/%Y/%m/", blank=True)
    # why the PDF was given up on (the watchdog's last try); the bill stands without it
    pdf_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "account", "kind"], name="bill_account_idx"),
            # the watchdog's look for bills still waiting for their PDF, every minute
            models.Index(
                fields=["created_at"],
                condition=models.Q(pdf="", pdf_error=""),
                name="bill_pdf_waiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"bill {self.pk} {self.kind} ({self.status})"


class BillableCharge(models.Model):
    """Something to invoice an account for; `bill` is set once a REGULAR bill takes it."""

    class Source(models.TextChoices):
        CSV = "CSV", "CSV file"
        BILLING_RUN = "BILLING_RUN", "Billing run"
        MANUAL = "MANUAL", "Manual"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="charges")
    external_id = models.CharField(max_length=64, blank=True)
    charge_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    description = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    source_ref = models.CharField(max_length=100, blank=True)
    bill = models.ForeignKey(
        Bill, null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )

    class Meta:
        ordering = ["account", "charge_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "source_ref"],
                condition=~Q(source_ref=""),
                name="uniq_charge_source_ref",
            ),
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_charge_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "bill", "charge_date"], name="charge_unbilled_idx")
        ]

    def __str__(self) -> str:
        return f"charge {self.pk} {self.charge_date} {self.amount}"


class InvoiceRequest(ConcurrentTransitionMixin, models.Model):
    """A request to bill an account now (SPEC 5 state machine, four-eyes approval)."""

    class Origin(models.TextChoices):
        MANUAL = "MANUAL", "Manual"
        AUTOMATIC = "AUTOMATIC", "Automatic"

    class ProcessingMode(models.TextChoices):
        ONLINE = "ONLINE", "Online"
        DEFERRED = "DEFERRED", "Deferred"

    class Status(models.TextChoices):
        PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"
        PENDING = "PENDING", "Pending"
        PROCESSED = "PROCESSED", "Processed"
        ERROR = "ERROR", "Error"
        CANCELLED = "CANCELLED", "Cancelled"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    type = models.ForeignKey(InvoiceRequestType, on_delete=models.PROTECT, related_name="requests")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invoice_requests")
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    source_ref = models.CharField(max_length=100, blank=True)
    cutoff_date = models.DateField()
    bill_date = models.DateField()
    accounting_date = models.DateField()
    processing_date = models.DateField()
    processing_mode = models.CharField(
        max_length=10, choices=ProcessingMode.choices, default=ProcessingMode.ONLINE
    )
    status = FSMField(default=Status.PENDING, choices=Status.choices, protected=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_reason = models.TextField(blank=True)
    bill = models.OneToOneField(
        Bill, null=True, blank=True, on_delete=models.PROTECT, related_name="request"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "processing_date"], name="invreq_due_idx"),
        ]

    def __str__(self) -> str:
        return f"invoice request {self.pk} ({self.status})"

    # Who may approve (four-eyes, scope invoicing.request.approve) is checked by the service:
    # django-fsm's `permission=` is advisory and would not be enforced here.
    @transition(field=status, source=Status.PENDING_APPROVAL, target=Status.APPROVED)
    def approve(self, *, approver) -> None:
        """A second person approved the request (four-eyes is checked by the service)."""
        self.approved_by = approver

    @transition(field=status, source=Status.PENDING_APPROVAL, target=Status.REJECTED)
    def reject(self, *, reason: str) -> None:
        """The approver turned the request down, with a reason."""
        self.decided_reason = reason

    @transition(field=status, source=Status.APPROVED, target=Status.PENDING)
    def release(self) -> None:
        """An approved request waits for its processing date."""

    @transition(
        field=status,
        source=[Status.PENDING_APPROVAL, Status.PENDING],
        target=Status.CANCELLED,
    )
    def cancel(self, *, reason: str = "") -> None:
        """Withdrawn before processing."""
        self.decided_reason = reason

    @transition(field=status, source=Status.PENDING, target=Status.PROCESSED)
    def processed(self, *, bill: Bill) -> None:
        """The bill was cut."""
        self.bill = bill
        self.error = ""

    @transition(field=status, source=Status.PENDING, target=Status.ERROR)
    def failed(self, *, error: str) -> None:
        """Processing failed; the error names what, without personal data."""
        self.error = error

    @transition(field=status, source=Status.ERROR, target=Status.PENDING)
    def retry(self) -> None:
        """Try again after an error."""
        self.error = ""

    def clean(self) -> None:
        if self.type_id and self.account_id and self.type.tenant_id != self.account.tenant_id:
            raise ValidationError("type and account belong to different tenants")


class BillLine(models.Model):
    """One charge on a bill (a frozen copy of its date, description and amount)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    charge = models.ForeignKey(BillableCharge, on_delete=models.PROTECT, related_name="bill_lines")
    charge_date = models.DateField()
    description = models.CharField(max_length=300, blank=True)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["bill", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "position"], name="uniq_billline_position")
        ]

    def __str__(self) -> str:
        return f"line {self.position} of bill {self.bill_id}"
