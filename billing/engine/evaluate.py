"""The nine steps of SPEC 4 for one payer x member x month, and the retroactive delta."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter

from billing.engine.money import ZERO, cents
from billing.engine.months import age_on, month_bounds
from billing.engine.types import (
    BILLABLE_CLASSES,
    Assertion,
    BenefitCombination,
    Code,
    DecisionClass,
    Finding,
    MemberFacts,
    Outcome,
    Override,
    PricingTier,
    Rules,
    ServiceEvent,
)

C = DecisionClass


@lru_cache(maxsize=1024)
def _iso_cached(value: date | datetime, offset, kind: type) -> str:
    return value.isoformat()


def _iso_once(value: date | datetime) -> str:
    """`value.isoformat()`, remembered: a run evaluates every member against the same cutoff
    and a handful of months. Keyed with the offset too (equal instants print differently)."""
    return _iso_cached(value, getattr(value, "tzinfo", None) and value.utcoffset(), type(value))


_by_id = attrgetter("id")


# Recorded inputs keep assertions and services as compact rows in these column orders (a
# run of 100,000 members records several hundred thousand of them).
ASSERTION_COLUMNS = (
    "id",
    "source_kind",
    "file_date",
    "received_at",
    "status",
    "effective_date",
    "termination_date",
    "benefit_code",
    "benefit_suffix",
)
SERVICE_COLUMNS = ("id", "date", "code", "received_at")


def assertion_row(a: Assertion) -> list:
    term = a.termination_date
    return [
        a.id,
        a.source_kind,
        a.file_date.isoformat(),
        a.received_at.isoformat(),
        a.status,
        a.effective_date.isoformat(),
        term.isoformat() if term is not None else None,
        a.benefit_code,
        a.benefit_suffix,
    ]


def service_row(s: ServiceEvent) -> list:
    return [s.id, s.service_date.isoformat(), s.service_code, s.received_at.isoformat()]


def _content(a: Assertion) -> tuple:
    return (a.status, a.effective_date, a.termination_date, a.benefit_code, a.benefit_suffix)


@lru_cache(maxsize=64)
def _rank_of(precedence: tuple[str, ...]) -> tuple[dict[str, int], int]:
    return {kind: -i for i, kind in enumerate(precedence)}, -len(precedence)


def _winner(assertions: list[Assertion], precedence: tuple[str, ...]):
    """The winning assertion, and the ids of assertions that tie with it yet disagree."""
    if not assertions:
        return None, []
    if len(assertions) == 1:
        return assertions[0], []
    order, missing = _rank_of(precedence)
    ranked = [
        ((order.get(a.source_kind, missing), a.file_date, a.received_at), a) for a in assertions
    ]
    best = max(r for r, _ in ranked)
    top = [a for r, a in ranked if r == best]  # `assertions` come sorted by id
    if len(top) > 1:
        top.sort(key=_by_id)
        if len({_content(a) for a in top}) > 1:
            return None, [a.id for a in top]
    return top[0], []


def _tier(tiers: tuple[PricingTier, ...], benefit: str, age: int | None) -> PricingTier | None:
    if age is None:
        return None
    return next((t for t in tiers if t.benefit == benefit and t.min_age <= age <= t.max_age), None)


def _tier_json(t: PricingTier) -> dict:
    return {"benefit": t.benefit, "min_age": t.min_age, "max_age": t.max_age, "rate": str(t.rate)}


def _tier_label(t: PricingTier) -> str:
    return f"{t.benefit} {t.min_age}-{t.max_age}"


def _benefit(a: Assertion, combos: tuple[BenefitCombination, ...]) -> str | None:
    """Step 6: the code itself without a suffix, else the matching combination, else None."""
    if not a.benefit_suffix:
        return a.benefit_code
    matches = (c for c in combos if c.primary == a.benefit_code and c.suffix == a.benefit_suffix)
    return next((c.combined for c in matches), None)


def evaluate(
    facts: MemberFacts, rules: Rules, month: date, cutoff: datetime, *, lean: bool = False
) -> Outcome:
    """Decide one member-month from the facts received by `cutoff`, under `rules`.

    `lean` records the assertions and services used as their ids only (in the order used): the
    fact rows are immutable once decided, so the stored decision references them and a reader
    expands them (`billing.inputs.inputs_expand`) into the full rows recorded otherwise."""
    first, last, n_days = month_bounds(month)
    p = rules.params
    assertions = sorted((a for a in facts.assertions if a.received_at <= cutoff), key=_by_id)
    services = sorted(
        (s for s in facts.services if s.received_at <= cutoff and first <= s.service_date <= last),
        key=_by_id,
    )
    age = (
        facts.age
        if facts.age is not None
        else (age_on(facts.birth_date, first) if facts.birth_date else None)
    )
    ov = facts.override
    inputs: dict = {
        "month": _iso_once(first),
        "cutoff": _iso_once(cutoff),
        "rule_version": {
            "id": rules.version_id,
            "version": rules.version,
            "params_hash": rules.params_hash,
        },
        "assertions": [a.id for a in assertions]
        if lean
        else [assertion_row(a) for a in assertions],
        "services": [s.id for s in services] if lean else [service_row(s) for s in services],
        "age": age,
        "days_in_month": n_days,
        "override": {
            "id": ov.id,
            "outcome": ov.outcome,
            "rate": str(ov.rate) if ov.rate is not None else None,
        }
        if ov
        else None,
        "winner": None,
    }

    def decide(cls: C, step: str, days: int = 0, amount: Decimal = ZERO, tier=None, findings=()):
        # `days` are the days covered in the month; only a billed class bills them
        billable = cls in BILLABLE_CLASSES
        inputs["step"] = step
        inputs["covered_days"] = days
        inputs["days"] = days if billable else 0
        if tier is None and ov is not None and ov.outcome == "BILLABLE" and ov.rate is None:
            # step 9 prices a month that steps 1-8 left unbilled at the member's own tier
            benefit = _benefit(winner, p.benefit_combinations) if winner else None
            tier = _tier(p.pricing_tiers, benefit, age) if benefit else None
        label = _tier_label(tier) if tier else ""
        if tier:
            inputs["tier"] = _tier_json(tier)
        outcome = Outcome(cls, billable, inputs["days"], amount, label, tuple(findings), inputs)
        return _apply_override(outcome, ov, tier, n_days)

    # 1. the winning assertion
    winner, contradicting = _winner(assertions, p.file_precedence)
    if contradicting:
        inputs["contradicting"] = contradicting
        finding = Finding(
            Code.CONTRADICTORY_ASSERTIONS,
            f"assertions {', '.join(map(str, contradicting))} tie on source, file date and "
            "arrival yet disagree",
        )
        return decide(C.NOT_BILLED_PENDING, "contradictory_assertions", findings=[finding])
    # 2. nothing billable yet
    if winner is None:
        return decide(C.NOT_BILLED_PENDING, "no_assertion")
    inputs["winner"] = winner.id
    if winner.status == "PENDING":
        return decide(C.NOT_BILLED_PENDING, "status_pending")
    if winner.effective_date > last:
        return decide(C.NOT_BILLED_PENDING, "starts_after_month")
    # 3. terminated before the month (or cancelled)
    term = winner.termination_date
    if winner.status == "CANCELLED":
        return decide(C.NOT_BILLED_TERMINATED, "cancelled")
    if term is not None and term < first:
        return decide(C.NOT_BILLED_TERMINATED, "terminated_before_month")
    if winner.status == "TERMINATED" and term is None:
        return decide(C.NOT_BILLED_TERMINATED, "terminated_without_date")
    # 4. billable days
    start = max(winner.effective_date, first)
    end = min(term or last, last)
    days = max((end - start).days + 1, 0)
    term_inside = term is not None and first <= term < last
    inputs["period"] = [start.isoformat(), end.isoformat()]
    inputs["termination_inside_month"] = term_inside
    if days < max(p.min_billable_days, 1):  # zero covered days never bill
        cls = C.NOT_BILLED_TERMINATED if term_inside else C.NOT_BILLED_PENDING
        return decide(cls, "below_min_billable_days", days=days)
    # 5. service delivery
    if p.requires_service_delivery:
        qualifying = [
            s.id
            for s in services
            if start <= s.service_date <= end
            and (not p.qualifying_service_codes or s.service_code in p.qualifying_service_codes)
        ]
        inputs["qualifying_services"] = qualifying
        if not qualifying:
            return decide(C.NOT_BILLED_NO_SERVICE, "no_qualifying_service", days=days)
    # 6. benefit
    benefit = _benefit(winner, p.benefit_combinations)
    if benefit is None:
        finding = Finding(
            Code.UNKNOWN_BENEFIT_COMBINATION,
            f"no benefit combination for {winner.benefit_code} + {winner.benefit_suffix}",
        )
        return decide(C.NOT_BILLED_PENDING, "unknown_benefit_combination", days, findings=[finding])
    inputs["benefit"] = benefit
    # 7. pricing tier
    tier = _tier(p.pricing_tiers, benefit, age)
    if tier is None:
        finding = Finding(Code.NO_PRICING_TIER, f"no pricing tier for {benefit} at age {age}")
        return decide(C.NOT_BILLED_PENDING, "no_pricing_tier", days, findings=[finding])
    # 8. amount and class
    amount = cents(tier.rate) if p.proration == "FULL_MONTH" else cents(tier.rate * days / n_days)
    cls = C.BILLED_PARTIAL_TERM if term_inside else C.BILLED_ACTIVE
    return decide(cls, "billed", days=days, amount=amount, tier=tier)


def _apply_override(
    outcome: Outcome, ov: Override | None, tier: PricingTier | None, n_days: int
) -> Outcome:
    """Step 9: an approved override whose outcome differs from steps 1-8 wins."""
    if ov is None:
        return outcome
    wants_billable = ov.outcome == "BILLABLE"
    inputs = outcome.inputs
    inputs["override"]["applied"] = False
    if wants_billable == outcome.billable:
        return outcome
    if not wants_billable:
        inputs["override"]["applied"] = True
        inputs["days"] = 0
        return Outcome(C.OVERRIDE_APPLIED, False, 0, ZERO, outcome.tier, outcome.exceptions, inputs)
    rate = ov.rate if ov.rate is not None else (tier.rate if tier else None)
    if rate is None:
        finding = Finding(
            Code.NO_PRICING_TIER,
            "the override makes the month billable but neither it nor a pricing tier gives a rate",
        )
        return Outcome(
            outcome.decision_class,
            outcome.billable,
            outcome.billable_days,
            outcome.amount,
            outcome.tier,
            (*outcome.exceptions, finding),
            inputs,
        )
    inputs["override"]["applied"] = True
    inputs["days"] = n_days
    return Outcome(
        C.OVERRIDE_APPLIED, True, n_days, cents(rate), outcome.tier, outcome.exceptions, inputs
    )


def retro_delta(now: Outcome, billed: Decimal) -> Outcome | None:
    """A past month re-evaluated now: the retroactive decision for the difference, if any."""
    new_amount = now.amount if now.billable else ZERO
    delta = new_amount - billed
    if delta == 0:
        return None
    inputs = {
        **now.inputs,
        "retro": {
            "evaluated_class": str(now.decision_class),
            "new_amount": str(new_amount),
            "billed_before": str(billed),
            "delta": str(delta),
        },
    }
    cls = C.BILLED_RETROACTIVE if now.billable else C.NOT_BILLED_RETROACTIVE
    return Outcome(cls, now.billable, now.billable_days, delta, now.tier, now.exceptions, inputs)


def facts_from_inputs(inputs: dict, member_id: int = 0) -> MemberFacts:
    """The facts a decision recorded, ready to be evaluated again (replay); lean inputs (ids
    only) must be expanded first (`billing.inputs.inputs_expand`)."""

    def d(value):
        return date.fromisoformat(value) if value else None

    def dt(value):
        return datetime.fromisoformat(value)

    if any(
        isinstance(row, int) for row in (*inputs.get("assertions", ()), *inputs.get("services", ()))
    ):
        raise ValueError("recorded inputs reference fact rows by id: expand them before replay")
    ov = inputs.get("override")
    return MemberFacts(
        member_id=member_id,
        birth_date=None,
        age=inputs.get("age"),
        assertions=tuple(
            Assertion(
                id=a_id,
                source_kind=kind,
                file_date=d(file_date),
                received_at=dt(received),
                status=status,
                effective_date=d(effective),
                termination_date=d(termination),
                benefit_code=code,
                benefit_suffix=suffix,
            )
            for a_id, kind, file_date, received, status, effective, termination, code, suffix in (
                inputs.get("assertions", [])
            )
        ),
        services=tuple(
            ServiceEvent(s_id, d(day), code, dt(received))
            for s_id, day, code, received in inputs.get("services", [])
        ),
        override=Override(ov["id"], ov["outcome"], Decimal(ov["rate"]) if ov["rate"] else None)
        if ov
        else None,
    )
