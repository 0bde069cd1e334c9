"""Input and output shapes of core's API."""

from rest_framework import serializers

from core import scopes as S
from core.models import ApiToken, AuditEntry, OverrideRequest, TenantMembership, TenantPolicy


class MeSerializer(serializers.Serializer):
    user = serializers.CharField()
    tenant = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
    token = serializers.CharField(allow_null=True)


class BrokenEntrySerializer(serializers.Serializer):
    seq = serializers.IntegerField(allow_null=True)
    id = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField()


class ChainReportSerializer(serializers.Serializer):
    tenant = serializers.CharField()
    ok = serializers.BooleanField()
    entries = serializers.IntegerField()
    firstBroken = BrokenEntrySerializer(allow_null=True)  # noqa: N815 (API field name)


class AuditFilterSerializer(serializers.Serializer):
    action = serializers.CharField(required=False, allow_blank=True)
    actor_label = serializers.CharField(required=False, allow_blank=True)
    object_type = serializers.CharField(required=False, allow_blank=True)
    object_id = serializers.CharField(required=False, allow_blank=True)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)
    phi = serializers.BooleanField(
        required=False,
        source="phi_only",
        help_text="only PHI access entries (phi.view, phi.export, phi.search)",
    )


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "seq",
            "at",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "reason",
            "payload",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "user",
            "scopes",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "active",
        ]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(help_text="The raw key; shown only in this response.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    # checked by the service against the scopes installed apps offer (a 400 names the others)
    scopes = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class OverrideRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = OverrideRequest
        fields = [
            "id",
            "action",
            "scope",
            "summary",
            "payload",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "expires_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "result",
        ]
        read_only_fields = fields


class DecisionNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class TenantPolicySerializer(serializers.ModelSerializer):
    dual_control_scopes = serializers.ListField(
        child=serializers.CharField(),
        allow_empty=True,  # checked against the offered scopes
    )

    class Meta:
        model = TenantPolicy
        fields = ["dual_control_scopes", "override_request_ttl_hours", "updated_at"]
        read_only_fields = ["override_request_ttl_hours", "updated_at"]


class MembershipSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    locked_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        default=None,
        help_text="When the member's sign-in lockout lifts; null when they may sign in.",
    )

    class Meta:
        model = TenantMembership
        fields = ["id", "user", "role", "created_at", "locked_until"]
        read_only_fields = fields


class RoleChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        S.Role.choices,
        error_messages={"invalid_choice": f"expected one of {', '.join(S.Role.values)}"},
    )

    class Meta:
        ref_name = "RoleChange"
