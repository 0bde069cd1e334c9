"""Validation of a rule version's params (SPEC 4 schema); every violation is named."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.engine.types import BenefitCombination, PricingTier, RuleParams

SOURCE_KINDS = ("MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE")
PRORATIONS = ("DAILY", "FULL_MONTH")
_FIELDS = {
    "requires_service_delivery",
    "qualifying_service_codes",
    "retro_window_months",
    "proration",
    "min_billable_days",
    "file_precedence",
    "benefit_combinations",
    "pricing_tiers",
}


class ParamsInvalid(ValueError):
    """The params break the schema; `violations` lists each as `path: what was expected`."""

    def __init__(self, violations: list[str]) -> None:
        super().__init__("; ".join(violations))
        self.violations = violations


def params_hash(raw: dict) -> str:
    """sha256 of the params' canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class _Check:
    def __init__(self) -> None:
        self.violations: list[str] = []

    def fail(self, path: str, expected: str) -> None:
        self.violations.append(f"{path}: {expected}")

    def integer(self, value: Any, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, f"expected a whole number from {low} to {high}")
            return low
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "expected a non-empty string")
            return ""
        return value.strip().upper()

    def rate(self, value: Any, path: str) -> Decimal:
        if not isinstance(value, str):
            self.fail(path, "expected a decimal string")
            return Decimal(0)
        try:
            rate = Decimal(value)
        except InvalidOperation:
            self.fail(path, "expected a decimal string")
            return Decimal(0)
        if not rate.is_finite() or rate < 0 or rate.as_tuple().exponent < -2:
            self.fail(path, "expected a non-negative amount with at most 2 decimals")
        return rate

    def items(self, value: Any, path: str) -> list:
        if not isinstance(value, list):
            self.fail(path, "expected a list")
            return []
        return value


def parse_params(raw: Any) -> RuleParams:
    """Typed params, or ParamsInvalid naming every violation."""
    c = _Check()
    if not isinstance(raw, dict):
        raise ParamsInvalid(["params: expected an object"])
    for key in sorted(set(raw) - _FIELDS):
        c.fail(key, "unknown field")
    for key in ("requires_service_delivery", "proration", "pricing_tiers"):
        if key not in raw:
            c.fail(key, "required")
    requires = raw.get("requires_service_delivery", False)
    if not isinstance(requires, bool):
        c.fail("requires_service_delivery", "expected true or false")
    codes = tuple(
        c.text(v, f"qualifying_service_codes[{i}]")
        for i, v in enumerate(
            c.items(raw.get("qualifying_service_codes", []), "qualifying_service_codes")
        )
    )
    window = c.integer(raw.get("retro_window_months", 0), "retro_window_months", 0, 24)
    proration = raw.get("proration", "DAILY")
    if proration not in PRORATIONS:
        c.fail("proration", f"expected one of {', '.join(PRORATIONS)}")
    min_days = c.integer(raw.get("min_billable_days", 1), "min_billable_days", 0, 31)
    precedence = c.items(raw.get("file_precedence", list(SOURCE_KINDS)), "file_precedence")
    for i, kind in enumerate(precedence):
        if kind not in SOURCE_KINDS:
            c.fail(f"file_precedence[{i}]", f"expected one of {', '.join(SOURCE_KINDS)}")
    if len(set(map(str, precedence))) != len(precedence):
        c.fail("file_precedence", "expected each source kind at most once")
    combos = []
    for i, item in enumerate(c.items(raw.get("benefit_combinations", []), "benefit_combinations")):
        path = f"benefit_combinations[{i}]"
        if not isinstance(item, dict):
            c.fail(path, "expected an object {primary, suffix, combined}")
            continue
        combos.append(
            BenefitCombination(
                c.text(item.get("primary"), f"{path}.primary"),
                c.text(item.get("suffix"), f"{path}.suffix"),
                c.text(item.get("combined"), f"{path}.combined"),
            )
        )
    tiers = []
    for i, item in enumerate(c.items(raw.get("pricing_tiers", []), "pricing_tiers")):
        path = f"pricing_tiers[{i}]"
        if not isinstance(item, dict):
            c.fail(path, "expected an object {benefit, min_age, max_age, rate}")
            continue
        low = c.integer(item.get("min_age"), f"{path}.min_age", 0, 150)
        high = c.integer(item.get("max_age"), f"{path}.max_age", 0, 150)
        if high < low:
            c.fail(f"{path}.max_age", "expected max_age >= min_age")
        tiers.append(
            PricingTier(
                c.text(item.get("benefit"), f"{path}.benefit"),
                low,
                high,
                c.rate(item.get("rate"), f"{path}.rate"),
            )
        )
    if c.violations:
        raise ParamsInvalid(c.violations)
    return RuleParams(
        requires_service_delivery=requires,
        qualifying_service_codes=codes,
        retro_window_months=window,
        proration=proration,
        min_billable_days=min_days,
        file_precedence=tuple(precedence),
        benefit_combinations=tuple(combos),
        pricing_tiers=tuple(tiers),
    )
