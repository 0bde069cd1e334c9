"""Shapes of the ingestion API (field names of inputs follow the seed: artifactId, ...)."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from core.api.fields import bounded_integer, id_field
from ingestion.models import Artifact, Batch, BatchRecord, Kind
from ingestion.registry import handlers


def loadable_kind_choices() -> list[tuple[str, str]]:
    """The kinds an upload or batch may name: those an installed app registered a handler for."""
    registered = {h.kind for h in handlers()}
    return [(value, label) for value, label in Kind.choices if value in registered]


class LoadableKindMixin:
    """`kind` lists only the loadable kinds, read when the serializer is built (after app ready)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = loadable_kind_choices()


class ArtifactSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(
        source="uploaded_by.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Artifact
        fields = ["id", "kind", "filename", "sha256", "size", "uploaded_by", "received_at"]
        read_only_fields = fields


class ArtifactUploadSerializer(LoadableKindMixin, serializers.Serializer):
    kind = serializers.ChoiceField(Kind.choices)
    file = serializers.FileField()


class BatchSerializer(serializers.ModelSerializer):
    pending = serializers.IntegerField(read_only=True)
    percent = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="processed / total in %; null while the total is not known (queued, failed)",
    )
    updated = serializers.IntegerField(
        read_only=True,
        help_text="records repeating a loaded key whose newer values were applied",
    )
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Batch
        fields = [
            "id",
            "kind",
            "format",
            "artifact",
            "status",
            "idempotency_key_fields",
            "total",
            "processed",
            "pending",
            "percent",
            "success",
            "updated",
            "error",
            "skipped",
            "failure",
            "received_at",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class RecordInSerializer(serializers.Serializer):
    rowNumber = bounded_integer(  # noqa: N815 (seed's field name)
        BatchRecord._meta.get_field("row_number"), min_value=1
    )
    data = serializers.DictField()


class BatchCreateSerializer(LoadableKindMixin, serializers.Serializer):
    artifactId = id_field(required=False)  # noqa: N815
    kind = serializers.ChoiceField(Kind.choices, required=False)
    records = RecordInSerializer(many=True, required=False, allow_empty=False)
    idempotencyKeyFields = serializers.ListField(  # noqa: N815
        child=serializers.CharField(), required=False
    )
    options = serializers.DictField(required=False, help_text="payer_code, source_kind (X12)")

    def validate(self, attrs):
        if "artifactId" not in attrs and "records" not in attrs:
            raise serializers.ValidationError("Give an artifactId, records, or both.")
        if "artifactId" not in attrs and "kind" not in attrs:
            raise serializers.ValidationError({"kind": ["required when no artifactId is given"]})
        return attrs


class BatchCreateSchema(OpenApiSerializerExtension):
    """The schema states BatchCreateSerializer.validate's rule: an artifactId, or kind and
    records (so a body without either is schema-invalid, not a surprise 400)."""

    target_class = BatchCreateSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["anyOf"] = [{"required": ["artifactId"]}, {"required": ["kind", "records"]}]
        return schema


class BatchRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = BatchRecord
        fields = ["row_number", "status", "data", "error_detail", "attempts"]
        read_only_fields = fields


class RecordCorrectionSerializer(serializers.Serializer):
    data = serializers.DictField()
