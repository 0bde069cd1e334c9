"""Ingestion API (seed 003): artifacts, batches, records, retry."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.filters import query_choice
from core.api.parsers import FormParser, MultiPartParser
from core.api.views import TenantAPIView, TenantListAPIView
from ingestion import selectors, services
from ingestion.api import serializers as ser
from ingestion.models import Batch, BatchRecord, Kind


class ArtifactListCreateView(TenantListAPIView):
    """List uploaded files; upload one (multipart: kind, file)."""

    required_scopes = {"GET": S.INGESTION_READ, "POST": S.INGESTION_UPDATE}
    serializer_class = ser.ArtifactSerializer
    parser_classes = [MultiPartParser, FormParser]
    filter_backends: list = []

    def get_queryset(self):
        return selectors.artifact_list(self.actor)

    @extend_schema(
        request={"multipart/form-data": ser.ArtifactUploadSerializer},
        responses={201: ser.ArtifactSerializer},
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is not None:
            services.upload_size_check(upload.size)
        form = ser.ArtifactUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        f = form.validated_data["file"]
        artifact = services.artifact_upload(
            actor=self.actor, kind=form.validated_data["kind"], filename=f.name, content=f.read()
        )
        return Response(ser.ArtifactSerializer(artifact).data, status=status.HTTP_201_CREATED)


class ArtifactDetailView(TenantAPIView):
    """One uploaded file's metadata."""

    required_scopes = {"GET": S.INGESTION_READ}

    @extend_schema(responses=ser.ArtifactSerializer)
    def get(self, request, pk: int):
        return Response(ser.ArtifactSerializer(selectors.artifact_get(self.actor, pk)).data)


class BatchListCreateView(TenantListAPIView):
    """List batches (filter status, kind); create one from an artifact or JSON records."""

    required_scopes = {"GET": S.INGESTION_READ, "POST": S.INGESTION_UPDATE}
    serializer_class = ser.BatchSerializer
    filter_backends: list = []
    request_body_required = True  # an artifactId, records, or both

    def get_queryset(self):
        q = self.request.query_params
        return selectors.batch_list(
            self.actor,
            status=query_choice(q, "status", Batch.Status.values),
            kind=query_choice(q, "kind", Kind.values),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Batch.Status.values),
            OpenApiParameter("kind", str, enum=Kind.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ser.BatchCreateSerializer, responses={201: ser.BatchSerializer})
    def post(self, request):
        form = ser.BatchCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        batch = services.batch_create(
            actor=self.actor,
            artifact_id=v.get("artifactId"),
            kind=v.get("kind"),
            records=v.get("records"),
            idempotency_key_fields=v.get("idempotencyKeyFields"),
            options=v.get("options"),
        )
        return Response(ser.BatchSerializer(batch).data, status=status.HTTP_201_CREATED)


class BatchDetailView(TenantAPIView):
    """A batch's status and counters."""

    required_scopes = {"GET": S.INGESTION_READ}

    @extend_schema(responses=ser.BatchSerializer)
    def get(self, request, pk: int):
        return Response(ser.BatchSerializer(selectors.batch_get(self.actor, pk)).data)


class BatchRecordListView(TenantListAPIView):
    """A batch's records in row order (filter status=ERROR to see what failed)."""

    required_scopes = {"GET": S.INGESTION_READ}
    serializer_class = ser.BatchRecordSerializer
    filter_backends: list = []

    def get_queryset(self):
        batch = selectors.batch_get(self.actor, self.kwargs["pk"])
        return selectors.record_list_read(
            self.actor,
            batch,
            status=query_choice(self.request.query_params, "status", BatchRecord.Status.values),
        )

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "row_number"
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=BatchRecord.Status.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BatchRecordCorrectView(TenantAPIView):
    """Correct an ERROR record's data; the next retry loads it."""

    required_scopes = {"PATCH": S.INGESTION_UPDATE}
    patch_is_partial = False  # `data` is the whole correction: required (core.api.schema)

    @extend_schema(request=ser.RecordCorrectionSerializer, responses=ser.BatchRecordSerializer)
    def patch(self, request, pk: int, row: int):
        form = ser.RecordCorrectionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        record = services.batch_record_correct(
            actor=self.actor, batch_id=pk, row_number=row, data=form.validated_data["data"]
        )
        return Response(ser.BatchRecordSerializer(record).data)


class BatchRetryView(TenantAPIView):
    """Reprocess the batch's ERROR records."""

    required_scopes = {"POST": S.INGESTION_UPDATE}

    @extend_schema(request=None, responses=ser.BatchSerializer)
    def post(self, request, pk: int):
        batch = services.batch_retry(actor=self.actor, batch_id=pk)
        return Response(ser.BatchSerializer(batch).data)
