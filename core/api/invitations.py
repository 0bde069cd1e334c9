"""API for invitations: invite someone with a role, list, withdraw."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from core import scopes as S
from core.api.views import TenantAPIView, TenantListAPIView
from core.invitations import invitation_create, invitation_list, invitation_revoke
from core.models import Invitation


class InvitationSerializer(serializers.ModelSerializer):
    invited_by = serializers.CharField(
        source="invited_by.username", read_only=True, default=None, allow_null=True
    )
    accepted_by = serializers.CharField(
        source="accepted_by.username", read_only=True, default=None, allow_null=True
    )
    state = serializers.CharField(read_only=True)
    email = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "state",
            "invited_by",
            "created_at",
            "expires_at",
            "emailed",
            "accepted_at",
            "accepted_by",
            "revoked_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "string", "format": "email", "nullable": True, "description": "null: no address"}
    )
    def get_email(self, invitation) -> str | None:
        # an invitation made without an address (its link handed over by hand) has none
        return invitation.email or None


class InvitationCreatedSerializer(InvitationSerializer):
    link = serializers.CharField(
        allow_null=True,
        help_text="The one-time link, in this response only, when it was not emailed.",
    )

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "link"]


class InvitationCreateSerializer(serializers.Serializer):
    # omit it to invite without an address (the link is returned once); "" is not an address
    email = serializers.EmailField(required=False, default="")
    role = serializers.ChoiceField(S.Role.choices)


class InvitationListCreateView(TenantListAPIView):
    """The tenant's invitations; invite someone (the link is emailed, or returned once)."""

    required_scopes = {"GET": S.TENANT_MANAGE, "POST": S.TENANT_MANAGE}
    serializer_class = InvitationSerializer
    filter_backends: list = []

    def get_queryset(self):
        return invitation_list(self.actor)

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationCreatedSerializer})
    def post(self, request):
        form = InvitationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        invitation, link = invitation_create(
            actor=self.actor,
            email=form.validated_data["email"],
            role=form.validated_data["role"],
            link_for=lambda raw: request.build_absolute_uri(
                reverse("invitation-accept", args=[raw])
            ),
        )
        data = InvitationSerializer(invitation).data | {
            "link": None if invitation.emailed else link
        }
        return Response(data, status=status.HTTP_201_CREATED)


class InvitationRevokeView(TenantAPIView):
    """Withdraw an invitation nobody accepted yet."""

    required_scopes = {"POST": S.TENANT_MANAGE}

    @extend_schema(request=None, responses=InvitationSerializer)
    def post(self, request, pk: int):
        invitation = invitation_revoke(actor=self.actor, invitation_id=pk)
        return Response(InvitationSerializer(invitation).data)
