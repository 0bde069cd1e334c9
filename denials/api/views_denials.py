"""Denial work API (issue 14 items 1, 2, 8): thin views over `denials.services.denial_work`.

Reads need `claims.view`, moves `billing.denial.write` (checked again in the services). Per-payer
grants narrow the list and hide others' denials (404). Reopen and flip are overrides: under dual
control they answer 202 with the waiting override request.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.filters import query_choice
from core.api.views import TenantAPIView, TenantListAPIView
from core.exceptions import DomainError
from core.models import OverrideRequest
from denials import selectors_denials as sel
from denials.api import serializers_denials as ser
from denials.balances import balance_of
from denials.models import Denial
from denials.services import denial_work as svc
from denials.transitions_ref import denial_moves

VIEW, WRITE = S.CLAIMS_VIEW, S.BILLING_DENIAL_WRITE
WAITING = {202: OpenApiResponse(ser.OverrideWaitingOut, description="waits for approval")}


class DenialListView(TenantListAPIView):
    """Denials of visible payers, newest first, filterable like the work queue."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.DenialOut
    filter_backends: list = []

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-pk"
        return super().paginate_queryset(queryset)

    def get_queryset(self):
        q = self.request.query_params
        qs = sel.denial_list(
            self.actor,
            payer=q.get("payer", ""),
            carc=q.get("carc", ""),
            group=q.get("group", ""),
            age=query_choice(q, "age", sel.AGE_BUCKETS),
            status=query_choice(q, "status", Denial.Status.values),
            assignee=q.get("assignee", ""),
        )
        if q.get("claim_number", "").strip():
            qs = qs.filter(claim__number=q["claim_number"].strip())
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("payer", str, description="payer code"),
            OpenApiParameter("carc", str, description="claim adjustment reason code"),
            OpenApiParameter("group", str, description="group code (CO, PR, OA, PI, CR)"),
            OpenApiParameter("status", str, enum=Denial.Status.values),
            OpenApiParameter("age", str, enum=list(sel.AGE_BUCKETS), description="age bucket"),
            OpenApiParameter("assignee", str, description='a username, "me" or "none"'),
            OpenApiParameter("claim_number", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _detail(actor, pk: int) -> dict:
    denial = sel.denial_get(actor, pk)
    apps = list(denial.claim.applications.order_by("created_at", "id"))
    denial.claim_balance = balance_of(denial.claim, apps)
    denial.applications = apps
    denial.moves = next(r["moves"] for r in denial_moves() if r["state"] == denial.status)
    return ser.DenialDetailOut(denial).data


def _answer(actor, pk: int, got) -> Response:
    """The denial after the move (200), or the override request waiting for approval (202)."""
    if isinstance(got, OverrideRequest):
        body = {
            "executed": False,
            "override_request": got.pk,
            "status": got.status,
            "message": "This needs a second person's approval; it waits in the approvals queue.",
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)
    return Response(_detail(actor, pk))


class DenialDetailView(TenantAPIView):
    """One denial: its claim, balance, open amount, allowed moves and the claim's applications."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.DenialDetailOut)
    def get(self, request, pk: int):
        return Response(_detail(self.actor, pk))


class DenialTransitionView(TenantAPIView):
    """Take the normal move to a state (work, resolve, write off, reopen) with its effect."""

    required_scopes = {"POST": WRITE}

    @extend_schema(request=ser.TransitionIn, responses={200: ser.DenialDetailOut, **WAITING})
    def post(self, request, pk: int):
        sel.denial_get(self.actor, pk)  # 404 first for a denial nobody may see
        form = ser.TransitionIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        got = svc.denial_transition(actor=self.actor, denial_id=pk, to=v["to"], reason=v["reason"])
        return _answer(self.actor, pk, got)


class DenialFlipView(TenantAPIView):
    """Manual flip: a move the state machine allows, without its side effect (an override)."""

    required_scopes = {"POST": WRITE}

    @extend_schema(request=ser.FlipIn, responses={200: ser.DenialDetailOut, **WAITING})
    def post(self, request, pk: int):
        sel.denial_get(self.actor, pk)
        form = ser.FlipIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        got = svc.denial_flip(
            actor=self.actor,
            denial_id=pk,
            to=v["to"],
            reason_code=v["reason_code"],
            reason=v["reason"],
        )
        return _answer(self.actor, pk, got)


class DenialReopenView(TenantAPIView):
    """Reopen a written-off denial: the write-off is reversed (an override; reason required)."""

    required_scopes = {"POST": WRITE}

    @extend_schema(request=ser.ReasonIn, responses={200: ser.DenialDetailOut, **WAITING})
    def post(self, request, pk: int):
        sel.denial_get(self.actor, pk)
        form = ser.ReasonIn(data=request.data)
        form.is_valid(raise_exception=True)
        got = svc.denial_reopen(
            actor=self.actor, denial_id=pk, reason=form.validated_data["reason"]
        )
        return _answer(self.actor, pk, got)


class DenialAssignView(TenantAPIView):
    """Assign a denial to a member of the organisation (by username), or unassign (null)."""

    required_scopes = {"POST": WRITE}

    @extend_schema(request=ser.AssignIn, responses=ser.DenialDetailOut)
    def post(self, request, pk: int):
        sel.denial_get(self.actor, pk)
        form = ser.AssignIn(data=request.data)
        form.is_valid(raise_exception=True)
        username = form.validated_data["user"]
        user_id = None
        if username is not None:
            user_id = (
                get_user_model()
                .objects.filter(
                    username=username.strip(), tenant_memberships__tenant=self.actor.tenant
                )
                .values_list("pk", flat=True)
                .first()
            )
            if user_id is None:
                raise DomainError("user: no such member of this organisation.")
        svc.denial_assign(actor=self.actor, denial_id=pk, user_id=user_id)
        return Response(_detail(self.actor, pk))


class DenialTransitionsView(TenantAPIView):
    """The 9.2 status reference: every denial state and the moves allowed from it."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.TransitionsOut)
    def get(self, request):
        return Response({"states": denial_moves()})
