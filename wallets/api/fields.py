"""Strict money input of the wallets API: a JSON string of digits with at most 2 decimals."""

from __future__ import annotations

import re
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
_MONEY = re.compile(MONEY_PATTERN)


@extend_schema_field(
    {
        "type": "string",
        "pattern": MONEY_PATTERN,
        "example": "50.00",
        "description": "an amount as text: digits, optionally '.' and 1 or 2 decimals",
    }
)
class MoneyInField(serializers.Field):
    """An amount as exactly the documented text ("12.50"): never a JSON number (no float)."""

    default_error_messages = {
        "invalid": 'expected an amount as text with at most 2 decimals, e.g. "12.50".'
    }

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str) or not _MONEY.fullmatch(data):
            self.fail("invalid")
        return Decimal(data)

    def to_representation(self, value) -> str:
        return f"{Decimal(value):.2f}"


CURRENCY_PATTERN = r"^[A-Za-z]{3}$"
_CURRENCY = re.compile(r"[A-Za-z]{3}")


@extend_schema_field(
    {"type": "string", "pattern": CURRENCY_PATTERN, "example": "USD", "description": "3 letters"}
)
class CurrencyField(serializers.Field):
    """A 3-letter currency code in any case, read as upper case."""

    default_error_messages = {"invalid": "expected a 3-letter code, e.g. USD."}

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str) or not _CURRENCY.fullmatch(data):
            self.fail("invalid")
        return data.upper()

    def to_representation(self, value) -> str:
        return value
