"""Remittances, receivables queue and denials API (issue 13 item 11): thin views.

Reads need `claims.view`; force-match and unmatch `billing.receivable.override` (checked again in
the services). Per-payer grants narrow every list. Claim payments carry the member id (PHI):
reading them is recorded.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.views import TenantAPIView, TenantListAPIView
from core.exceptions import NotFound
from core.phi_reads import PHI_VIEW, record_phi_access
from denials import selectors_receivables as sel
from denials.api import serializers_receivables as ser
from denials.models import Claim
from denials.services.receivables import remittance_claim_force_match, remittance_claim_unmatch

VIEW, OVERRIDE = S.CLAIMS_VIEW, S.BILLING_RECEIVABLE_OVERRIDE


def claim_numbers(rows) -> dict[int, str]:
    """Numbers of every claim a list of claim payments names (matched or candidate)."""
    ids = set()
    for rc in rows:
        ids.update(c.get("claim") for c in rc.candidates or [])
        if rc.evidence:
            ids.add(rc.evidence.get("claim"))
    ids.discard(None)
    return dict(Claim.objects.filter(pk__in=ids).values_list("id", "number"))


class _List(TenantListAPIView):
    filter_backends: list = []
    ordering = "-pk"

    def paginate_queryset(self, queryset):
        self.paginator.ordering = self.ordering
        return super().paginate_queryset(queryset)


class RemittanceListView(_List):
    """Remittances (one per payer and trace), newest first, with totals and match counts."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.RemittanceSerializer

    def get_queryset(self):
        q = self.request.query_params
        return sel.remittance_list(self.actor, trace=q.get("trace", ""), payer=q.get("payer", ""))

    @extend_schema(
        parameters=[
            OpenApiParameter("trace", str, description="TRN02 check or EFT trace number"),
            OpenApiParameter("payer", str, description="payer code"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RemittanceDetailView(TenantAPIView):
    """One remittance with each claim payment, its match state and evidence."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.RemittanceDetailSerializer)
    def get(self, request, pk: int):
        remittance = sel.remittance_get(self.actor, pk)
        remittance.claim_rows = list(sel.remittance_claims(self.actor, remittance))
        record_phi_access(self.actor, PHI_VIEW, remittance, shown=len(remittance.claim_rows))
        context = {"numbers": claim_numbers(remittance.claim_rows)}
        return Response(ser.RemittanceDetailSerializer(remittance, context=context).data)


class QueueListView(_List):
    """Claim payments waiting for a person, oldest first, with ranked candidates and evidence."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.RemittanceClaimSerializer
    ordering = "pk"

    def get_queryset(self):
        return sel.queue_list(self.actor, payer=self.request.query_params.get("payer", ""))

    @extend_schema(parameters=[OpenApiParameter("payer", str, description="payer code")])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        record_phi_access(self.actor, PHI_VIEW, object_type="denials.Queue", shown=len(page))
        context = {"numbers": claim_numbers(page)}
        data = ser.RemittanceClaimSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)


def _claim_id(actor, number: str) -> int:
    pk = Claim.objects.filter(tenant=actor.tenant, number=number.strip()).values_list(
        "pk", flat=True
    )
    found = pk.first()
    if found is None:
        raise NotFound(f"claim: no claim numbered '{number[:20]}'.")
    return found


def _line(actor, pk: int) -> Response:
    rc = sel.queue_get(actor, pk)
    context = {"numbers": claim_numbers([rc])}
    return Response(ser.RemittanceClaimSerializer(rc, context=context).data)


class ForceMatchView(TenantAPIView):
    """Match a waiting claim payment to the claim a person chose (reason required): 200 done,
    202 waiting for a second person when the tenant puts force-match under dual control."""

    required_scopes = {"POST": OVERRIDE}

    @extend_schema(
        request=ser.ForceMatchSerializer,
        responses={
            200: ser.RemittanceClaimSerializer,
            202: OpenApiResponse(ser.OverrideWaitingSerializer),
        },
    )
    def post(self, request, pk: int):
        sel.queue_get(self.actor, pk)  # 404 before anything else for a line nobody may see
        form = ser.ForceMatchSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        got = remittance_claim_force_match(
            actor=self.actor,
            remittance_claim_id=pk,
            claim_id=_claim_id(self.actor, v["claim"]),
            reason=v["reason"],
        )
        if hasattr(got, "match_state"):
            return _line(self.actor, pk)
        body = {
            "executed": False,
            "override_request": got.pk,
            "message": "This force-match needs a second person's approval; it waits in the queue.",
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class UnmatchView(TenantAPIView):
    """Reverse what a match posted and put the claim payment back in the queue (reason)."""

    required_scopes = {"POST": OVERRIDE}

    @extend_schema(request=ser.UnmatchSerializer, responses=ser.RemittanceClaimSerializer)
    def post(self, request, pk: int):
        sel.queue_get(self.actor, pk)
        form = ser.UnmatchSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        remittance_claim_unmatch(
            actor=self.actor, remittance_claim_id=pk, reason=form.validated_data["reason"]
        )
        return _line(self.actor, pk)
