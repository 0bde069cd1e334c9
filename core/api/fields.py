"""Serializer fields shared by every app's API."""

from __future__ import annotations

from datetime import date

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.months import MonthError, parse_month


@extend_schema_field({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "example": "2026-11"})
class MonthField(serializers.Field):
    """A billing month as exactly `YYYY-MM` (a first-of-month date inside), see core.months."""

    def to_representation(self, value: date) -> str:
        return value.strftime("%Y-%m")

    def to_internal_value(self, data) -> date:
        try:
            return parse_month(data)
        except MonthError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None


def month_query_param(query_params, name: str = "month") -> date | None:
    """`?month=YYYY-MM` of a list, None when absent; a 400 naming the parameter otherwise."""
    text = query_params.get(name)
    if text in (None, ""):
        return None
    try:
        return parse_month(text)
    except MonthError as exc:
        raise serializers.ValidationError({name: [str(exc)]}) from None
