"""Prepaid billing runs, their chunks and errors, and the items they rate (SPEC 7)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from core.models import Tenant

MONEY = {"max_digits": 14, "decimal_places": 2}


class PrepaidBillingRun(ConcurrentTransitionMixin, models.Model):
    """One identification, rating, debiting (and estimation) pass as of a date."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        IDENTIFICATION_AND_RATING = "IDENTIFICATION_AND_RATING", "Identification and rating"
        COMPLETED = "COMPLETED", "Completed"
        COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS", "Completed with errors"
        FAILED = "FAILED", "Failed"

    class Estimation(models.TextChoices):
        SKIP = "SKIP", "Skip estimations"
        ALL = "ALL", "Re-estimate all wallets"
        CHANGED = "CHANGED", "Re-estimate wallets with changes"

    ENDED = (Status.COMPLETED, Status.COMPLETED_WITH_ERRORS, Status.FAILED)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="prepaid_runs")
    as_of = models.DateField()
    # filters: account numbers, subscription external ids, account classifications (empty = all)
    accounts = models.JSONField(default=list, blank=True)
    subscriptions = models.JSONField(default=list, blank=True)
    classifications = models.JSONField(default=list, blank=True)
    estimation = models.CharField(max_length=7, choices=Estimation.choices, default=Estimation.SKIP)
    recurring_interval_days = models.PositiveIntegerField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)  # a recurring successor's start
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="successor"
    )
    status = FSMField(default=Status.DRAFT, choices=Status.choices, protected=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triggered_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts_total = models.PositiveIntegerField(default=0)
    accounts_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    rated_count = models.PositiveIntegerField(default=0)  # rated items written
    debited_total = models.DecimalField(default=0, **MONEY)  # sum of DEBITs (positive)
    credited_total = models.DecimalField(default=0, **MONEY)  # sum of usage CREDITs
    invalid_count = models.PositiveIntegerField(default=0)  # services made INVALID
    errors_count = models.PositiveIntegerField(default=0)
    wallets_estimated = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)
    # the active wallet definition when the run started, and the causes it let debit
    # (null = no definition: every cause debits)
    wallet_definition = models.ForeignKey(
        "wallets.WalletDefinition",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    debit_causes = models.JSONField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-triggered_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status"], name="prepaid_run_status_idx")]

    def __str__(self) -> str:
        return f"prepaid run {self.pk} as of {self.as_of} ({self.status})"

    @property
    def is_active(self) -> bool:
        """Draft or rating (screens poll it)."""
        return self.status in (self.Status.DRAFT, self.Status.IDENTIFICATION_AND_RATING)

    @property
    def debits_prepaid_billing(self) -> bool:
        """Prepaid billing may debit the wallets in this run (no definition, or it is listed)."""
        return self.debit_causes is None or "PREPAID_BILLING" in self.debit_causes

    @property
    def percent(self) -> int | None:
        """Accounts done out of accounts in scope; None while a draft."""
        if self.status == self.Status.DRAFT:
            return None
        return (
            100 if not self.accounts_total else int(100 * self.accounts_done / self.accounts_total)
        )

    def all_chunks_done(self) -> bool:
        """Every chunk has been processed."""
        return self.chunks_done >= self.chunks_total

    @transition(field=status, source=Status.DRAFT, target=Status.IDENTIFICATION_AND_RATING)
    def start(self) -> None:
        """A worker picked the run up; accounts are chunked."""
        self.started_at = timezone.now()

    @transition(
        field=status,
        source=Status.IDENTIFICATION_AND_RATING,
        target=RETURN_VALUE(Status.COMPLETED, Status.COMPLETED_WITH_ERRORS),
        conditions=[all_chunks_done],
    )
    def complete(self) -> str:
        """Every account was processed; per-service errors make it 'with errors'."""
        self.finished_at = timezone.now()
        return self.Status.COMPLETED_WITH_ERRORS if self.errors_count else self.Status.COMPLETED

    @transition(
        field=status,
        source=[Status.DRAFT, Status.IDENTIFICATION_AND_RATING],
        target=Status.FAILED,
    )
    def fail(self, *, message: str) -> None:
        """The run cannot finish; what it debited stays in the ledger with its items."""
        self.failure = message
        self.finished_at = timezone.now()


class PrepaidRunChunk(models.Model):
    """A slice of a run's accounts, processed once, one transaction per account."""

    run = models.ForeignKey(PrepaidBillingRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    account_ids = models.JSONField(default=list)
    done = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    # node/pid of the process that finished the chunk (core.node.worker_label; issue 17)
    worker = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="uniq_prepaid_run_chunk")
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of prepaid run {self.run_id}"


class PrepaidRunError(models.Model):
    """A service (or account) a run could not rate or debit, and why."""

    run = models.ForeignKey(PrepaidBillingRun, on_delete=models.CASCADE, related_name="errors")
    account = models.ForeignKey(
        "invoicing.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    service = models.ForeignKey(
        "wallets.SubscriptionService",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    code = models.CharField(max_length=40)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "service", "code"],
                condition=Q(service__isnull=False),
                name="uniq_prepaid_error_service",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} in prepaid run {self.run_id}"


