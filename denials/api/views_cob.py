"""Coverages, a member's COB order and COB overrides, secondary claims: thin API views.

Members are addressed by pk as billing's member API does (the member id is PHI and stays out of
URLs). Reads need `claims.view`, coverage and secondary-claim writes `claims.write`, overrides
`billing.cob.override` (checked again in the services).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.filters import query_data
from core.api.views import TenantAPIView, TenantListAPIView
from core.phi_reads import PHI_SEARCH, PHI_VIEW, record_phi_access
from denials import selectors_claims
from denials.api import serializers_cob as ser
from denials.services import cob
from denials.services.secondary import secondary_claim_build

VIEW, WRITE, OVERRIDE = S.CLAIMS_VIEW, S.CLAIMS_WRITE, S.BILLING_COB_OVERRIDE
WAITING = "This COB override needs a second person's approval; it waits in the approvals queue."


def _waiting(request) -> Response:
    body = {"executed": False, "override_request": request.pk, "message": WAITING}
    return Response(ser.CobOverrideWaitingOut(body).data, status=status.HTTP_202_ACCEPTED)


class CoverageListCreateView(TenantListAPIView):
    """Coverages (filter `member_id`), newest first; POST records one (upsert by member,
    payer and effective day)."""

    required_scopes = {"GET": VIEW, "POST": WRITE}
    serializer_class = ser.CoverageOut
    filter_backends: list = []

    def get_queryset(self):
        form = ser.CoverageFilterIn(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        return cob.coverage_list(self.actor, member_code=form.validated_data.get("member_id", ""))

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-pk"
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[ser.CoverageFilterIn])
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record_phi_access(
            self.actor,
            PHI_SEARCH,
            object_type="denials.Coverage",
            shown=len(response.data.get("results", [])),
            filtered=bool(request.query_params.get("member_id", "").strip()),
        )
        return response

    @extend_schema(request=ser.CoverageIn, responses={201: ser.CoverageOut})
    def post(self, request):
        form = ser.CoverageIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        coverage = cob.coverage_upsert(
            actor=self.actor,
            member_code=v["member_id"],
            payer_code=v["payer_code"],
            kind=v["kind"],
            employer_size=v["employer_size"],
            active_employment=v["active_employment"],
            effective=v["effective"],
            termination=v["termination"],
        )
        return Response(ser.CoverageOut(coverage).data, status=status.HTTP_201_CREATED)


class MemberCobView(TenantAPIView):
    """A member's paying order on a day (`as_of`, default today), why, and the override."""

    required_scopes = {"GET": VIEW}

    @extend_schema(parameters=[ser.CobAsOfIn], responses=ser.MemberCobOut)
    def get(self, request, pk: int):
        self.actor.require(VIEW)
        member = cob.member_visible(self.actor, pk)
        form = ser.CobAsOfIn(data=query_data(request.query_params))
        form.is_valid(raise_exception=True)
        got = cob.member_cob(
            actor=self.actor, member=member, as_of=form.validated_data.get("as_of")
        )
        return Response(ser.MemberCobOut(got).data)


class MemberCobOverrideView(TenantAPIView):
    """Set (POST: 201, or 202 waiting for a second person) or remove (DELETE: 200 or 202) a
    member's COB override; a reason is required. DELETE takes the reason as `?reason=` or in
    a JSON body `{"reason": ...}`."""

    required_scopes = {"POST": OVERRIDE, "DELETE": OVERRIDE}

    @extend_schema(
        request=ser.CobOverrideIn,
        responses={201: ser.MemberCobOut, 202: OpenApiResponse(ser.CobOverrideWaitingOut)},
    )
    def post(self, request, pk: int):
        member = cob.member_visible(self.actor, pk)
        form = ser.CobOverrideIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        got = cob.cob_override_set(
            actor=self.actor, member=member, ordering=v["ordering"], reason=v["reason"]
        )
        if not hasattr(got, "ordering"):
            return _waiting(got)
        body = cob.member_cob(actor=self.actor, member=member)
        return Response(ser.MemberCobOut(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "reason", str, required=True, description="why (or a JSON body {reason})"
            )
        ],
        responses={200: ser.MemberCobOut, 202: OpenApiResponse(ser.CobOverrideWaitingOut)},
    )
    def delete(self, request, pk: int):
        member = cob.member_visible(self.actor, pk)
        data = query_data(request.query_params)
        if "reason" not in data and isinstance(request.data, dict) and request.data:
            data = request.data
        form = ser.CobOverrideRemoveIn(data=data)
        form.is_valid(raise_exception=True)
        got = cob.cob_override_remove(
            actor=self.actor, member=member, reason=form.validated_data["reason"]
        )
        if getattr(got, "active", None) is not False:
            return _waiting(got)
        return Response(ser.MemberCobOut(cob.member_cob(actor=self.actor, member=member)).data)


class SecondaryClaimView(TenantAPIView):
    """Build the next payer's claim (COB order) after the primary payer's 835 was posted."""

    required_scopes = {"POST": WRITE}

    @extend_schema(request=None, responses={201: ser.SecondaryClaimOut})
    def post(self, request, number: str):
        claim = selectors_claims.claim_get(self.actor, number)
        secondary = secondary_claim_build(actor=self.actor, claim_id=claim.pk)
        record_phi_access(self.actor, PHI_VIEW, secondary)
        return Response(ser.SecondaryClaimOut(secondary).data, status=status.HTTP_201_CREATED)
