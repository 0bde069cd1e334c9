"""Reading nested JSON into typed values while collecting every violation by its path
(`accounts[2].bill_cycle_day: expected 1-28, found 31`); used by configuration loaders."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.months import MonthError, parse_date


def describe(value: Any) -> str:
    """How a found value is shown in a message: 'text' quoted, numbers, true, a list, nothing."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return repr(value) if isinstance(value, str) else str(value)
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


class PathReader:
    """Collects violations while reading typed values out of nested JSON."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def bad(self, path: str, message: str) -> None:
        self.violations.append(f"{path or '(file)'}: {message}")

    def obj(self, value: Any, path: str, keys: tuple[str, ...]) -> dict | None:
        if not isinstance(value, dict):
            self.bad(path, f"expected an object, found {describe(value)}")
            return None
        for key in value:
            if key not in keys:
                where = f"{path}.{key}" if path else str(key)
                self.bad(where, f"unknown key, expected one of {', '.join(keys)}")
        return value

    def items(self, parent: dict, key: str, path: str) -> list[tuple[str, Any]]:
        value = parent.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(path, f"expected a list, found {describe(value)}")
            return []
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]

    def text(
        self, parent: dict, key: str, path: str, *, max_length: int, required: bool = True
    ) -> str | None:
        value = parent.get(key)
        if not required and (value is None or (isinstance(value, str) and not value.strip())):
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.bad(f"{path}.{key}", f"expected text, found {describe(value)}")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.bad(
                f"{path}.{key}", f"expected at most {max_length} characters, found {len(value)}"
            )
            return None
        return value

    def integer(
        self, parent: dict, key: str, path: str, *, low: int, high: int, default: int | None
    ) -> int | None:
        value = parent.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(f"{path}.{key}", f"expected {low}-{high}, found {describe(value)}")
            return None
        return value

    def choice(self, parent: dict, key: str, path: str, choices, default: str | None) -> str | None:
        value = parent.get(key, default)
        if value not in choices:
            expected = " or ".join(choices)
            self.bad(f"{path}.{key}", f"expected {expected}, found {describe(value)}")
            return None
        return value

    def boolean(self, parent: dict, key: str, path: str) -> bool | None:
        value = parent.get(key, False)
        if not isinstance(value, bool):
            self.bad(f"{path}.{key}", f"expected true or false, found {describe(value)}")
            return None
        return value

    def day(self, value: Any, path: str) -> date | None:
        try:
            return parse_date(value)
        except MonthError as exc:
            self.bad(path, f"{exc}, found {describe(value)}")
            return None


def unique(reader: PathReader, seen: dict[str, str], key: str | None, path: str, what: str) -> None:
    """Name a second use of a key that must be unique in the file, pointing at the first."""
    if key is None:
        return
    if key in seen:
        reader.bad(path, f"duplicate {what}, already given at {seen[key]}")
    else:
        seen[key] = path
