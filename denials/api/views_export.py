"""837P export API: write an interchange of BUILT claims (they become SUBMITTED), list past ones.

`GET /api/claims/837?claim=N&claim=M` or `?all_built=true` answers the file itself (the export is
the download). Exporting needs `claims.write`; listing and downloading past files `claims.view`.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError

from core import scopes as S
from core.api.views import TenantAPIView, TenantListAPIView
from core.exceptions import ScopeDenied
from core.phi_reads import PHI_EXPORT, record_phi_access
from denials import selectors_export as sel
from denials.api import serializers_export as ser
from denials.services.x12_export import claims_export_837

X12 = "application/edi-x12"
CLAIM_NUMBER_MAX = 20
MAX_NAMED = 500


def _file_response(x) -> HttpResponse:
    response = HttpResponse(x.content, content_type=X12)
    response["Content-Disposition"] = f'attachment; filename="{sel.interchange_filename(x)}"'
    response["X-Interchange-Control-Number"] = x.interchange_control_number
    return response


def _export_query(query_params) -> tuple[list[str], bool]:
    """`claim` (repeated) and `all_built` exactly as the schema states them; 400 otherwise."""
    numbers = query_params.getlist("claim")
    if len(numbers) > MAX_NAMED:
        raise ValidationError({"claim": [f"At most {MAX_NAMED} claim numbers at once."]})
    for n in numbers:
        if not 1 <= len(n) <= CLAIM_NUMBER_MAX:
            raise ValidationError(
                {"claim": [f"A claim number has 1 to {CLAIM_NUMBER_MAX} characters."]}
            )
    flag = query_params.get("all_built")
    if flag is not None and flag not in ("true", "false"):
        raise ValidationError({"all_built": ["Must be true or false."]})
    return numbers, flag == "true"


class Export837View(TenantAPIView):
    """Write BUILT claims into one 837P (005010X222A1) interchange and answer the file.

    Name claims with `claim` (repeatable) or take every BUILT claim with `all_built=true`. The
    claims become SUBMITTED; all or nothing: an unknown or not-BUILT claim is a 400 naming each.
    """

    required_scopes = {"GET": S.CLAIMS_WRITE}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "claim",
                {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": CLAIM_NUMBER_MAX},
                    "maxItems": MAX_NAMED,
                },
                style="form",
                explode=True,
                description="claim number to export (repeat for several)",
            ),
            OpenApiParameter(
                "all_built", OpenApiTypes.BOOL, description="export every BUILT claim instead"
            ),
        ],
        responses={
            (200, X12): OpenApiResponse(OpenApiTypes.STR, description="the interchange"),
            413: OpenApiResponse(description="too many query parameters"),
        },
    )
    def get(self, request):
        # a GET that changes state: a browser page of another site must not trigger it with
        # the user's session (no CSRF token guards a GET); API clients send no Sec-Fetch-Site
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            raise ScopeDenied(
                "An 837P export cannot be started from another site; use this application.",
                code="cross_site",
            )
        numbers, all_built = _export_query(request.query_params)
        x = claims_export_837(
            actor=self.actor, tenant=self.actor.tenant, claim_numbers=numbers, all_built=all_built
        )
        record_phi_access(self.actor, PHI_EXPORT, x, claims=x.claim_count)
        return _file_response(x)


class InterchangeListView(TenantListAPIView):
    """837P interchanges written for the tenant, newest first."""

    required_scopes = {"GET": S.CLAIMS_VIEW}
    serializer_class = ser.InterchangeSerializer
    filter_backends: list = []

    def get_queryset(self):
        return sel.interchange_list(self.actor)


class InterchangeFileView(TenantAPIView):
    """The file of a past 837P interchange, as it was sent."""

    required_scopes = {"GET": S.CLAIMS_VIEW}

    @extend_schema(
        responses={(200, X12): OpenApiResponse(OpenApiTypes.STR, description="the interchange")}
    )
    def get(self, request, pk: int):
        x = sel.interchange_get(self.actor, pk)
        record_phi_access(self.actor, PHI_EXPORT, x, claims=x.claim_count)
        return _file_response(x)
