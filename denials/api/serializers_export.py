"""Shapes of the 837P export API (no rules here)."""

from __future__ import annotations

from rest_framework import serializers


class InterchangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    interchange_control_number = serializers.CharField(read_only=True, help_text="ISA13")
    group_control_number = serializers.CharField(read_only=True, help_text="GS06")
    claim_count = serializers.IntegerField(read_only=True)
    total_billed = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField(help_text="where to download the file")

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id else None

    def get_file(self, obj) -> str:
        return f"/api/claims/interchanges/{obj.pk}/file"
