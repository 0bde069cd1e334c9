"""Auto-correction API (issue 14 item 8): thin views over `denials.services.corrections`.

Reads need `claims.view`; a run `billing.auto-correction.run`; a force-retry
`billing.auto-correction.override` (checked again in the services). A denial of a payer the
caller may not see is a 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.views import TenantAPIView, TenantListAPIView
from denials import corrections as rules
from denials.api import serializers_corrections as ser
from denials.models import CorrectionAttempt
from denials.services.corrections import (
    correction_force_retry,
    correction_run,
    denial_for_correction,
)

VIEW, RUN = S.CLAIMS_VIEW, S.BILLING_AUTOCORRECTION_RUN
OVERRIDE = S.BILLING_AUTOCORRECTION_OVERRIDE


class CorrectionListRunView(TenantListAPIView):
    """GET: a denial's correction attempts, newest first. POST: run a handler (201 a new
    attempt; 200 the stored attempt when the same facts were already decided, `reused`)."""

    required_scopes = {"GET": VIEW, "POST": RUN}
    serializer_class = ser.CorrectionAttemptSerializer
    filter_backends: list = []

    def get_queryset(self):
        denial = denial_for_correction(self.actor, self.kwargs["pk"])
        return CorrectionAttempt.objects.filter(denial=denial).select_related(
            "corrected_claim", "created_by", "approved_by"
        )

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-pk"
        return super().paginate_queryset(queryset)

    @extend_schema(
        request=ser.CorrectionRunSerializer,
        responses={201: ser.CorrectionRunResultSerializer, 200: ser.CorrectionRunResultSerializer},
    )
    def post(self, request, pk: int):
        denial_for_correction(self.actor, pk)  # 404 first for a denial nobody may see
        form = ser.CorrectionRunSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        attempt = correction_run(
            actor=self.actor, denial_id=pk, handler=form.validated_data.get("handler")
        )
        data = dict(ser.CorrectionAttemptSerializer(attempt).data)
        data["reused"] = attempt.reused
        data["detail"] = (
            "returned the stored attempt: the facts it read have not changed"
            if attempt.reused
            else f"ran {attempt.handler}: {attempt.outcome}"
        )
        code = status.HTTP_200_OK if attempt.reused else status.HTTP_201_CREATED
        return Response(data, status=code)


class CorrectionForceRetryView(TenantAPIView):
    """Run a handler again whatever the stored attempt says (reason code + text): 201 the forced
    attempt, 202 waiting for a second person when the tenant puts the scope under dual control."""

    required_scopes = {"POST": OVERRIDE}

    @extend_schema(
        request=ser.ForceRetrySerializer,
        responses={
            201: ser.CorrectionAttemptSerializer,
            202: OpenApiResponse(ser.ForceRetryWaitingSerializer),
        },
    )
    def post(self, request, pk: int):
        denial_for_correction(self.actor, pk)
        form = ser.ForceRetrySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        got = correction_force_retry(
            actor=self.actor,
            denial_id=pk,
            handler=v.get("handler"),
            reason=v["reason"],
            reason_code=v["reason_code"],
        )
        if isinstance(got, CorrectionAttempt):
            data = ser.CorrectionAttemptSerializer(got).data
            return Response(data, status=status.HTTP_201_CREATED)
        body = {
            "executed": False,
            "override_request": got.pk,
            "message": "This force-retry needs a second person's approval; it waits in the queue.",
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class HandlerListView(TenantAPIView):
    """The registered correction handlers: name, CARCs, version, inputs read, description."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.HandlerSerializer(many=True))
    def get(self, request):
        rows = [
            {
                "name": h.name,
                "carcs": list(h.carcs),
                "version": h.version,
                "reads": list(h.reads),
                "description": h.description,
            }
            for h in rules.handlers()
        ]
        return Response(ser.HandlerSerializer(rows, many=True).data)
