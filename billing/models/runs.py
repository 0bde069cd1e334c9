"""Billing runs, the payers and chunks they cover, their decisions and exceptions (SPEC 4)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from billing.engine import DecisionClass
from billing.models.facts import Member, Payer
from billing.models.rules import RuleVersion
from core.models import Tenant


class BillingRun(ConcurrentTransitionMixin, models.Model):
    """One evaluation of a month for some payers, in production or simulation."""

    class Mode(models.TextChoices):
        PRODUCTION = "PRODUCTION", "Production"
        SIMULATION = "SIMULATION", "Simulation"

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        COMPLETED = "COMPLETED", "Completed"
        COMPLETED_WITH_EXCEPTIONS = "COMPLETED_WITH_EXCEPTIONS", "Completed with exceptions"
        FAILED = "FAILED", "Failed"
        CANCELLED = "CANCELLED", "Cancelled"
        SUPERSEDED = "SUPERSEDED", "Superseded"

    DONE = (Status.COMPLETED, Status.COMPLETED_WITH_EXCEPTIONS)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="billing_runs")
    month = models.DateField()
    mode = models.CharField(max_length=10, choices=Mode.choices)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    reason = models.TextField(blank=True)
    payers = models.ManyToManyField(Payer, through="RunPayer", related_name="runs")
    status = FSMField(default=Status.QUEUED, choices=Status.choices, protected=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triggered_at = models.DateTimeField(default=timezone.now)
    evidence_cutoff = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    members_total = models.PositiveIntegerField(default=0)
    members_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    decisions_count = models.PositiveIntegerField(default=0)
    exceptions_count = models.PositiveIntegerField(default=0)
    open_exceptions = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    digest = models.CharField(max_length=64, blank=True)
    # Lowest and highest decision id of the run (set on completion): lists of a big table scan
    # only the run's stretch of the primary key instead of the rows of every earlier run.
    first_decision_id = models.BigIntegerField(null=True, blank=True)
    last_decision_id = models.BigIntegerField(null=True, blank=True)
    final_hash = models.CharField(max_length=64, blank=True)
    roster = models.FileField(upload_to="rosters/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-triggered_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "month", "mode", "status"], name="run_month_idx"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.month:%Y-%m} v{self.version} ({self.status})"

    @property
    def is_active(self) -> bool:
        """Queued or running (screens poll it)."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int | None:
        """Members done out of members in scope; None while queued (the total is not known)."""
        if self.status == self.Status.QUEUED:
            return None
        return 100 if not self.members_total else int(100 * self.members_done / self.members_total)

    def all_chunks_done(self) -> bool:
        """Every chunk has written its decisions."""
        return self.chunks_done >= self.chunks_total

    def no_open_exceptions(self) -> bool:
        """Every exception is resolved."""
        return self.open_exceptions == 0

    @property
    def open_exception_work(self) -> int:
        """Open exceptions that still ask for work: none once a regeneration superseded the run
        (they are closed by supersession)."""
        return 0 if self.status == self.Status.SUPERSEDED else self.open_exceptions

    @transition(field=status, source=Status.QUEUED, target=Status.RUNNING)
    def start(self) -> None:
        """A worker picked the run up; chunks are planned."""
        self.started_at = timezone.now()

    @transition(
        field=status,
        source=Status.RUNNING,
        target=RETURN_VALUE(Status.COMPLETED, Status.COMPLETED_WITH_EXCEPTIONS),
        conditions=[all_chunks_done],
    )
    def complete(self) -> str:
        """Every member has a decision; open exceptions make it 'with exceptions'."""
        self.finished_at = timezone.now()
        return (
            self.Status.COMPLETED_WITH_EXCEPTIONS if self.open_exceptions else self.Status.COMPLETED
        )

    @transition(field=status, source=[Status.QUEUED, Status.RUNNING], target=Status.FAILED)
    def fail(self, *, message: str) -> None:
        """The run cannot finish; its decisions are never authoritative."""
        self.failure = message
        self.finished_at = timezone.now()

    @transition(field=status, source=[Status.QUEUED, Status.RUNNING], target=Status.CANCELLED)
    def cancel(self) -> None:
        """Stopped by a person; its decisions are never authoritative."""
        self.finished_at = timezone.now()

    @transition(
        field=status,
        source=Status.COMPLETED_WITH_EXCEPTIONS,
        target=Status.COMPLETED,
        conditions=[no_open_exceptions],
    )
    def exceptions_resolved(self) -> None:
        """The last open exception was resolved."""

    @transition(field=status, source=DONE, target=Status.SUPERSEDED)
    def supersede(self) -> None:
        """A regeneration completed; this run and its files stay readable."""


