"""Strict API input shared by the apps: a day as exactly YYYY-MM-DD, and bodies that refuse
keys they do not know (with the schema saying so: `additionalProperties: false`)."""

from __future__ import annotations

from datetime import date

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.months import MonthError, month_year_range, parse_date


def _year_alternatives() -> str:
    low, high = month_year_range()
    return "|".join(str(y) for y in range(low, high + 1))


def day_schema() -> dict:
    """A day as the API takes it: YYYY-MM-DD with a year parse_date accepts."""
    low, high = month_year_range()
    return {
        "type": "string",
        "format": "date",
        "pattern": f"^({_year_alternatives()})-[0-9]{{2}}-[0-9]{{2}}$",
        "example": "2026-03-02",
        "description": f"YYYY-MM-DD, a real day with a year from {low} to {high}",
    }


@extend_schema_field(day_schema())
class DayField(serializers.Field):
    """A day as exactly `YYYY-MM-DD` (core.months.parse_date: a real day, accepted years)."""

    def to_representation(self, value: date) -> str:
        return value.isoformat()

    def to_internal_value(self, data) -> date:
        try:
            return parse_date(data)
        except MonthError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know (a misspelt field is a 400, never silently ignored)."""

    def validate(self, attrs):
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                allowed = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {k[:50]: [f"unknown field (expected among {allowed})"] for k in unknown}
                )
        return attrs


class StrictSerializerExtension(OpenApiSerializerExtension):
    """The schema says what StrictSerializer enforces: no properties beyond the listed ones."""

    target_class = "core.api.strict.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema
