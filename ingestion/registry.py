"""Record handlers by kind: domain apps register how to validate and write their records.

Ingestion knows no domain app; each app registers its handlers in its AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ingestion.parsers import ParsedRow


@dataclass(frozen=True)
class ChunkContext:
    """What a handler knows about the records it is given."""

    tenant_id: int
    batch_id: int
    artifact_id: int | None
    received_at: datetime
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RecordIn:
    """One record to validate and write."""

    row_number: int
    data: dict


# A handler gets a chunk's records and returns {row_number: error text} for the records it
# refused; every other record was written. It runs inside the chunk's transaction.
ProcessFn = Callable[[ChunkContext, list[RecordIn]], dict[int, str]]
X12Fn = Callable[[bytes, dict], list[ParsedRow]]
# A handler may look again at records whose key was already loaded (repeats of a loaded fact)
# and apply values that are not part of the key (a corrected name); it returns the row numbers
# it applied: those records become UPDATED instead of SKIPPED. Same transaction as the chunk.
RevisitFn = Callable[[ChunkContext, list[RecordIn]], set[int]]


@dataclass(frozen=True)
class RecordHandler:
    """How one kind of record is read, keyed and written."""

    kind: str
    columns: tuple[str, ...]
    required_columns: tuple[str, ...]
    default_key_fields: tuple[str, ...]
    process: ProcessFn
    x12: X12Fn | None = None
    description: str = ""
    revisit: RevisitFn | None = None
    example: dict[str, str] = field(default_factory=dict)

    @property
    def optional_columns(self) -> tuple[str, ...]:
        """Columns a file may leave out or leave empty."""
        return tuple(c for c in self.columns if c not in self.required_columns)


_HANDLERS: dict[str, RecordHandler] = {}


def register_handler(handler: RecordHandler) -> None:
    """Make a kind loadable (idempotent per kind)."""
    _HANDLERS[handler.kind] = handler


def get_handler(kind: str) -> RecordHandler | None:
    """The handler of a kind, if one is registered."""
    return _HANDLERS.get(kind)


def handlers() -> list[RecordHandler]:
    """Every registered handler, by kind."""
    return sorted(_HANDLERS.values(), key=lambda h: h.kind)