class RunPayer(models.Model):
    """A payer a run covers; the database refuses a second active production run for it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="run_payers")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    month = models.DateField()
    mode = models.CharField(max_length=10, choices=BillingRun.Mode.choices)
    active = models.BooleanField(default=True)  # the run is QUEUED or RUNNING
    rule_version = models.ForeignKey(
        RuleVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["run", "payer"]
        constraints = [
            models.UniqueConstraint(fields=["run", "payer"], name="uniq_run_payer"),
            models.UniqueConstraint(
                fields=["tenant", "month", "payer"],
                condition=models.Q(active=True, mode="PRODUCTION"),
                name="one_active_production_run",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.payer_id}"


class RunChunk(models.Model):
    """A slice of a payer's members in a run; done once, in one transaction."""

    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="chunks")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    index = models.PositiveIntegerField()
    first_member = models.BigIntegerField()
    last_member = models.BigIntegerField()
    members = models.PositiveIntegerField()
    done = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    # node/pid of the process that wrote the chunk (core.node.worker_label; scale-out, issue 17)
    worker = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["run", "payer", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "payer", "index"], name="uniq_run_chunk")
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of run {self.run_id}"


class Decision(models.Model):
    """The outcome for one payer x member x month in a run, with every input it used.

    Append-only and written by the hundred thousand: its references are not database foreign
    keys (their per-row checks doubled the write of a run's decisions, docs/benchmarks.md
    "Lean decision rows"); `billing_run_finalize` checks them set-based before a run completes,
    and the ORM keeps PROTECT/CASCADE. Only the indexes that screens and lists use are kept:
    the run's, the tenant's and the payer's lookups are prefixes of the composite ones.
    `inputs` references the assertions and services by id (`billing.inputs`)."""

    Class = DecisionClass

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    run = models.ForeignKey(
        BillingRun,
        on_delete=models.CASCADE,
        related_name="decisions",
        db_constraint=False,
        db_index=False,
    )
    payer = models.ForeignKey(
        Payer, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    # indexed: a member's history and the fact rows' immutability trigger look decisions up by it
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="decisions", db_constraint=False
    )
    month = models.DateField()
    decision_class = models.CharField(
        max_length=24, choices=[(c.value, c.value) for c in DecisionClass]
    )
    billable = models.BooleanField()
    billable_days = models.PositiveSmallIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    rule_version = models.ForeignKey(
        RuleVersion, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    tier = models.CharField(max_length=60, blank=True)
    inputs = models.JSONField()

    class Meta:
        ordering = ["run", "payer", "member", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "payer", "member", "month"], name="uniq_decision_run_member_month"
            )
        ]
        indexes = [
            models.Index(fields=["run", "decision_class", "id"], name="decision_class_idx"),
            models.Index(fields=["run", "id"], name="decision_run_order_idx"),
            models.Index(fields=["run", "member"], name="decision_member_idx"),
            models.Index(fields=["tenant", "payer", "month", "member"], name="decision_billed_idx"),
        ]

    def __str__(self) -> str:
        return f"decision {self.pk} {self.decision_class}"


class RunException(ConcurrentTransitionMixin, models.Model):
    """Something a person should look at; it blocks nothing (SPEC 4)."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        RESOLVED = "RESOLVED", "Resolved"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="exceptions")
    payer = models.ForeignKey(
        Payer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(null=True, blank=True)
    code = models.CharField(max_length=40)
    message = models.TextField()
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "status"], name="run_exception_status_idx")]

    def __str__(self) -> str:
        return f"{self.code} in run {self.run_id}"

    @transition(field=status, source=Status.OPEN, target=Status.RESOLVED)
    def resolve(self, *, by, resolution: str) -> None:
        """A person looked into it and says what was done."""
        self.resolved_by = by
        self.resolved_at = timezone.now()
        self.resolution = resolution
