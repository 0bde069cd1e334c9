"""Shapes of the auto-correction API (no rules here)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.strict import StrictSerializer
from denials.services.corrections import FORCE_RETRY_REASONS


class CorrectionAttemptSerializer(serializers.Serializer):
    """One run of a correction handler on a denial: what it decided and the claim it built."""

    id = serializers.IntegerField()
    denial = serializers.IntegerField(source="denial_id")
    handler = serializers.CharField()
    handler_version = serializers.CharField()
    fingerprint = serializers.CharField(help_text="sha256 of the handler, version and inputs")
    outcome = serializers.CharField(help_text="SUCCESS, SKIPPED or FAILED")
    message = serializers.SerializerMethodField()
    changed = serializers.SerializerMethodField()
    corrected_claim = serializers.SerializerMethodField()
    forced = serializers.BooleanField()
    reason = serializers.CharField()
    created_by = serializers.SerializerMethodField()
    approved_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_message(self, obj) -> str:
        return str((obj.result or {}).get("message", ""))

    def get_changed(self, obj) -> list[str]:
        return [str(c) for c in (obj.result or {}).get("changed", [])]

    def get_corrected_claim(self, obj) -> str | None:
        return obj.corrected_claim.number if obj.corrected_claim_id else None

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id else None

    def get_approved_by(self, obj) -> str | None:
        return obj.approved_by.get_username() if obj.approved_by_id else None


class CorrectionRunResultSerializer(CorrectionAttemptSerializer):
    """The attempt a run produced, or the stored one it returned (`reused`)."""

    reused = serializers.BooleanField(
        help_text="true: the same facts were already decided; the stored attempt is returned"
    )
    detail = serializers.CharField()


class CorrectionRunSerializer(StrictSerializer):
    handler = serializers.CharField(
        max_length=40, required=False, help_text="default: the first handler for the CARC"
    )


class ForceRetrySerializer(StrictSerializer):
    handler = serializers.CharField(max_length=40, required=False)
    reason_code = serializers.ChoiceField(
        choices=list(FORCE_RETRY_REASONS.items()), help_text="why the engine must run again"
    )
    reason = serializers.CharField(max_length=1000, help_text="what a person found (required)")


class ForceRetryWaitingSerializer(serializers.Serializer):
    executed = serializers.BooleanField()
    override_request = serializers.IntegerField()
    message = serializers.CharField()


class HandlerSerializer(serializers.Serializer):
    """A registered correction handler."""

    name = serializers.CharField()
    carcs = serializers.ListField(child=serializers.CharField())
    version = serializers.CharField()
    reads = serializers.ListField(child=serializers.CharField(), help_text="the inputs it reads")
    description = serializers.CharField()
