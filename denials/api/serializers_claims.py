"""Input and output serializers of the charges and claims API (issue 13, items 1, 2, 11)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.strict import StrictSerializer
from denials.ingest_charges import COLUMNS as CHARGE_COLUMNS
from denials.models import Charge, Claim, PaymentApplication

MONEY = {"max_digits": 14, "decimal_places": 2, "read_only": True}
MAX_IDS = 10000


def _ids(required: bool) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64, allow_blank=False),
        min_length=1,
        max_length=MAX_IDS,
        required=required,
        help_text="charge ids as the CHARGES file gave them (`charge_id`)",
    )


class ChargesValidateIn(StrictSerializer):
    chargeIds = _ids(required=False)  # noqa: N815 - the API's field name (seed 003)


class ChargesValidateOut(serializers.Serializer):
    checked = serializers.IntegerField(help_text="charges validated")
    valid = serializers.IntegerField()
    invalid = serializers.IntegerField()
    unknown = serializers.IntegerField(help_text="ids given that no charge has")
    claimed = serializers.IntegerField(help_text="ids given of charges already on a claim")


class ClaimsBuildIn(StrictSerializer):
    chargeIds = _ids(required=True)  # noqa: N815 - the API's field name (seed 003)


class BuiltClaimOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    billed_amount = serializers.DecimalField(**MONEY)
    charges = serializers.ListField(child=serializers.CharField())


class ClaimsBuildOut(serializers.Serializer):
    claims = BuiltClaimOut(many=True)


class ChargeOut(serializers.ModelSerializer):
    member_id = serializers.CharField(source="member_code")
    status = serializers.ChoiceField(Charge.Status.choices)
    errors = serializers.ListField(child=serializers.CharField())
    claim = serializers.SerializerMethodField()

    class Meta:
        model = Charge
        fields = [
            "id",
            *CHARGE_COLUMNS,
            "status",
            "errors",
            "validated_at",
            "claim",
        ]
        read_only_fields = fields

    def get_claim(self, charge) -> str | None:
        line = getattr(charge, "claim_line", None)
        return line.claim.number if line is not None else None


class ApplicationOut(serializers.ModelSerializer):
    kind = serializers.ChoiceField(PaymentApplication.Kind.choices)
    amount = serializers.DecimalField(**MONEY)
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
    remittance_claim = serializers.IntegerField(source="remittance_claim_id", allow_null=True)

    class Meta:
        model = PaymentApplication
        fields = [
            "id",
            "kind",
            "amount",
            "group_code",
            "carc",
            "reverses",
            "remittance_claim",
            "line_number",
            "created_at",
        ]
        read_only_fields = fields


class ClaimOut(serializers.ModelSerializer):
    status = serializers.ChoiceField(Claim.Status.choices)
    payer = serializers.CharField(source="payer.code")
    member = serializers.CharField(source="member.external_id")
    billed_amount = serializers.DecimalField(**MONEY)
    paid_amount = serializers.DecimalField(**MONEY)
    adjusted_amount = serializers.DecimalField(**MONEY)
    patient_amount = serializers.DecimalField(**MONEY)
    written_off_amount = serializers.DecimalField(**MONEY)
    reversed_amount = serializers.DecimalField(**MONEY)
    balance = serializers.DecimalField(**MONEY)
    applications = ApplicationOut(many=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "number",
            "patient_control_number",
            "status",
            "payer",
            "member",
            "service_date",
            "service_date_to",
            "billed_amount",
            "paid_amount",
            "adjusted_amount",
            "patient_amount",
            "written_off_amount",
            "reversed_amount",
            "balance",
            "built_at",
            "submitted_at",
            "applications",
        ]
        read_only_fields = fields


class ClaimLineOut(serializers.Serializer):
    line_number = serializers.IntegerField()
    charge_id = serializers.CharField(source="charge.charge_id")
    service_date = serializers.DateField()
    code = serializers.CharField()
    modifier = serializers.CharField()
    units = serializers.DecimalField(max_digits=9, decimal_places=3)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class ClaimDetailOut(ClaimOut):
    lines = ClaimLineOut(many=True)

    class Meta(ClaimOut.Meta):
        fields = [*ClaimOut.Meta.fields, "lines"]
        read_only_fields = fields


class ChargeFilterIn(serializers.Serializer):
    status = serializers.ChoiceField(Charge.Status.values, required=False)
    claimed = serializers.ChoiceField(["true", "false"], required=False)
    charge_id = serializers.CharField(max_length=64, required=False)


class ClaimFilterIn(serializers.Serializer):
    number = serializers.CharField(max_length=20, required=False, help_text="claim number")
    member = serializers.CharField(max_length=64, required=False, help_text="member id")
    payer = serializers.CharField(max_length=30, required=False, help_text="payer code")
    status = serializers.ChoiceField(Claim.Status.values, required=False)
