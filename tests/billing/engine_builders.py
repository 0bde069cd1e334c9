"""Builders for the pure billing engine tests (SPEC 4): plain values, no database."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal

from billing.engine import (
    Assertion,
    MemberFacts,
    Outcome,
    Override,
    Rules,
    ServiceEvent,
    evaluate,
    params_hash,
    parse_params,
)
from billing.engine.evaluate import ASSERTION_COLUMNS, SERVICE_COLUMNS

# The SPEC 4 example params, verbatim.
SPEC_PARAMS: dict = {
    "requires_service_delivery": True,
    "qualifying_service_codes": ["99213", "99214"],
    "retro_window_months": 3,
    "proration": "DAILY",
    "min_billable_days": 1,
    "file_precedence": ["MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE"],
    "benefit_combinations": [{"primary": "MED", "suffix": "D", "combined": "MED_DENTAL"}],
    "pricing_tiers": [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"}],
}

RATE = Decimal("412.50")
# June 2026: F = 2026-06-01, L = 2026-06-30, N = 30.
MONTH = date(2026, 6, 1)
# A member born on 1980-03-15 is 46 on 2026-06-01: inside the MED 0-64 tier.
BIRTH = date(1980, 3, 15)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC timestamp."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


CUTOFF = at(2026, 7, 1, 6)


def month(year: int, number: int) -> date:
    """A billing month: the first day of the month."""
    return date(year, number, 1)


def params(**changes) -> dict:
    """The SPEC example params with some fields replaced (a fresh deep copy every time)."""
    raw = copy.deepcopy(SPEC_PARAMS)
    raw.update(changes)
    return raw


def rules(raw: dict | None = None, *, version_id: int = 1, version: str = "v1", **changes) -> Rules:
    """A validated rule version built from params (the SPEC example by default)."""
    raw = params(**changes) if raw is None else raw
    return Rules(version_id, version, parse_params(raw), params_hash(raw))


def assertion(
    id: int = 1,
    *,
    source_kind: str = "FULL_FILE",
    file_date: date = date(2026, 5, 1),
    received_at: datetime | None = None,
    status: str = "ACTIVE",
    effective_date: date = date(2025, 1, 1),
    termination_date: date | None = None,
    benefit_code: str = "MED",
    benefit_suffix: str = "",
) -> Assertion:
    """An eligibility assertion: ACTIVE MED since 2025 by default, received well before cutoff."""
    return Assertion(
        id=id,
        source_kind=source_kind,
        file_date=file_date,
        received_at=received_at or at(file_date.year, file_date.month, file_date.day, 8),
        status=status,
        effective_date=effective_date,
        termination_date=termination_date,
        benefit_code=benefit_code,
        benefit_suffix=benefit_suffix,
    )


def service(
    id: int = 100,
    *,
    service_date: date = date(2026, 6, 15),
    service_code: str = "99213",
    received_at: datetime | None = None,
) -> ServiceEvent:
    """A delivered service, by default qualifying and mid-June, received the next day."""
    return ServiceEvent(
        id=id,
        service_date=service_date,
        service_code=service_code,
        received_at=received_at or at(service_date.year, service_date.month, service_date.day, 20),
    )


def override(id: int = 500, *, outcome: str = "BILLABLE", rate: str | None = None) -> Override:
    """An approved member-month override."""
    return Override(id=id, outcome=outcome, rate=Decimal(rate) if rate is not None else None)


DEFAULT = object()


def facts(
    *assertions: Assertion,
    services=DEFAULT,
    override: Override | None = None,
    birth_date: date | None = BIRTH,
    member_id: int = 1,
) -> MemberFacts:
    """A member's facts; unless told otherwise, one qualifying service in mid-June."""
    return MemberFacts(
        member_id=member_id,
        birth_date=birth_date,
        assertions=tuple(assertions),
        services=(service(),) if services is DEFAULT else tuple(services),
        override=override,
    )


def decide(
    member: MemberFacts,
    rule_version: Rules | None = None,
    *,
    on: date = MONTH,
    cutoff: datetime = CUTOFF,
) -> Outcome:
    """evaluate() with the SPEC example rules, June 2026 and a cutoff on 1 July."""
    return evaluate(member, rule_version or rules(), on, cutoff)


def codes(outcome: Outcome) -> list[str]:
    """The exception codes of an outcome, in order."""
    return [f.code for f in outcome.exceptions]


def recorded_assertions(outcome: Outcome) -> list[dict]:
    """The assertions an outcome recorded, as dicts keyed by column name."""
    return [dict(zip(ASSERTION_COLUMNS, row, strict=True)) for row in outcome.inputs["assertions"]]


def recorded_services(outcome: Outcome) -> list[dict]:
    """The service events an outcome recorded, as dicts keyed by column name."""
    return [dict(zip(SERVICE_COLUMNS, row, strict=True)) for row in outcome.inputs["services"]]
