"""Base classes every API view derives from (tenant gate, scopes, idempotency), and core's API."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import scopes as S
from core import selectors, services
from core.api import serializers as ser
from core.api.filters import query_choice, query_data
from core.api.idempotency import IdempotentMixin
from core.api.throttling import ApiTokenThrottle
from core.audit import verify_chain
from core.lockout import attach_locks, member_unlock
from core.models import OverrideRequest
from core.overrides import override_request_approve, override_request_reject


class ScopedViewMixin:
    """Declares the scope each HTTP method needs: `required_scopes = {"GET": ..., "POST": ...}`."""

    required_scopes: dict[str, str | None] = {}

    def scope_for(self, method: str) -> str | None:
        return self.required_scopes.get(method, self.required_scopes.get("*"))

    @property
    def actor(self):
        return self.request.actor


class TenantAPIView(IdempotentMixin, ScopedViewMixin, APIView):
    """An API view in the requester's tenant."""


class TenantListAPIView(IdempotentMixin, ScopedViewMixin, generics.ListAPIView):
    """A cursor-paginated list in the requester's tenant."""


class TenantRetrieveAPIView(IdempotentMixin, ScopedViewMixin, generics.RetrieveAPIView):
    """One object of the requester's tenant (another tenant's id answers 404)."""


# --- core endpoints ---------------------------------------------------------------------------


class MeView(TenantAPIView):
    """Who am I: user, tenant, role and the scopes in force for this request."""

    @extend_schema(responses=ser.MeSerializer)
    def get(self, request):
        actor = self.actor
        role = (
            actor.tenant.memberships.filter(user=actor.user).values_list("role", flat=True).first()
        )
        data = {
            "user": actor.user.get_username(),
            "tenant": actor.tenant.slug,
            "role": role,
            "scopes": sorted(actor.scopes),
            "token": actor.token.prefix if actor.token else None,
        }
        return Response(ser.MeSerializer(data).data)


class AuditVerifyView(TenantAPIView):
    """Recompute the tenant's audit chain and name the first broken entry."""

    required_scopes = {"GET": S.AUDIT_READ}

    @extend_schema(responses=ser.ChainReportSerializer)
    def get(self, request):
        report = verify_chain(self.actor.tenant)
        return Response(ser.ChainReportSerializer(report.as_dict()).data)


class AuditEntryListView(TenantListAPIView):
    """The tenant's audit trail, newest first; filter by action, actor, object and date."""

    required_scopes = {"GET": S.AUDIT_READ}
    serializer_class = ser.AuditEntrySerializer
    filter_backends: list = []

    def get_queryset(self):
        q = self.request.query_params
        form = ser.AuditFilterSerializer(data=query_data(q))
        form.is_valid(raise_exception=True)
        return selectors.audit_entry_list(self.actor, **form.validated_data)

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-seq"
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[ser.AuditFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


OVERRIDE_REQUEST_STATUSES = OverrideRequest.Status.values


class ApiTokenListCreateView(TenantListAPIView):
    """List API tokens; create one (the raw key is in the response, once)."""

    serializer_class = ser.ApiTokenSerializer
    filter_backends: list = []
    throttle_classes = [ApiTokenThrottle]

    def get_queryset(self):
        return selectors.api_token_list(self.actor)

    @extend_schema(
        request=ser.ApiTokenCreateSerializer, responses={201: ser.ApiTokenCreatedSerializer}
    )
    def post(self, request):
        form = ser.ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        token, raw = services.api_token_create(actor=self.actor, **form.validated_data)
        data = ser.ApiTokenSerializer(token).data | {"key": raw}
        return Response(data, status=status.HTTP_201_CREATED)


class ApiTokenRevokeView(TenantAPIView):
    """Revoke a token (its owner, or anyone holding tenant.manage)."""

    throttle_classes = [ApiTokenThrottle]

    @extend_schema(request=None, responses=ser.ApiTokenSerializer)
    def post(self, request, pk: int):
        token = services.api_token_revoke(actor=self.actor, token_id=pk)
        return Response(ser.ApiTokenSerializer(token).data)


class OverrideRequestListView(TenantListAPIView):
    """The dual-control approval queue (filter `status=PENDING`)."""

    serializer_class = ser.OverrideRequestSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.override_request_list(
            self.actor,
            status=query_choice(self.request.query_params, "status", OVERRIDE_REQUEST_STATUSES),
        )

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=OVERRIDE_REQUEST_STATUSES)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OverrideRequestDecideView(TenantAPIView):
    """Approve (executes the action) or reject an override request; reject needs a note."""

    decision = "approve"

    @extend_schema(request=ser.DecisionNoteSerializer, responses=ser.OverrideRequestSerializer)
    def post(self, request, pk: int):
        form = ser.DecisionNoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        fn = override_request_approve if self.decision == "approve" else override_request_reject
        obj = fn(actor=self.actor, request_id=pk, note=form.validated_data["note"])
        return Response(ser.OverrideRequestSerializer(obj).data)


class TenantPolicyView(TenantAPIView):
    """Read or change the tenant policy (dual-control scopes)."""

    required_scopes = {"GET": S.TENANT_MANAGE, "POST": S.TENANT_MANAGE}

    @extend_schema(responses=ser.TenantPolicySerializer)
    def get(self, request):
        return Response(ser.TenantPolicySerializer(self.actor.tenant.policy).data)

    @extend_schema(request=ser.TenantPolicySerializer, responses=ser.TenantPolicySerializer)
    def post(self, request):
        form = ser.TenantPolicySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        policy = services.tenant_policy_update(
            actor=self.actor, dual_control_scopes=form.validated_data["dual_control_scopes"]
        )
        return Response(ser.TenantPolicySerializer(policy).data)


class MemberListView(TenantListAPIView):
    """The tenant's members and roles."""

    required_scopes = {"GET": S.TENANT_MANAGE}
    serializer_class = ser.MembershipSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.member_list(self.actor)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return attach_locks(page) if page is not None else None


class MemberRoleView(TenantAPIView):
    """Change a member's role (scopes are re-synced)."""

    required_scopes = {"POST": S.TENANT_MANAGE}

    @extend_schema(request=ser.RoleChangeSerializer, responses=ser.MembershipSerializer)
    def post(self, request, pk: int):
        # a serializer, not request.data.get(): a JSON body that is not an object is a 400
        form = ser.RoleChangeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        role = form.validated_data["role"]
        membership = services.membership_set_role(actor=self.actor, membership_id=pk, role=role)
        attach_locks([membership])
        return Response(ser.MembershipSerializer(membership).data)


class MemberUnlockView(TenantAPIView):
    """Lift a member's sign-in lockout (audited); 409 when they are not locked out."""

    required_scopes = {"POST": S.TENANT_MANAGE}

    @extend_schema(request=None, responses=ser.MembershipSerializer)
    def post(self, request, pk: int):
        membership = member_unlock(actor=self.actor, membership_id=pk)
        return Response(ser.MembershipSerializer(membership).data)
