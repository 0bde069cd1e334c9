"""Coordination of benefits (SPEC 6): which of a member's payers pays first. Pure: no Django.

The ladder, on one day: only coverages active that day count (effective to termination, both
inclusive; no termination = open). Medicaid is always last (payer of last resort). Medicare pays
second to employer coverage (commercial, 20 or more employees, member actively employed: the
Medicare Secondary Payer rule), else Medicare pays first. Everything else goes by effective date,
earlier first; ties by payer code so the same facts always give the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

COMMERCIAL, MEDICARE, MEDICAID, OTHER = "COMMERCIAL", "MEDICARE", "MEDICAID", "OTHER"
KINDS = (COMMERCIAL, MEDICARE, MEDICAID, OTHER)
MSP_EMPLOYER_SIZE = 20


@dataclass(frozen=True)
class CoverageFact:
    """What the ladder reads of one coverage."""

    payer_code: str
    kind: str
    employer_size: int | None
    active_employment: bool
    effective: date
    termination: date | None = None

    def active_on(self, day: date) -> bool:
        """Covered on that day (termination is the last covered day)."""
        return self.effective <= day and (self.termination is None or day <= self.termination)

    @property
    def employer_group(self) -> bool:
        """Employer coverage Medicare pays second to (MSP: 20+ employees, active employment)."""
        return (
            self.kind == COMMERCIAL
            and self.active_employment
            and (self.employer_size or 0) >= MSP_EMPLOYER_SIZE
        )


@dataclass(frozen=True)
class Ladder:
    """The payers in paying order (primary first) and why, in sentences."""

    order: list[str]
    reasons: list[str] = field(default_factory=list)


def _by_date(facts: Iterable[CoverageFact]) -> list[CoverageFact]:
    # kind and the rest break the remaining ties: the same facts in any order, the same ladder
    return sorted(
        facts, key=lambda f: (f.effective, f.payer_code, f.kind, f.termination or f.effective)
    )


def _unique(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))


def cob_order(coverages: Sequence[CoverageFact], as_of: date) -> Ladder:
    """The paying order of the coverages active on `as_of`, with the reasons."""
    active = [c for c in coverages if c.active_on(as_of)]
    reasons: list[str] = []
    ignored = sorted({c.payer_code for c in coverages} - {c.payer_code for c in active})
    if ignored:
        reasons.append(f"Not active on {as_of.isoformat()} and left out: {', '.join(ignored)}.")
    if not active:
        reasons.append(f"No coverage is active on {as_of.isoformat()}.")
        return Ladder([], reasons)
    medicaid = _by_date(c for c in active if c.kind == MEDICAID)
    others = [c for c in active if c.kind != MEDICAID]
    medicare = _by_date(c for c in others if c.kind == MEDICARE)
    head: list[CoverageFact]
    if medicare:
        employer = _by_date(c for c in others if c.employer_group)
        rest = _by_date(c for c in others if c.kind != MEDICARE and not c.employer_group)
        if employer:
            head = [*employer, *medicare, *rest]
            reasons.append(
                "Medicare pays second: employer coverage with 20 or more employees and active "
                f"employment ({', '.join(_unique(c.payer_code for c in employer))}) pays "
                "first (Medicare Secondary Payer)."
            )
        else:
            head = [*medicare, *rest]
            reasons.append(
                "Medicare pays first: no employer coverage with 20 or more employees and "
                "active employment."
            )
        if rest:
            reasons.append(
                "Other coverage after Medicare goes by effective date, earlier first: "
                f"{', '.join(_unique(c.payer_code for c in rest))}."
            )
    else:
        head = _by_date(others)
        if len(_unique(c.payer_code for c in head)) > 1:
            reasons.append(
                "Coverages go by effective date, the earlier one first: "
                + ", ".join(f"{c.payer_code} from {c.effective.isoformat()}" for c in head)
                + "."
            )
    if medicaid:
        reasons.append(
            "Medicaid is the payer of last resort: "
            f"{', '.join(_unique(c.payer_code for c in medicaid))} pays last."
        )
    order = _unique(c.payer_code for c in [*head, *medicaid])
    if len(order) == 1:
        reasons.append(f"{order[0]} is the only active coverage.")
    return Ladder(order, reasons)


@dataclass(frozen=True)
class Overridden:
    """The order once a person's override is applied, and the payers it named in vain."""

    order: list[str]
    not_active: list[str]


def apply_override(order: Sequence[str], override_ordering: Sequence[str]) -> Overridden:
    """The override wins: its active payers first in its order, then the others in ladder order.

    A payer the override names without an active coverage is left out and reported.
    """
    active = list(order)
    named = _unique(override_ordering)
    first = [code for code in named if code in active]
    rest = [code for code in active if code not in first]
    return Overridden([*first, *rest], [code for code in named if code not in active])
