"""Idempotency keys of records: the normalised values of the key fields, hashed. No ORM here."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def field_name(name: str) -> str:
    """`ServiceDate`, `service date` and `service_date` all name `service_date`."""
    name = _CAMEL.sub(r"_\1", name.strip())
    return re.sub(r"[\s\-]+", "_", name).lower()


def normalise(value: object) -> str:
    """Trimmed, upper-cased, inner white space folded: ` ab  c` and `AB C` are one value."""
    return " ".join(str(value if value is not None else "").split()).upper()


def record_key(data: dict, fields: Sequence[str]) -> str:
    """sha256 of the key fields' normalised values, in the order given."""
    text = "\x1f".join(f"{f}={normalise(data.get(f, ''))}" for f in fields)
    return hashlib.sha256(text.encode()).hexdigest()


def record_keys(rows: Iterable[dict], fields: Sequence[str]) -> list[str]:
    """`record_key` of many records; each field's distinct values are normalised once."""
    seen: list[dict[str, str]] = [{} for _ in fields]
    keys = []
    for data in rows:
        parts = []
        for f, cache in zip(fields, seen, strict=True):
            value = data.get(f, "")
            if type(value) is not str:  # equal numbers can print differently: no cache
                parts.append(f"{f}={normalise(value)}")
                continue
            part = cache.get(value)
            if part is None:
                part = cache[value] = f"{f}={normalise(value)}"
            parts.append(part)
        keys.append(hashlib.sha256("\x1f".join(parts).encode()).hexdigest())
    return keys


def key_fields(requested: Iterable[str] | None, allowed: Sequence[str], default: Sequence[str]):
    """The key fields to use, or ValueError naming the unknown ones."""
    fields = [field_name(f) for f in (requested or []) if f and f.strip()]
    if not fields:
        return list(default)
    unknown = [f for f in fields if f not in allowed]
    if unknown:
        raise ValueError(
            f"unknown column(s) {', '.join(unknown)}; expected some of {', '.join(allowed)}"
        )
    return fields
