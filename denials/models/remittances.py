"""Remittances (X12 835 or CSV), their claim payments with match state, and denials."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from billing.models import Member, Payer
from core.models import Tenant
from denials.models.claims import MONEY, Claim


class Remittance(models.Model):
    """One payment from a payer (an 835 transaction: BPR + TRN), with its load warnings."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    trace_number = models.CharField(max_length=50, help_text="TRN02: check or EFT trace")
    trace_originator = models.CharField(max_length=50, blank=True, help_text="TRN03")
    payment_amount = models.DecimalField(**MONEY, help_text="BPR02")
    payment_method = models.CharField(max_length=3, blank=True, help_text="BPR04")
    payment_date = models.DateField(null=True, blank=True, help_text="BPR16")
    warnings = models.JSONField(default=list, blank=True)
    batch_id = models.BigIntegerField(null=True, blank=True)
    artifact_id = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "payer", "trace_number"], name="uniq_remittance_trace"
            )
        ]

    def __str__(self) -> str:
        return f"remittance {self.trace_number}"


class RemittanceClaim(ConcurrentTransitionMixin, models.Model):
    """One CLP of a remittance: what the payer did with one claim, and what it was matched to.

    `adjustments` holds every CAS triple (claim- and line-level): {"group", "carc", "amount",
    "line"}; `lines` the SVC lines with dates, adjustments and remarks; `candidates` the ranked
    candidate claims with per-signal evidence; `evidence` that of the matched claim.
    """

    class MatchState(models.TextChoices):
        UNMATCHED = "UNMATCHED", "Waiting in the queue"
        MATCHED_AUTO = "MATCHED_AUTO", "Matched automatically"
        MATCHED_FORCED = "MATCHED_FORCED", "Force-matched"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    remittance = models.ForeignKey(Remittance, on_delete=models.PROTECT, related_name="claims")
    row_number = models.PositiveIntegerField()
    patient_control_number = models.CharField(max_length=38)
    status_code = models.CharField(max_length=2, help_text="CLP02")
    charge_amount = models.DecimalField(**MONEY)
    paid_amount = models.DecimalField(**MONEY)
    patient_responsibility = models.DecimalField(**MONEY, default=0)
    payer_claim_control_number = models.CharField(max_length=50)
    member_code = models.CharField(max_length=80, blank=True, help_text="NM1*QC09 (PHI)")
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    service_date = models.DateField(null=True, blank=True)
    service_date_to = models.DateField(null=True, blank=True)
    adjustments = models.JSONField(default=list, blank=True)
    remarks = models.JSONField(default=list, blank=True)
    lines = models.JSONField(default=list, blank=True)
    match_state = FSMField(default=MatchState.UNMATCHED, choices=MatchState.choices, protected=True)
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="remittance_claims"
    )
    score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    candidates = models.JSONField(default=list, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    matched_at = models.DateTimeField(null=True, blank=True)
    match_reason = models.TextField(blank=True)
    overridden_score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["remittance", "row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["remittance", "payer_claim_control_number"],
                name="uniq_remclaim_payer_ccn",
            )
        ]
        indexes = [models.Index(fields=["tenant", "match_state"], name="remclaim_state_idx")]

    def __str__(self) -> str:
        return f"remittance claim {self.payer_claim_control_number} ({self.match_state})"

    @property
    def is_reversal(self) -> bool:
        """CLP02 22: the payer takes back a previous payment."""
        return self.status_code == "22"

    @transition(field=match_state, source=MatchState.UNMATCHED, target=MatchState.MATCHED_AUTO)
    def match_auto(self, *, claim: Claim, score, evidence: dict) -> None:
        """The matcher found one clear candidate at or above the threshold."""
        self.claim = claim
        self.score = score
        self.evidence = evidence
        self.matched_at = timezone.now()

    @transition(field=match_state, source=MatchState.UNMATCHED, target=MatchState.MATCHED_FORCED)
    def match_forced(self, *, claim: Claim, user, reason: str, score, evidence: dict) -> None:
        """A person matched it to a claim the matcher did not choose; the score it overrode."""
        self.overridden_score = score
        self.claim = claim
        self.score = score
        self.evidence = evidence
        self.matched_by = user
        self.match_reason = reason
        self.matched_at = timezone.now()

    @transition(
        field=match_state,
        source=[MatchState.MATCHED_AUTO, MatchState.MATCHED_FORCED],
        target=MatchState.UNMATCHED,
    )
    def unmatch(self, *, reason: str) -> None:
        """What was posted is reversed; the line waits in the queue again."""
        self.claim = None
        self.match_reason = reason
        self.matched_by = None
        self.matched_at = None


