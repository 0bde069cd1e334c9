"""Scoring a remittance claim (one 835 CLP) against a payer's open claims (SPEC 6; issue 13).

Pure: plain dataclasses in, plain dataclasses out, no Django. Four signals, each with a weight;
the score is the sum of the weights of the signals that agree (0 to 1):

| signal | agrees when | weight |
| --- | --- | --- |
| patient control number | CLP01 equals the claim's (case and spaces aside) | 0.35 |
| member id | NM1*QC09 equals the claim member's id (case and spaces aside) | 0.35 |
| billed amount | CLP03 is within 1 % of the claim's billed amount | 0.20 |
| service date | the remittance's service date falls in the claim's service span | 0.10 |

A remittance claim matches automatically when the best candidate scores at or above the
threshold and no other candidate does: a patient control number shared by several claims
never decides alone (it is worth 0.35), and two candidates above the threshold wait for a
person. Candidates are ranked by score, then claim id, so the ranking is stable.

Candidates are found by blocking, not by comparing every line with every claim: the caller
gives only the payer's open claims that share the patient control number or the member
(`blocking_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

WEIGHTS = {
    "patient_control_number": Decimal("0.35"),
    "member_id": Decimal("0.35"),
    "billed_amount": Decimal("0.20"),
    "service_date": Decimal("0.10"),
}
AMOUNT_TOLERANCE = Decimal("0.01")  # 1 % of the claim's billed amount
DEFAULT_THRESHOLD = Decimal("0.90")


@dataclass(frozen=True)
class Remit:
    """What the payer said about one claim."""

    patient_control_number: str
    member_id: str
    charge_amount: Decimal
    service_date: date | None = None
    service_date_to: date | None = None


@dataclass(frozen=True)
class Candidate:
    """An open claim of the same payer."""

    claim_id: int
    patient_control_number: str
    member_id: str
    billed_amount: Decimal
    service_date: date
    service_date_to: date


@dataclass(frozen=True)
class Signal:
    """One compared value: whether it agreed, what was compared, what it is worth."""

    name: str
    agreed: bool
    remittance_value: str
    claim_value: str
    weight: Decimal

    def as_dict(self) -> dict:
        return {
            "signal": self.name,
            "agreed": self.agreed,
            "remittance": self.remittance_value,
            "claim": self.claim_value,
            "weight": str(self.weight),
        }


@dataclass(frozen=True)
class Scored:
    """A candidate with its score and the evidence behind it."""

    claim_id: int
    score: Decimal
    signals: tuple[Signal, ...]

    def evidence(self) -> dict:
        """JSON-ready evidence: the score, the signals that agreed and those that did not."""
        return {
            "claim": self.claim_id,
            "score": str(self.score),
            "agreed": [s.name for s in self.signals if s.agreed],
            "disagreed": [s.name for s in self.signals if not s.agreed],
            "signals": [s.as_dict() for s in self.signals],
        }


@dataclass(frozen=True)
class MatchResult:
    """The best candidate when it matches automatically, the ranking, and why."""

    auto: Scored | None
    ranked: tuple[Scored, ...]
    reason: str


def _norm(value: str) -> str:
    return "".join((value or "").split()).upper()


def _within(remit_amount: Decimal, billed: Decimal) -> bool:
    return abs(remit_amount - billed) <= abs(billed) * AMOUNT_TOLERANCE


def _in_span(remit: Remit, cand: Candidate) -> bool:
    if remit.service_date is None:
        return False
    end = remit.service_date_to or remit.service_date
    return cand.service_date <= remit.service_date and end <= cand.service_date_to


def score(remit: Remit, cand: Candidate) -> Scored:
    """Compare one remittance claim with one candidate claim."""
    pcn = _norm(remit.patient_control_number)
    member = _norm(remit.member_id)
    span = (
        cand.service_date.isoformat()
        if cand.service_date == cand.service_date_to
        else f"{cand.service_date.isoformat()}..{cand.service_date_to.isoformat()}"
    )
    remit_span = "" if remit.service_date is None else remit.service_date.isoformat()
    if remit.service_date_to and remit.service_date_to != remit.service_date:
        remit_span += f"..{remit.service_date_to.isoformat()}"
    signals = (
        Signal(
            "patient_control_number",
            bool(pcn) and pcn == _norm(cand.patient_control_number),
            remit.patient_control_number,
            cand.patient_control_number,
            WEIGHTS["patient_control_number"],
        ),
        Signal(
            "member_id",
            bool(member) and member == _norm(cand.member_id),
            remit.member_id,
            cand.member_id,
            WEIGHTS["member_id"],
        ),
        Signal(
            "billed_amount",
            _within(remit.charge_amount, cand.billed_amount),
            str(remit.charge_amount),
            str(cand.billed_amount),
            WEIGHTS["billed_amount"],
        ),
        Signal("service_date", _in_span(remit, cand), remit_span, span, WEIGHTS["service_date"]),
    )
    total = sum((s.weight for s in signals if s.agreed), Decimal("0"))
    return Scored(cand.claim_id, total, signals)


def rank(remit: Remit, candidates: list[Candidate]) -> tuple[Scored, ...]:
    """Every candidate scored, best first (ties by claim id)."""
    scored = [score(remit, c) for c in candidates]
    return tuple(sorted(scored, key=lambda s: (-s.score, s.claim_id)))


def match(
    remit: Remit, candidates: list[Candidate], threshold: Decimal = DEFAULT_THRESHOLD
) -> MatchResult:
    """Pick the one clear candidate at or above the threshold, or say why none was picked."""
    ranked = rank(remit, candidates)
    if not ranked:
        return MatchResult(None, ranked, "no open claim of this payer shares its number or member")
    best = ranked[0]
    if best.score < threshold:
        return MatchResult(
            None, ranked, f"best score {best.score} is below the threshold {threshold}"
        )
    if len(ranked) > 1 and ranked[1].score >= threshold:
        return MatchResult(
            None,
            ranked,
            f"{sum(1 for s in ranked if s.score >= threshold)} candidates score at or above "
            f"the threshold {threshold}: a person must choose",
        )
    return MatchResult(best, ranked, f"one candidate scores {best.score} (threshold {threshold})")


def blocking_keys(remit: Remit) -> tuple[str, str]:
    """The normalised patient control number and member id candidates are looked up by."""
    return _norm(remit.patient_control_number), _norm(remit.member_id)
