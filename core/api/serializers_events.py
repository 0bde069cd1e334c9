"""Input and output shapes of the events feed and of webhook endpoints and deliveries.

The event catalogue is known once apps are loaded: the type filters and the endpoint's
`event_types` are checked against it, and the schema states it (an enum, or for the feed's
comma list a pattern built from the names) when it is generated.
"""

from __future__ import annotations

import re

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import INT8
from core.api.strict import StrictSerializer
from core.events import event_envelope, event_type_names
from core.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.webhooks.services import previous_secret_valid_until

# --- events -----------------------------------------------------------------------------------

# An ISO 8601 / RFC 3339 time the API takes in a query: a year DRF can shift to UTC without
# overflowing, a real clock time, `Z` or an offset.
DATETIME_PATTERN = (
    r"^(19[7-9][0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_DATETIME = re.compile(DATETIME_PATTERN)


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "pattern": DATETIME_PATTERN,
        "example": "2026-03-02T08:00:00Z",
        "description": "ISO 8601 time with `Z` or an offset, year 1970 to 2099",
    }
)
class QueryDateTimeField(serializers.DateTimeField):
    """An aware ISO time (`Z` or an offset) within the years the schema states."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not _DATETIME.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss[.ffffff](Z|±hh:mm)")
        return super().to_internal_value(value)


def event_types_pattern() -> str:
    """One catalogue name or a comma list of them (the schema of the feed's `type`)."""
    names = "|".join(re.escape(n) for n in event_type_names()) or "(?!)"
    return f"^({names})(,({names}))*$"


class EventTypeListField(serializers.CharField):
    """`type=a` or `type=a,b`: catalogue names; an unknown one answers 400 naming it."""

    def to_internal_value(self, data) -> list[str]:
        text = super().to_internal_value(data)
        names = [n.strip() for n in text.split(",")]
        known = set(event_type_names())
        unknown = [n for n in names if n not in known]
        if unknown:
            shown = ", ".join(repr(n[:100]) for n in unknown[:5])
            raise serializers.ValidationError(
                f"unknown event type {shown}: see GET /api/events/types", code="invalid"
            )
        return list(dict.fromkeys(names))


class EventTypeListFieldExtension(OpenApiSerializerFieldExtension):
    """The feed's `type` filter: a pattern of the catalogue's names, computed per schema."""

    target_class = "core.api.serializers_events.EventTypeListField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "pattern": event_types_pattern(),
            "description": "an event type, or a comma-separated list of them",
        }


class EventFilterSerializer(serializers.Serializer):
    type = EventTypeListField(required=False, help_text="one type or a comma list")
    since = QueryDateTimeField(required=False, help_text="occurred at or after this time")
    until = QueryDateTimeField(required=False, help_text="occurred before this time")
    after_sequence = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=INT8[1],
        help_text="only events numbered after this one (catch up from the last one you have)",
    )

    class Meta:
        ref_name = "EventFilter"


class EventObjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class EventSerializer(serializers.Serializer):
    """An event as webhooks send it (Standard Webhooks shape): `core.events.event_envelope`."""

    id = serializers.CharField(help_text="`evt_<hex>`; the `webhook-id` of its deliveries")
    type = serializers.CharField()
    timestamp = serializers.DateTimeField()
    sequence = serializers.IntegerField(help_text="per tenant, in commit order")
    tenant = serializers.CharField()
    object = EventObjectSerializer()
    data = serializers.DictField(help_text="ids, states, counts and amounts; never PHI")

    def to_representation(self, instance) -> dict:
        return event_envelope(instance, tenant_slug=self.context.get("tenant_slug"))


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    object_type = serializers.CharField()
    sample = serializers.DictField(help_text="a sample `data` of this type")


# --- webhook endpoints ------------------------------------------------------------------------


def _event_type_choice() -> serializers.ChoiceField:
    names = event_type_names()
    return serializers.ChoiceField(
        names,
        error_messages={
            "invalid_choice": "{input} is not a catalogued event type (see GET /api/events/types)"
        },
    )


def _event_types_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(),
        max_length=200,
        help_text="catalogue names this endpoint receives; empty: every type",
        **kwargs,
    )


class _EventTypesMixin:
    """Binds `event_types` to the catalogue as it is once apps are loaded (and in the schema)."""

    def get_fields(self):
        fields = super().get_fields()
        field = fields["event_types"]
        field.child = _event_type_choice()
        field.child.bind(field_name="", parent=field)
        return fields


class WebhookEndpointSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, default=None, allow_null=True
    )
    previous_secret_valid_until = serializers.SerializerMethodField(
        help_text="while set, deliveries are also signed with the previous secret"
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "active",
            "disabled_at",
            "disabled_reason",
            "created_by",
            "created_at",
            "updated_at",
            "previous_secret_valid_until",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_previous_secret_valid_until(self, endpoint):
        until = previous_secret_valid_until(endpoint)
        return None if until is None else serializers.DateTimeField().to_representation(until)


class WebhookEndpointListItemSerializer(WebhookEndpointSerializer):
    pending_count = serializers.IntegerField(read_only=True, help_text="deliveries waiting")
    failed_count = serializers.IntegerField(read_only=True, help_text="deliveries given up")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "pending_count", "failed_count"]


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="`whsec_...`: the signing secret, shown only in this response"
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointCreateSerializer(_EventTypesMixin, StrictSerializer):
    """A new endpoint: its URL (checked for a public https address) and the types it wants."""

    url = serializers.CharField(max_length=500, help_text="https:// (a public address)")
    event_types = _event_types_field(required=False, default=list)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class Meta:
        ref_name = "WebhookEndpointCreate"


class WebhookEndpointUpdateSerializer(_EventTypesMixin, StrictSerializer):
    """The fields sent change (the URL is checked again); the others stay."""

    url = serializers.CharField(max_length=500, required=False)
    event_types = _event_types_field(required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class Meta:
        ref_name = "WebhookEndpointUpdate"


class WebhookDisableSerializer(StrictSerializer):
    """Why the endpoint is turned off (optional; shown on the endpoint)."""

    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "WebhookDisable"


# --- deliveries -------------------------------------------------------------------------------


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "at",
            "status_code",
            "duration_ms",
            "response_excerpt",
            "error",
            "succeeded",
        ]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True)
    event_sequence = serializers.IntegerField(
        source="event.sequence", read_only=True, default=None, allow_null=True
    )
    message_id = serializers.SerializerMethodField(help_text="the event's `webhook-id`")
    attempt_count = serializers.IntegerField(source="attempts", read_only=True)
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "kind",
            "event_type",
            "event_sequence",
            "message_id",
            "status",
            "attempt_count",
            "created_at",
            "first_attempt_at",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "delivered_at",
            "requested_by",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_message_id(self, delivery) -> str | None:
        if delivery.event_id is not None:
            return delivery.event.message_id
        return (delivery.test_payload or {}).get("id")


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    attempts = WebhookAttemptSerializer(
        source="attempt_log", many=True, read_only=True, help_text="every HTTP attempt, in order"
    )

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "attempts"]


__all__ = [
    "EventFilterSerializer",
    "EventSerializer",
    "EventTypeSerializer",
    "WebhookAttemptSerializer",
    "WebhookDeliveryDetailSerializer",
    "WebhookDeliverySerializer",
    "WebhookDisableSerializer",
    "WebhookEndpointCreateSerializer",
    "WebhookEndpointListItemSerializer",
    "WebhookEndpointSecretSerializer",
    "WebhookEndpointSerializer",
    "WebhookEndpointUpdateSerializer",
]
