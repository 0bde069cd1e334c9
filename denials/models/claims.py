"""Charges, claims and the payment applications their balance is derived from."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from billing.models import Member, Payer
from core.models import Tenant

MONEY = {"max_digits": 14, "decimal_places": 2}


class ClaimsSettings(models.Model):
    """A tenant's claim options: the 837P billing provider and envelope ids, the match threshold.

    The X12 control numbers are kept here and advanced under a row lock, one per interchange.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="claims_settings")
    provider_name = models.CharField(max_length=60, default="Billing Provider")
    provider_npi = models.CharField(max_length=10, default="1234567893")
    provider_tax_id = models.CharField(max_length=9, default="123456789")
    provider_address = models.CharField(max_length=55, default="1 Main Street")
    provider_city = models.CharField(max_length=30, default="Springfield")
    provider_state = models.CharField(max_length=2, default="IL")
    provider_zip = models.CharField(max_length=15, default="627010001")
    submitter_id = models.CharField(max_length=15, default="SUBMITTER")
    receiver_id = models.CharField(max_length=15, default="RECEIVER")
    receiver_name = models.CharField(max_length=60, default="Clearinghouse")
    usage_indicator = models.CharField(max_length=1, default="T", help_text="ISA15: T or P")
    match_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.9000"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    contact_name = models.CharField(max_length=60, default="Billing Office", help_text="PER02")
    contact_phone = models.CharField(max_length=20, default="5555550100", help_text="PER04")
    interchange_control_number = models.PositiveIntegerField(default=0)
    group_control_number = models.PositiveIntegerField(default=0)
    claim_counter = models.PositiveIntegerField(
        default=0, help_text="the last claim number given (CLM-000001 ...), advanced under lock"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant"]
        verbose_name_plural = "claims settings"

    def __str__(self) -> str:
        return f"claims settings of {self.tenant}"


class Charge(ConcurrentTransitionMixin, models.Model):
    """One billable service line as the CHARGES file sent it; validated before it is claimed.

    The payer and member are kept as sent (codes) and resolved on validation, so a charge that
    named a member not yet loaded becomes VALID when the nightly job re-validates it.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending validation"
        VALID = "VALID", "Valid"
        INVALID = "INVALID", "Invalid"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    charge_id = models.CharField(max_length=64)
    claim_number = models.CharField(max_length=38, blank=True)
    member_code = models.CharField(max_length=64)
    payer_code = models.CharField(max_length=30)
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payer = models.ForeignKey(
        Payer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    service_date = models.DateField()
    code = models.CharField(max_length=48)
    modifier = models.CharField(max_length=20, blank=True)
    units = models.DecimalField(max_digits=9, decimal_places=3, default=Decimal("1"))
    amount = models.DecimalField(**MONEY)
    authorization = models.CharField(max_length=50, blank=True)
    status = FSMField(default=Status.PENDING, choices=Status.choices, protected=True)
    errors = models.JSONField(default=list, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    batch_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "charge_id"], name="uniq_charge_tenant_id")
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="charge_status_idx")]

    def __str__(self) -> str:
        return f"charge {self.charge_id} ({self.status})"

    @transition(
        field=status,
        source=[Status.PENDING, Status.INVALID, Status.VALID],
        target=RETURN_VALUE(Status.VALID, Status.INVALID),
    )
    def validated(self, *, errors: list[str], member=None, payer=None) -> str:
        """Validation found these errors (none: VALID), and resolved the member and payer."""
        self.errors = list(errors)
        self.member = member
        self.payer = payer
        self.validated_at = timezone.now()
        return self.Status.INVALID if errors else self.Status.VALID


class Claim(ConcurrentTransitionMixin, models.Model):
    """A claim to a payer: lines from charges; its balance comes from applications only."""

    class Status(models.TextChoices):
        BUILT = "BUILT", "Built"
        SUBMITTED = "SUBMITTED", "Submitted"
        PAID = "PAID", "Paid"
        PARTIALLY_PAID = "PARTIALLY_PAID", "Partially paid"
        DENIED = "DENIED", "Denied"
        CLOSED = "CLOSED", "Closed"

    OPEN = (Status.BUILT, Status.SUBMITTED, Status.PARTIALLY_PAID, Status.DENIED, Status.PAID)
    SETTLED = (Status.SUBMITTED, Status.PAID, Status.PARTIALLY_PAID, Status.DENIED)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=20)
    # CLM01 / CLP01: the charges' claim_number when they carried one, else the claim number.
    patient_control_number = models.CharField(max_length=38)
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    service_date = models.DateField(help_text="first service date of the lines")
    service_date_to = models.DateField(help_text="last service date of the lines")
    billed_amount = models.DecimalField(**MONEY)
    status = FSMField(default=Status.BUILT, choices=Status.choices, protected=True)
    built_at = models.DateTimeField(default=timezone.now)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    interchange_control_number = models.CharField(max_length=9, blank=True)
    # What the payer is told about this claim (837P CLM05-3, SBR01, REF*F8, REF*G1, 2320).
    frequency_code = models.CharField(
        max_length=1, default="1", help_text="CLM05-3: 1 original, 7 replacement of a prior claim"
    )
    original = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacements",
        help_text="the claim this one replaces (frequency code 7)",
    )
    original_reference = models.CharField(
        max_length=50, blank=True, help_text="REF*F8: the payer's control number of the original"
    )
    payer_sequence = models.CharField(
        max_length=1, default="P", help_text="SBR01: P primary, S secondary, T tertiary"
    )
    primary_claim = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="secondary_claims",
        help_text="the prior payer's claim a secondary claim follows",
    )
    prior_payer_paid = models.DecimalField(**MONEY, default=Decimal("0"))
    prior_adjustments = models.JSONField(
        default=list, blank=True, help_text="the prior payer's CAS triples: group, carc, amount"
    )
    subscriber_id = models.CharField(
        max_length=80, blank=True, help_text="the member id the claim was sent under (PHI)"
    )
    authorization = models.CharField(max_length=50, blank=True, help_text="REF*G1 prior auth")
    correction_attempt = models.ForeignKey(
        "denials.CorrectionAttempt",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the auto-correction attempt that built this replacement",
    )

    class Meta:
        ordering = ["-built_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="uniq_claim_tenant_number")
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="claim_status_idx"),
            models.Index(fields=["payer", "patient_control_number"], name="claim_payer_pcn_idx"),
            models.Index(fields=["payer", "member"], name="claim_payer_member_idx"),
        ]

    def __str__(self) -> str:
        return f"claim {self.number} ({self.status})"

    @transition(field=status, source=Status.BUILT, target=Status.SUBMITTED)
    def submit(self, *, at, interchange: str) -> None:
        """The claim went out in an 837P interchange."""
        self.submitted_at = at
        self.interchange_control_number = interchange

    @transition(
        field=status,
        source=[Status.BUILT, *SETTLED],
        target=RETURN_VALUE(Status.SUBMITTED, Status.PAID, Status.PARTIALLY_PAID, Status.DENIED),
    )
    def settle(self, *, status: str) -> str:
        """Posting (or unposting) a remittance set the claim's status from its result."""
        return status

    @transition(field=status, source=list(OPEN), target=Status.CLOSED)
    def close(self) -> None:
        """Nothing more is expected on the claim."""


class ClaimLine(models.Model):
    """One service line of a claim: one charge."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    # The charge of an original claim's line; a replacement's or secondary's line has none and
    # names the line it was copied from instead.
    charge = models.OneToOneField(
        Charge, null=True, blank=True, on_delete=models.PROTECT, related_name="claim_line"
    )
    source_line = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="copies"
    )
    line_number = models.PositiveIntegerField()
    service_date = models.DateField()
    code = models.CharField(max_length=48)
    modifier = models.CharField(max_length=20, blank=True)
    units = models.DecimalField(max_digits=9, decimal_places=3)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["claim", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "line_number"], name="uniq_claimline_number")
        ]

    def __str__(self) -> str:
        return f"line {self.line_number} of {self.claim_id}"


class PaymentApplication(models.Model):
    """Money applied to a claim. Amounts are positive; the kind says which way they count.

    balance = billed - payments - adjustments - patient responsibility - write-offs + reversals
    """

    class Kind(models.TextChoices):
        PAYMENT = "PAYMENT", "Payment"
        ADJUSTMENT = "ADJUSTMENT", "Adjustment"
        PATIENT_RESPONSIBILITY = "PATIENT_RESPONSIBILITY", "Patient responsibility"
        WRITEOFF = "WRITEOFF", "Write-off"
        REVERSAL = "REVERSAL", "Reversal"

    REDUCES = (Kind.PAYMENT, Kind.ADJUSTMENT, Kind.PATIENT_RESPONSIBILITY, Kind.WRITEOFF)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="applications")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    group_code = models.CharField(max_length=2, blank=True)
    carc = models.CharField(max_length=5, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    remittance_claim = models.ForeignKey(
        "denials.RemittanceClaim",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    line_number = models.PositiveIntegerField(null=True, blank=True, help_text="835 SVC line")
    denial = models.ForeignKey(
        "denials.Denial", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["claim", "created_at", "id"]
        indexes = [models.Index(fields=["tenant", "kind"], name="payapp_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on {self.claim_id}"

    @property
    def signed_amount(self) -> Decimal:
        """What this application does to the claim's balance."""
        return self.amount if self.kind == self.Kind.REVERSAL else -self.amount
