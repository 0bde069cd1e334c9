"""Shapes of the billing API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing import selectors
from billing.engine import DecisionClass
from billing.models import BillingRun, Decision, MemberMonthOverride, RuleVersion, RunException
from core.api.fields import MonthField  # noqa: F401  (billing.api.serializers.MonthField)


class RunSerializer(serializers.ModelSerializer):
    month = MonthField()
    payers = serializers.SerializerMethodField()
    triggered_by = serializers.CharField(
        source="triggered_by.username", default=None, allow_null=True
    )
    progress = serializers.SerializerMethodField()

    class Meta:
        model = BillingRun
        fields = [
            "id",
            "month",
            "mode",
            "version",
            "supersedes",
            "reason",
            "payers",
            "status",
            "triggered_by",
            "triggered_at",
            "evidence_cutoff",
            "started_at",
            "finished_at",
            "progress",
            "decisions_count",
            "exceptions_count",
            "open_exceptions",
            "summary",
            "final_hash",
            "failure",
        ]
        read_only_fields = fields

    summary = serializers.SerializerMethodField()

    def _actor(self):
        request = self.context.get("request")
        return getattr(request, "actor", None)

    def get_payers(self, run) -> list[str]:
        actor = self._actor()
        if actor is None:
            return sorted(rp.payer.code for rp in run.run_payers.all())
        return selectors.run_payer_codes_for(actor, run)

    def get_summary(self, run) -> dict:
        actor = self._actor()
        return run.summary if actor is None else selectors.run_summary_for(actor, run)

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "members_total": {"type": "integer"},
                "members_done": {"type": "integer"},
                "percent": {
                    "type": "integer",
                    "nullable": True,
                    "description": "null while the run is queued: the total is not known yet",
                },
                "chunks_total": {"type": "integer"},
                "chunks_done": {"type": "integer"},
            },
        }
    )
    def get_progress(self, run) -> dict:
        return {
            "members_total": run.members_total,
            "members_done": run.members_done,
            "percent": run.percent,
            "chunks_total": run.chunks_total,
            "chunks_done": run.chunks_done,
        }


class RunDetailSerializer(RunSerializer):
    """One run, with where its work went: chunks and members per worker (node/pid)."""

    workers = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "workers"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "worker": {"type": "string", "description": "node/pid of the worker"},
                    "chunks": {"type": "integer"},
                    "members": {"type": "integer"},
                },
            },
            "description": "finished chunks per worker, busiest first (payers you may see)",
        }
    )
    def get_workers(self, run) -> list[dict]:
        return selectors.run_workers(self._actor(), run)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["all"]},
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
        ],
        "description": 'a non-empty list of payer codes, or "all"',
    }
)
class PayersField(serializers.JSONField):
    """`"all"` or a non-empty list of payer codes (whether they exist is the service's rule)."""

    def to_internal_value(self, data):
        if data == "all":
            return data
        if not isinstance(data, list) or not data or not all(isinstance(v, str) for v in data):
            raise serializers.ValidationError('expected a non-empty list of payer codes or "all"')
        return data


class RunTriggerSerializer(serializers.Serializer):
    month = MonthField()
    payers = PayersField()
    mode = serializers.ChoiceField(BillingRun.Mode.choices, default=BillingRun.Mode.PRODUCTION)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class DecisionSerializer(serializers.ModelSerializer):
    payer = serializers.CharField(source="payer.code")
    member = serializers.CharField(source="member.external_id")
    month = MonthField()
    rule_version = serializers.CharField(source="rule_version.version")

    class Meta:
        model = Decision
        fields = [
            "id",
            "run",
            "payer",
            "member",
            "month",
            "decision_class",
            "billable",
            "billable_days",
            "amount",
            "rule_version",
            "tier",
        ]
        read_only_fields = fields


# a page of decisions is read as values, not model instances: one row, one dict (the columns
# of DecisionSerializer, through the same joins select_related made)
DECISION_VALUES = (
    "id",
    "run_id",
    "payer__code",
    "member__external_id",
    "month",
    "decision_class",
    "billable",
    "billable_days",
    "amount",
    "rule_version__version",
    "tier",
)


def decision_rows(rows: list[dict]) -> list[dict]:
    """DecisionSerializer's output for rows of `DECISION_VALUES` (same keys, same text)."""
    fields = DecisionSerializer().fields
    month, amount = fields["month"].to_representation, fields["amount"].to_representation
    return [
        {
            "id": row["id"],
            "run": row["run_id"],
            "payer": row["payer__code"],
            "member": row["member__external_id"],
            "month": month(row["month"]),
            "decision_class": row["decision_class"],
            "billable": row["billable"],
            "billable_days": row["billable_days"],
            "amount": amount(row["amount"]),
            "rule_version": row["rule_version__version"],
            "tier": row["tier"],
        }
        for row in rows
    ]


class DecisionDetailSerializer(DecisionSerializer):
    class Meta(DecisionSerializer.Meta):
        fields = [*DecisionSerializer.Meta.fields, "inputs"]
        read_only_fields = fields


class MonthFilterSerializer(serializers.Serializer):
    """`?month=` of a list (the schema of core.api.fields.month_query_param)."""

    month = MonthField(required=False)


class DecisionFilterSerializer(serializers.Serializer):
    decision_class = serializers.ChoiceField([c.value for c in DecisionClass], required=False)
    payer = serializers.CharField(required=False)
    member = serializers.CharField(required=False)


class ReplaySerializer(serializers.Serializer):
    rule_version = serializers.CharField(help_text="the version label (or id) of the payer's rules")


class ExceptionSerializer(serializers.ModelSerializer):
    payer = serializers.CharField(source="payer.code", default=None, allow_null=True)
    member = serializers.CharField(source="member.external_id", default=None, allow_null=True)
    month = MonthField(allow_null=True)
    resolved_by = serializers.CharField(
        source="resolved_by.username", default=None, allow_null=True
    )
    # An exception left open on a superseded run is closed by supersession (the list view puts
    # `superseded` and `replaced_by` in the context).
    closed_by_supersession = serializers.SerializerMethodField()
    replaced_by = serializers.SerializerMethodField()

    class Meta:
        model = RunException
        fields = [
            "id",
            "run",
            "payer",
            "member",
            "month",
            "code",
            "message",
            "status",
            "resolved_by",
            "resolved_at",
            "resolution",
            "closed_by_supersession",
            "replaced_by",
        ]
        read_only_fields = fields

    def _closed(self, exc: RunException) -> bool:
        return self.context.get("superseded", False) and exc.status == RunException.Status.OPEN

    def get_closed_by_supersession(self, exc: RunException) -> bool:
        return self._closed(exc)

    def get_replaced_by(self, exc: RunException) -> int | None:
        """The run that replaced this exception's run (set while closed by supersession)."""
        return self.context.get("replaced_by") if self._closed(exc) else None


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField()


class RuleVersionSerializer(serializers.ModelSerializer):
    payer = serializers.CharField(source="payer.code")

    class Meta:
        model = RuleVersion
        fields = [
            "id",
            "payer",
            "version",
            "effective_from",
            "status",
            "params",
            "params_hash",
            "created_at",
            "activated_at",
            "retired_at",
        ]
        read_only_fields = fields


class RuleVersionCreateSerializer(serializers.Serializer):
    payer = serializers.CharField()
    version = serializers.CharField(max_length=20)
    effective_from = serializers.DateField()
    params = serializers.DictField(help_text="the payer rules' parameters (checked on save)")


class RuleVersionUpdateSerializer(serializers.Serializer):
    params = serializers.DictField(help_text="the payer rules' parameters (checked on save)")
    effective_from = serializers.DateField(required=False)


class OverrideSerializer(serializers.ModelSerializer):
    payer = serializers.CharField(source="payer.code")
    member = serializers.CharField(source="member.external_id")
    month = MonthField()
    created_by = serializers.CharField(source="created_by.username")
    approved_by = serializers.CharField(
        source="approved_by.username", default=None, allow_null=True
    )

    class Meta:
        model = MemberMonthOverride
        fields = [
            "id",
            "payer",
            "member",
            "month",
            "outcome",
            "rate",
            "reason",
            "created_by",
            "approved_by",
            "created_at",
            "active",
        ]
        read_only_fields = fields


class OverrideCreateSerializer(serializers.Serializer):
    payer = serializers.CharField()
    member = serializers.CharField()
    month = MonthField()
    outcome = serializers.ChoiceField(MemberMonthOverride.Outcome.choices)
    rate = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    reason = serializers.CharField()
