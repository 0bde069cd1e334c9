"""Shapes of the denial work API (issue 14 items 1, 2, 8): no rules here."""

from __future__ import annotations

from rest_framework import serializers

from core.api.strict import StrictSerializer
from denials.models import Denial, PaymentApplication
from denials.services.denial_work import FLIP_REASONS

MONEY = {"max_digits": 14, "decimal_places": 2}
STATES = Denial.Status.choices


class DenialOut(serializers.Serializer):
    """A denial in the work queue: the money denied, what is still open, state and assignee."""

    id = serializers.IntegerField()
    claim = serializers.IntegerField(source="claim_id")
    claim_number = serializers.CharField(source="claim.number")
    payer = serializers.CharField(source="claim.payer.code")
    remittance_claim = serializers.IntegerField(source="remittance_claim_id")
    group_code = serializers.CharField()
    carc = serializers.CharField()
    rarcs = serializers.ListField(child=serializers.CharField())
    amount = serializers.DecimalField(**MONEY)
    open_amount = serializers.DecimalField(**MONEY)
    status = serializers.ChoiceField(choices=STATES)
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class MoveOut(serializers.Serializer):
    """One move of the state machine leaving a state."""

    transition = serializers.CharField()
    label = serializers.CharField()
    to = serializers.ChoiceField(choices=STATES)
    to_label = serializers.CharField()
    effect = serializers.CharField()
    system = serializers.BooleanField(help_text="only the system takes it (never flippable)")
    reason_required = serializers.BooleanField()
    override = serializers.BooleanField(help_text="an override: may wait for a second person")
    flippable = serializers.BooleanField(help_text="a person may take it as a manual flip")


class StateOut(serializers.Serializer):
    """A denial state and every move allowed from it."""

    state = serializers.ChoiceField(choices=STATES)
    label = serializers.CharField()
    moves = MoveOut(many=True)


class TransitionsOut(serializers.Serializer):
    """The 9.2 status reference, generated from the state machine."""

    states = StateOut(many=True)


class DenialApplicationOut(serializers.Serializer):
    """Money applied to the denial's claim."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=PaymentApplication.Kind.choices)
    amount = serializers.DecimalField(**MONEY)
    group_code = serializers.CharField()
    carc = serializers.CharField()
    denial = serializers.IntegerField(source="denial_id", allow_null=True)
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
    remittance_claim = serializers.IntegerField(source="remittance_claim_id", allow_null=True)
    created_at = serializers.DateTimeField()


class DenialDetailOut(DenialOut):
    """A denial with its claim's balance, the moves allowed now and the claim's applications."""

    claim_status = serializers.CharField(source="claim.status")
    claim_balance = serializers.DecimalField(**MONEY)
    moves = MoveOut(many=True, help_text="the moves allowed from the current state")
    applications = DenialApplicationOut(many=True)


class TransitionIn(StrictSerializer):
    to = serializers.ChoiceField(choices=STATES, help_text="the target state")
    reason = serializers.CharField(
        max_length=1000, required=False, default="", allow_blank=True,
        help_text="why (required to write off or reopen)",
    )  # fmt: skip


class FlipIn(StrictSerializer):
    to = serializers.ChoiceField(choices=STATES, help_text="the target state")
    reason_code = serializers.ChoiceField(
        choices=list(FLIP_REASONS.items()), help_text="the picklist reason"
    )
    reason = serializers.CharField(max_length=1000, help_text="free text (required)")


class ReasonIn(StrictSerializer):
    reason = serializers.CharField(max_length=1000, help_text="why (required)")


class AssignIn(StrictSerializer):
    user = serializers.CharField(
        max_length=150, allow_null=True, help_text="a member's username, or null to unassign"
    )


class OverrideWaitingOut(serializers.Serializer):
    """The action waits for a second person's approval (dual control)."""

    executed = serializers.BooleanField()
    override_request = serializers.IntegerField()
    status = serializers.CharField()
    message = serializers.CharField()