class Denial(ConcurrentTransitionMixin, models.Model):
    """Money a payer denied on a claim, one per claim and (group, CARC) of a remittance claim.

    Posting opens it. People work it (OPEN -> IN_PROGRESS -> RESOLVED), write it off
    (WRITEOFF application) and reopen a write-off (REVERSAL of it); a reversing 835 resolves a
    written-off one; unmatching the posting voids it. Transition methods only set the denial's
    own fields: the money side effects live in `denials.services.denial_work`, so a manual flip
    can take the same move without them. `custom` describes each move for the status reference.
    """

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        RESOLVED = "RESOLVED", "Resolved"
        WRITTEN_OFF = "WRITTEN_OFF", "Written off"
        VOIDED = "VOIDED", "Voided (posting undone)"

    WORKABLE = (Status.OPEN, Status.IN_PROGRESS)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="denials")
    remittance_claim = models.ForeignKey(
        RemittanceClaim, on_delete=models.PROTECT, related_name="denials"
    )
    group_code = models.CharField(max_length=2)
    carc = models.CharField(max_length=5)
    rarcs = models.JSONField(default=list, blank=True)
    amount = models.DecimalField(**MONEY)
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True)
    created_at = models.DateTimeField(default=timezone.now)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="resolved or written off")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # a voided denial (its posting unmatched) does not block the one a re-match opens
            models.UniqueConstraint(
                fields=["remittance_claim", "claim", "group_code", "carc"],
                condition=~models.Q(status="VOIDED"),
                name="uniq_denial_per_carc",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="denial_status_idx"),
            models.Index(fields=["tenant", "carc"], name="denial_carc_idx"),
            models.Index(fields=["tenant", "assignee"], name="denial_assignee_idx"),
        ]

    def __str__(self) -> str:
        return f"denial {self.group_code}-{self.carc} on {self.claim_id} ({self.status})"

    def _moved(self, *, closed: bool | None = None) -> None:
        now = timezone.now()
        self.status_changed_at = now
        if closed is True:
            self.closed_at = now
        elif closed is False:
            self.closed_at = None

    @transition(
        field=status,
        source=Status.OPEN,
        target=Status.IN_PROGRESS,
        custom={"label": "Work", "effect": "someone is working it (assigned to them)"},
    )
    def work(self, *, assignee=None) -> None:
        """Someone started working the denial."""
        if assignee is not None:
            self.assignee = assignee
        self._moved()

    @transition(
        field=status,
        source=[Status.OPEN, Status.IN_PROGRESS],
        target=Status.RESOLVED,
        custom={"label": "Resolve", "effect": "the denial is settled (paid on appeal, rebilled)"},
    )
    def resolve(self) -> None:
        """The denial is settled; nothing more is expected on it."""
        self._moved(closed=True)

    @transition(
        field=status,
        source=[Status.OPEN, Status.IN_PROGRESS],
        target=Status.WRITTEN_OFF,
        custom={
            "label": "Write off",
            "effect": "adds a WRITEOFF application for the open denied amount",
        },
    )
    def write_off(self) -> None:
        """The denied money will not be collected."""
        self._moved(closed=True)

    @transition(
        field=status,
        source=Status.WRITTEN_OFF,
        target=Status.OPEN,
        custom={
            "label": "Reopen",
            "effect": "adds a REVERSAL of the write-off: the claim balance returns",
            "reason_required": True,
        },
    )
    def reopen(self) -> None:
        """New evidence: the write-off is taken back and the denial is open again."""
        self._moved(closed=False)

    @transition(
        field=status,
        source=Status.WRITTEN_OFF,
        target=Status.RESOLVED,
        custom={
            "label": "Resolve by reversing 835",
            "effect": "a reversing 835 for the claim: the write-off is reversed",
            "system": True,
        },
    )
    def resolve_by_reversal(self) -> None:
        """A payer 835 reversed the claim's earlier adjudication after the write-off."""
        self._moved(closed=True)

    @transition(
        field=status,
        source=[Status.OPEN, Status.IN_PROGRESS],
        target=Status.VOIDED,
        custom={
            "label": "Void",
            "effect": "the posting that opened it was unmatched or reversed",
            "system": True,
        },
    )
    def void(self, *, reason: str = "") -> None:
        """The posting that opened it was unmatched."""
        self._moved(closed=True)
