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
    """`record_key` of many records, column by column: each distinct value is normalised once."""
    rows = rows if isinstance(rows, list) else list(rows)
    sha256, sep = hashlib.sha256, "\x1f"
    if not fields:
        return [sha256(b"").hexdigest()] * len(rows)
    columns = []
    for f in fields:
        values = [data.get(f, "") for data in rows]
        # equal numbers can print differently: only strings share a normalised part
        parts = {v: f"{f}={normalise(v)}" for v in {v for v in values if type(v) is str}}
        columns.append([parts[v] if type(v) is str else f"{f}={normalise(v)}" for v in values])
    return [sha256(sep.join(key).encode()).hexdigest() for key in zip(*columns, strict=True)]


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
