"""Charges and claims API (issue 13, items 1, 2, 11): thin views over selectors and services.

Reads need `claims.view` (every role), writes `claims.write`. Per-payer grants narrow every list.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.filters import query_data
from core.api.views import TenantAPIView, TenantListAPIView
from core.phi_reads import PHI_SEARCH, PHI_VIEW, record_phi_access
from denials import selectors_claims as selectors
from denials.api import serializers_claims as ser
from denials.services.charges import charges_validate
from denials.services.claims import claims_build

VIEW, WRITE = S.CLAIMS_VIEW, S.CLAIMS_WRITE


class _List(TenantListAPIView):
    filter_backends: list = []

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-pk"
        return super().paginate_queryset(queryset)


class ChargeListView(_List):
    """Charges with their validation state and errors (filter status, claimed, charge_id)."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.ChargeOut

    def get_queryset(self):
        form = ser.ChargeFilterIn(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        f = form.validated_data
        claimed = f.get("claimed")
        return selectors.charge_list(
            self.actor,
            status=f.get("status", ""),
            claimed=None if claimed is None else claimed == "true",
            charge_id=f.get("charge_id", ""),
        )

    @extend_schema(parameters=[ser.ChargeFilterIn])
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record_phi_access(  # charges carry member ids; never the filter values
            self.actor,
            PHI_SEARCH,
            object_type="denials.Charge",
            shown=len(response.data.get("results", [])),
        )
        return response


class ChargesValidateView(TenantAPIView):
    """Validate charges again (default: every PENDING or INVALID one; or the ids given)."""

    required_scopes = {"POST": WRITE}

    @extend_schema(request=ser.ChargesValidateIn, responses=ser.ChargesValidateOut)
    def post(self, request):
        form = ser.ChargesValidateIn(data=request.data)
        form.is_valid(raise_exception=True)
        counts = charges_validate(
            actor=self.actor,
            tenant=self.actor.tenant,
            charge_ids=form.validated_data.get("chargeIds"),
        )
        return Response(ser.ChargesValidateOut(counts).data)


class ClaimsBuildView(TenantAPIView):
    """Build claims from VALID charges: all of them or none (400 with per-charge errors in
    `error.details.charges`)."""

    required_scopes = {"POST": WRITE}

    @extend_schema(request=ser.ClaimsBuildIn, responses={201: ser.ClaimsBuildOut})
    def post(self, request):
        form = ser.ClaimsBuildIn(data=request.data)
        form.is_valid(raise_exception=True)
        claims = claims_build(
            actor=self.actor, tenant=self.actor.tenant, charge_ids=form.validated_data["chargeIds"]
        )
        out = [
            {
                "id": c.pk,
                "number": c.number,
                "billed_amount": c.billed_amount,
                "charges": [line.charge.charge_id for line in c.lines.select_related("charge")],
            }
            for c in claims
        ]
        return Response(ser.ClaimsBuildOut({"claims": out}).data, status=status.HTTP_201_CREATED)


class ClaimListView(_List):
    """Claims with billed and paid amounts, balance and applications (filter number, member,
    payer, status)."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.ClaimOut

    def get_queryset(self):
        form = ser.ClaimFilterIn(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        return selectors.claim_list(self.actor, **form.validated_data)

    @extend_schema(parameters=[ser.ClaimFilterIn])
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record_phi_access(
            self.actor,
            PHI_SEARCH,
            object_type="denials.Claim",
            shown=len(response.data.get("results", [])),
            filtered=bool(request.query_params.get("member", "").strip()),
        )
        return response


class ClaimDetailView(TenantAPIView):
    """One claim by number: amounts, balance, lines and applications."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.ClaimDetailOut)
    def get(self, request, number: str):
        claim = selectors.claim_get(self.actor, number)
        record_phi_access(self.actor, PHI_VIEW, claim)
        return Response(ser.ClaimDetailOut(claim).data)
