"""Plain values going into and out of the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple


class DecisionClass(StrEnum):
    """Every decision belongs to one class (seed 000, section 4)."""

    BILLED_ACTIVE = "BILLED_ACTIVE"
    BILLED_PARTIAL_TERM = "BILLED_PARTIAL_TERM"
    BILLED_RETROACTIVE = "BILLED_RETROACTIVE"
    NOT_BILLED_RETROACTIVE = "NOT_BILLED_RETROACTIVE"
    NOT_BILLED_NO_SERVICE = "NOT_BILLED_NO_SERVICE"
    NOT_BILLED_TERMINATED = "NOT_BILLED_TERMINATED"
    NOT_BILLED_PENDING = "NOT_BILLED_PENDING"
    OVERRIDE_APPLIED = "OVERRIDE_APPLIED"


BILLABLE_CLASSES = frozenset(
    {
        DecisionClass.BILLED_ACTIVE,
        DecisionClass.BILLED_PARTIAL_TERM,
        DecisionClass.BILLED_RETROACTIVE,
    }
)


class Code:
    """Exception codes the engine raises."""

    CONTRADICTORY_ASSERTIONS = "CONTRADICTORY_ASSERTIONS"
    UNKNOWN_BENEFIT_COMBINATION = "UNKNOWN_BENEFIT_COMBINATION"
    NO_PRICING_TIER = "NO_PRICING_TIER"
    RETRO_OUTSIDE_WINDOW = "RETRO_OUTSIDE_WINDOW"
    NO_RULE_VERSION = "NO_RULE_VERSION"


class Assertion(NamedTuple):
    """One eligibility assertion (a line of a file).

    A named tuple rather than a frozen dataclass: a run builds several per member, and a
    tuple is built in a quarter of the time (immutable and compared by value all the same).
    """

    id: int
    source_kind: str
    file_date: date
    received_at: datetime
    status: str
    effective_date: date
    termination_date: date | None
    benefit_code: str
    benefit_suffix: str = ""


class ServiceEvent(NamedTuple):
    """A delivered service (a named tuple, as Assertion)."""

    id: int
    service_date: date
    service_code: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Override:
    """An approved member-month override."""

    id: int
    outcome: str  # BILLABLE or NOT_BILLABLE
    rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BenefitCombination:
    primary: str
    suffix: str
    combined: str


@dataclass(frozen=True, slots=True)
class PricingTier:
    benefit: str
    min_age: int
    max_age: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class RuleParams:
    """A rule version's validated params."""

    requires_service_delivery: bool
    qualifying_service_codes: tuple[str, ...]
    retro_window_months: int
    proration: str  # DAILY or FULL_MONTH
    min_billable_days: int
    file_precedence: tuple[str, ...]
    benefit_combinations: tuple[BenefitCombination, ...]
    pricing_tiers: tuple[PricingTier, ...]


@dataclass(frozen=True, slots=True)
class Rules:
    """The rule version a decision is made under."""

    version_id: int
    version: str
    params: RuleParams
    params_hash: str


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """Everything known about one member for one payer. PHI stays out of outcomes."""

    member_id: int
    birth_date: date | None
    assertions: tuple[Assertion, ...]
    services: tuple[ServiceEvent, ...] = ()
    override: Override | None = None
    age: int | None = None  # given instead of birth_date when replaying recorded inputs


@dataclass(frozen=True, slots=True)
class Finding:
    """An exception the engine raises for a member (it blocks nothing)."""

    code: str
    message: str


@dataclass(frozen=True)
class Outcome:
    """A decision: class, days, amount, tier, exceptions and every input it used."""

    decision_class: DecisionClass
    billable: bool
    billable_days: int
    amount: Decimal
    tier: str
    exceptions: tuple[Finding, ...] = ()
    inputs: dict = field(default_factory=dict)
