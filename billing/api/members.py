"""Billing API: member search and one member's history per payer (payer grants applied)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing import member_selectors
from billing.models import Member
from core import scopes as S
from core.api.filters import query_data
from core.api.views import TenantAPIView, TenantListAPIView
from core.phi_reads import PHI_SEARCH, record_phi_access

# --- shapes -------------------------------------------------------------------------------


class MemberSearchInput(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="member id start or name words"
    )


class MemberSerializer(serializers.ModelSerializer):
    member_id = serializers.CharField(source="external_id")

    class Meta:
        model = Member
        fields = ["id", "member_id", "first_name", "last_name", "birth_date"]
        read_only_fields = fields


class AssertionOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    source_kind = serializers.CharField()
    file = serializers.CharField(source="artifact.filename", default=None, allow_null=True)
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    row_number = serializers.IntegerField(allow_null=True)
    file_date = serializers.DateField()
    received_at = serializers.DateTimeField()
    status = serializers.CharField()
    effective_date = serializers.DateField()
    termination_date = serializers.DateField(allow_null=True)
    benefit_code = serializers.CharField()
    benefit_suffix = serializers.CharField()
    won_months = serializers.SerializerMethodField()
    tied_months = serializers.SerializerMethodField()

    def get_won_months(self, a) -> list[str]:
        return [m.strftime("%Y-%m") for m in a.won_months]

    def get_tied_months(self, a) -> list[str]:
        return [m.strftime("%Y-%m") for m in a.tied_months]


class DecisionOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    run = serializers.IntegerField(source="run_id")
    month = serializers.SerializerMethodField()
    decision_class = serializers.CharField()
    billable = serializers.BooleanField()
    billable_days = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    tier = serializers.CharField()
    rule_version = serializers.CharField(source="rule_version.version")
    standing = serializers.CharField(
        help_text="AUTHORITATIVE, SIMULATION, SUPERSEDED or the run's state"
    )
    counts = serializers.SerializerMethodField(help_text="the decision that counts for the month")
    winner = serializers.IntegerField(source="winner_id", allow_null=True)

    def get_month(self, d) -> str:
        return d.month.strftime("%Y-%m")

    def get_counts(self, d) -> bool:
        return bool(getattr(d, "counts", False))


class OverrideOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    month = serializers.SerializerMethodField()
    outcome = serializers.CharField()
    rate = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    reason = serializers.CharField()
    active = serializers.BooleanField()

    def get_month(self, o) -> str:
        return o.month.strftime("%Y-%m")


class ServiceOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    service_date = serializers.DateField()
    service_code = serializers.CharField()
    received_at = serializers.DateTimeField()


class PayerHistoryOut(serializers.Serializer):
    payer = serializers.CharField(source="payer.code")
    assertions = AssertionOut(many=True)
    decisions = DecisionOut(many=True)
    overrides = OverrideOut(many=True)
    services = ServiceOut(many=True)


class MemberDetailOut(MemberSerializer):
    payers = serializers.SerializerMethodField()

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "payers"]
        read_only_fields = fields

    def get_payers(self, member) -> list[dict]:
        return PayerHistoryOut(self.context["histories"], many=True).data


# --- endpoints ----------------------------------------------------------------------------


class MemberListView(TenantListAPIView):
    """Members by id start or name words (`q`), cursor pages; payer grants narrow them."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW}
    serializer_class = MemberSerializer
    filter_backends: list = []

    def get_queryset(self):
        form = MemberSearchInput(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        return member_selectors.member_search(self.actor, form.validated_data.get("q", ""))

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "id"
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[MemberSearchInput])
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        # the search shape only: never the text searched for
        record_phi_access(
            self.actor,
            PHI_SEARCH,
            object_type="billing.Member",
            shown=len(response.data.get("results", [])),
            filtered=bool(request.query_params.get("q", "").strip()),
        )
        return response


class MemberDetailView(TenantAPIView):
    """One member with, per visible payer, assertions (and the months each won), decisions
    across runs, overrides and service events."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW}

    @extend_schema(responses=MemberDetailOut)
    def get(self, request, pk: int):
        member, histories = member_selectors.member_read(self.actor, pk)
        return Response(MemberDetailOut(member, context={"histories": histories}).data)
