"""Serializer fields shared by every app's API: strict months, integers bounded by their column.

SQLite stores any 64-bit integer while PostgreSQL's int4 stops at 2**31-1: an unbounded
IntegerField answers 201 on one and 500 on the other. Bound each input by its column's type
(the same numbers on every database) so both answer 400 naming the field.
"""

from __future__ import annotations

from datetime import date

from django.db import models
from rest_framework import serializers

from core.months import MonthError, parse_month

INT2 = (-(2**15), 2**15 - 1)
INT4 = (-(2**31), 2**31 - 1)
INT8 = (-(2**63), 2**63 - 1)

# Model field internal types -> the PostgreSQL column range (what the stricter database stores).
COLUMN_RANGES: dict[str, tuple[int, int]] = {
    "SmallIntegerField": INT2,
    "IntegerField": INT4,
    "BigIntegerField": INT8,
    "PositiveSmallIntegerField": (0, INT2[1]),
    "PositiveIntegerField": (0, INT4[1]),
    "PositiveBigIntegerField": (0, INT8[1]),
    "SmallAutoField": (1, INT2[1]),
    "AutoField": (1, INT4[1]),
    "BigAutoField": (1, INT8[1]),
}
_KINDS = {"int2": INT2, "int4": INT4, "int8": INT8}


def column_range(column: models.Field | str) -> tuple[int, int]:
    """The storable range of a model field (by its type) or of "int2"/"int4"/"int8"."""
    if isinstance(column, str):
        return _KINDS[column]
    if isinstance(column, models.ForeignKey):
        column = column.target_field
    return COLUMN_RANGES[column.get_internal_type()]


def bounded_integer(
    column: models.Field | str,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    **kwargs,
) -> serializers.IntegerField:
    """A DRF IntegerField refusing values outside the column's range (and the given bounds)."""
    low, high = column_range(column)
    return serializers.IntegerField(
        min_value=low if min_value is None else max(low, min_value),
        max_value=high if max_value is None else min(high, max_value),
        **kwargs,
    )


def id_field(**kwargs) -> serializers.IntegerField:
    """The id of a row (BigAutoField: 1 to 2**63-1)."""
    return serializers.IntegerField(min_value=1, max_value=INT8[1], **kwargs)


class MonthField(serializers.Field):
    """A billing month as exactly `YYYY-MM` (a first-of-month date inside), see core.months.

    Its schema (core.api.schema.MonthFieldExtension) states the accepted years, computed when
    the schema is generated."""

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
    if text is None:
        return None
    try:
        return parse_month(text)
    except MonthError as exc:
        raise serializers.ValidationError({name: [str(exc)]}) from None


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean in a request body: `true` or `false`, nothing else.

    DRF's BooleanField also takes 0/1, "true", "yes", "on"... (it is built for HTML forms),
    where the schema says `boolean`: a partner system sending `"active": "false"` would be
    read by luck, `"active": 0` silently. Query-string booleans keep DRF's field (a query
    value is always text)."""

    default_error_messages = {"invalid": "expected true or false (a JSON boolean)."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


def strict_json_strings() -> None:
    """Make DRF's CharField (and its subclasses) refuse a JSON number where text is expected.

    DRF turns `"name": 0` into "0" (it is lenient with numbers); the schema says string, and
    a partner system sending a number has a bug we should name, not hide. Query-string and
    form values are always text, so only JSON bodies are affected. Done once for every
    serializer of every app (called from CoreConfig.ready) rather than field by field.
    """
    if getattr(serializers.CharField, "_strict_json", False):
        return
    lenient = serializers.CharField.to_internal_value

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return lenient(self, data)

    serializers.CharField.to_internal_value = to_internal_value
    serializers.CharField._strict_json = True
