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


def _scope_choice(choices) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        list(choices),
        error_messages={
            "invalid_choice": "{input} is not offered; expected one of " + ", ".join(choices)
        },
    )


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    # the scopes installed apps offer (the schema's enum); the service also checks the caller
    # holds them (403 naming the others)
    scopes = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="in the future; null for no expiry"
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["scopes"].child = _scope_choice(S.offered_scopes())
        fields["scopes"].child.bind(field_name="", parent=fields["scopes"])
        return fields


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
    dual_control_scopes = serializers.ListField(child=serializers.CharField(), allow_empty=True)

    class Meta:
        model = TenantPolicy
        fields = ["dual_control_scopes", "override_request_ttl_hours", "updated_at"]
        read_only_fields = ["override_request_ttl_hours", "updated_at"]

    def get_fields(self):
        # the override scopes installed apps offer, decided once apps are loaded
        fields = super().get_fields()
        scopes = fields["dual_control_scopes"]
        scopes.child = _scope_choice(S.offered_override_scopes())
        scopes.child.bind(field_name="", parent=scopes)
        return fields


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
