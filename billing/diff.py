"""Run comparison, the pure part: merge two runs' decision streams and tally the differences.

Both streams are ordered by (payer id, member id, month); the merge walks them side by side, so
memory stays constant whatever the runs' size. No Django here (plain tuples in, dataclasses out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

RETRO = ("BILLED_RETROACTIVE", "NOT_BILLED_RETROACTIVE")
ABSENT = "ABSENT"  # the class of a member-month a run has no decision for

ADDED, REMOVED, CLASS, AMOUNT = "added", "removed", "class", "amount"
KINDS = (ADDED, REMOVED, CLASS, AMOUNT)
KIND_LABELS = {
    ADDED: "Added (only in this run)",
    REMOVED: "Removed (only in the other run)",
    CLASS: "Class changed",
    AMOUNT: "Amount changed (same class)",
}


class Row(NamedTuple):
    """One decision as the comparison reads it (a tuple: cheap to build by the hundred thousand)."""

    payer_id: int
    member_id: int
    month: date
    decision_id: int
    decision_class: str
    billable: bool
    amount: Decimal
    payer_code: str
    member_external_id: str

    @property
    def key(self) -> tuple[int, int, date]:
        return self[:3]


class Change:
    """One payer x member x month of either run: its two decisions and how they differ."""

    __slots__ = ("kind", "new", "old")

    def __init__(self, old: Row | None, new: Row | None) -> None:
        self.old = old  # the decision of the run compared with (the baseline)
        self.new = new  # the decision of the run being looked at
        self.kind = change_kind(old, new)  # None: same class and amount

    @property
    def any(self) -> Row:
        return self.new or self.old  # type: ignore[return-value]

    @property
    def key(self) -> tuple[int, int, date]:
        return self.any.key

    @property
    def old_class(self) -> str:
        return self.old.decision_class if self.old else ABSENT

    @property
    def new_class(self) -> str:
        return self.new.decision_class if self.new else ABSENT

    @property
    def old_amount(self) -> Decimal | None:
        return self.old.amount if self.old else None

    @property
    def new_amount(self) -> Decimal | None:
        return self.new.amount if self.new else None

    @property
    def delta(self) -> Decimal:
        """New amount minus old amount (a missing decision counts as 0.00)."""
        zero = Decimal("0.00")
        return (self.new.amount if self.new else zero) - (self.old.amount if self.old else zero)


def change_kind(old: Row | None, new: Row | None) -> str | None:
    """added, removed, class, amount, or None when class and amount are the same."""
    if old is None:
        return ADDED
    if new is None:
        return REMOVED
    if old.decision_class != new.decision_class:
        return CLASS
    if old.amount != new.amount:
        return AMOUNT
    return None


def merge(old: Iterable[Row], new: Iterable[Row]) -> Iterator[Change]:
    """Pairs of decisions with the same key (either may be None), in key order."""
    olds, news = iter(old), iter(new)
    o, n = next(olds, None), next(news, None)
    while o is not None or n is not None:
        if n is None or (o is not None and o[:3] < n[:3]):
            yield Change(o, None)
            o = next(olds, None)
        elif o is None or n[:3] < o[:3]:
            yield Change(None, n)
            n = next(news, None)
        else:
            yield Change(o, n)
            o, n = next(olds, None), next(news, None)


@dataclass
class Side:
    """One run's totals over the compared payers (the definitions of the run summary)."""

    members: int = 0
    billable_members: int = 0
    total_charge: Decimal = field(default_factory=lambda: Decimal("0.00"))

    def add(self, row: Row, month: date) -> None:
        current = row.month == month and row.decision_class not in RETRO
        if current:
            self.members += 1
            if row.billable:
                self.billable_members += 1
        if row.billable or row.decision_class in RETRO:
            self.total_charge += row.amount


@dataclass
class Tally:
    """Totals of both runs, the class-transition matrix and the changed member-months."""

    month: date
    new: Side = field(default_factory=Side)  # the run being looked at ("a")
    old: Side = field(default_factory=Side)  # the run compared with ("b")
    matrix: dict[tuple[str, str], int] = field(default_factory=dict)  # (old, new) -> all pairs
    transitions: dict[str, int] = field(default_factory=dict)  # 'OLD->NEW' -> changed pairs
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    changed: int = 0
    changed_delta: Decimal = field(default_factory=lambda: Decimal("0.00"))
    kept: int = 0  # changes a filter accepted (see scan)

    def add(self, change: Change) -> str | None:
        """Count one merged pair; its change kind (None when unchanged)."""
        if change.old is not None:
            self.old.add(change.old, self.month)
        if change.new is not None:
            self.new.add(change.new, self.month)
        cell = (change.old_class, change.new_class)
        self.matrix[cell] = self.matrix.get(cell, 0) + 1
        kind = change.kind
        if kind is not None:
            self.changed += 1
            self.by_kind[kind] += 1
            self.changed_delta += change.delta
            name = f"{cell[0]}->{cell[1]}"
            self.transitions[name] = self.transitions.get(name, 0) + 1
        return kind

    def by_transition(self) -> dict[str, int]:
        """Changed member-months per 'OLD->NEW' class pair (they sum to `changed`)."""
        return dict(sorted(self.transitions.items()))

    def totals(self) -> dict:
        """members, billable_members and total_charge of each run and their differences."""

        def trio(a, b) -> dict:
            if isinstance(a, Decimal):
                return {"a": str(a), "b": str(b), "delta": str(a - b)}
            return {"a": a, "b": b, "delta": a - b}

        return {
            "members": trio(self.new.members, self.old.members),
            "billable_members": trio(self.new.billable_members, self.old.billable_members),
            "total_charge": trio(self.new.total_charge, self.old.total_charge),
        }


Predicate = Callable[[Change, str], bool]


def scan(
    changes: Iterable[Change],
    month: date,
    *,
    keep: Predicate | None = None,
    offset: int = 0,
    limit: int = 0,
) -> tuple[Tally, list[Change]]:
    """Tally every pair; also return the changes `keep` accepts (all when None), from `offset`,
    at most `limit`; `tally.kept` counts every accepted change."""
    tally = Tally(month=month)
    page: list[Change] = []
    for change in changes:
        kind = tally.add(change)
        if kind is None or (keep is not None and not keep(change, kind)):
            continue
        if offset <= tally.kept < offset + limit:
            page.append(change)
        tally.kept += 1
    return tally, page


def delta_bars(items: list[tuple[str, int]], *, width: int = 560, row: int = 26) -> dict:
    """Bars diverging from a centre line (negative left, positive right), one per label."""
    label_w, gap, pad = 200, 6, 60
    half = (width - label_w - 2 * pad) / 2
    centre = label_w + pad + half
    top = max((abs(v) for _, v in items), default=0) or 1
    out = []
    for i, (label, value) in enumerate(items):
        w = half * abs(value) / top
        w = max(w, 1) if value else 0
        x = centre if value >= 0 else centre - w
        out.append(
            {
                "label": label,
                "value": value,
                "x": x,
                "w": w,
                "y": i * row + gap,
                "h": row - 2 * gap,
                "text_y": i * row + row / 2 + 4,
                "value_x": centre + w + 6 if value >= 0 else centre - w - 6,
                "anchor": "start" if value >= 0 else "end",
                "colour": "#1d7a46" if value >= 0 else "#b03a2e",
            }
        )
    return {
        "bars": out,
        "width": width,
        "height": max(len(items) * row, row),
        "label_x": label_w - 8,
        "centre": centre,
    }