class RatedItem(models.Model):
    """A rated period of a service (or a usage record): what it cost and what was debited."""

    class Kind(models.TextChoices):
        SERVICE = "SERVICE", "Service period"
        USAGE = "USAGE", "Usage record"
        PENALTY = "PENALTY_EARLY_CANCELLATION", "Early-cancellation penalty"

    class Sign(models.TextChoices):
        POSITIVE = "POSITIVE", "Positive (charge)"
        NEGATIVE = "NEGATIVE", "Negative (credit)"

    class State(models.TextChoices):
        NOT_BILLED = "NOT_BILLED", "Not billed"
        BILLED = "BILLED", "Billed"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(PrepaidBillingRun, on_delete=models.PROTECT, related_name="items")
    account = models.ForeignKey("invoicing.Account", on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(
        "wallets.SubscriptionService", on_delete=models.PROTECT, related_name="items"
    )
    usage = models.OneToOneField(
        "wallets.UsageRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rated_item",
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    start = models.DateField()
    end = models.DateField()  # exclusive
    active_days = models.PositiveIntegerField(default=0)
    # the price in force when rated: a later price change never touches this item
    price_per_period = models.DecimalField(null=True, blank=True, **MONEY)
    period_days = models.PositiveIntegerField(null=True, blank=True)
    amount = models.DecimalField(**MONEY)  # signed gross: charges positive, credits negative
    # issue 18: the breakdown (gross = net - discount + vat), what priced it and why it was split
    component = models.ForeignKey(
        "wallets.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rate_from = models.DateField(null=True, blank=True)  # the price plan rate's effective_from
    net = models.DecimalField(default=0, db_default=0, **MONEY)
    discount = models.DecimalField(default=0, db_default=0, **MONEY)
    vat_rate = models.DecimalField(default=0, db_default=0, max_digits=7, decimal_places=4)
    vat = models.DecimalField(default=0, db_default=0, **MONEY)
    gross = models.DecimalField(default=0, db_default=0, **MONEY)
    discounts = models.JSONField(default=list, blank=True)  # [{code, name, kind, value, amount}]
    reasons = models.JSONField(default=list, blank=True)  # why the item starts/ends where it does
    # unique per service: kind, start, end, component, rate, discounts, VAT rate (rating.py)
    identity = models.CharField(max_length=255, default="", db_default="")
    sign = models.CharField(max_length=8, choices=Sign.choices)
    debited = models.DecimalField(default=0, **MONEY)  # what the wallet gave (capped or not)
    state = FSMField(default=State.NOT_BILLED, choices=State.choices, protected=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "account", "service", "start", "id"]
        indexes = [models.Index(fields=["service", "start"], name="rated_item_service_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "identity"],
                condition=~Q(kind="USAGE"),
                name="uniq_rated_item_identity",
            ),
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="item_end_ge_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.start}..{self.end} {self.amount}"

    @transition(field=state, source=State.NOT_BILLED, target=State.BILLED)
    def bill(self) -> None:
        """The wallet was debited (or credited) for the item."""
