"""Builders for billing run tests (SPEC 4): payers with active rules, members, facts, runs.

Facts are created directly with an explicit `received_at`. Runs take their evidence cutoff from
`timezone.now()` when triggered, so facts received at `EARLY` are known to every run, and facts
created with `received_at=timezone.now()` after a run executed are late for that run.
"""

from __future__ import annotations

import copy
import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from django.utils import timezone

from billing.models import (
    BillingRun,
    Decision,
    EligibilityAssertion,
    Member,
    Payer,
    RuleVersion,
    ServiceDeliveryEvent,
)
from billing.services.rules import rule_version_activate, rule_version_create
from billing.services.runs import billing_run_execute, billing_run_trigger
from core.actors import Actor

# When the early facts arrived: long before any run of these tests is triggered.
EARLY = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
# 46 years old in every month of 2026: inside the 0-64 tiers.
BIRTH = date(1980, 3, 15)

BASE_PARAMS: dict = {
    "requires_service_delivery": False,
    "qualifying_service_codes": [],
    "retro_window_months": 3,
    "proration": "DAILY",
    "min_billable_days": 1,
    "file_precedence": ["MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE"],
    "benefit_combinations": [{"primary": "MED", "suffix": "D", "combined": "MED_DENTAL"}],
    "pricing_tiers": [
        {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "310.00"},
        {"benefit": "MED", "min_age": 65, "max_age": 150, "rate": "300.00"},
        {"benefit": "MED_DENTAL", "min_age": 0, "max_age": 150, "rate": "450.00"},
    ],
}


def month(year: int, number: int) -> date:
    """A billing month: its first day."""
    return date(year, number, 1)


def params(**changes) -> dict:
    """The base params with some fields replaced (a fresh deep copy every time)."""
    raw = copy.deepcopy(BASE_PARAMS)
    raw.update(changes)
    return raw


def rule_version(
    actor: Actor,
    payer: Payer,
    *,
    version: str = "1",
    effective_from: date = date(2026, 1, 1),
    activate: bool = True,
    **changes,
) -> RuleVersion:
    """A rule version created (and by default activated) through the services."""
    rv = rule_version_create(
        actor=actor,
        payer=payer,
        version=version,
        effective_from=effective_from,
        params=params(**changes),
    )
    if activate:
        rv = rule_version_activate(actor=actor, rule_version_id=rv.pk)
    return rv


def payer(actor: Actor, code: str = "ACME", *, rules: bool = True, **changes) -> Payer:
    """A payer of the actor's tenant, with an ACTIVE rule version "1" from 2026-01 by default."""
    p = Payer.objects.create(tenant=actor.tenant, code=code, name=f"{code.title()} Insurance")
    if rules:
        rule_version(actor, p, **changes)
    return p


def member(
    tenant, external_id: str, *, birth_date: date = BIRTH, first_name: str = "Ada"
) -> Member:
    """A covered person."""
    return Member.objects.create(
        tenant=tenant,
        external_id=external_id,
        first_name=first_name,
        last_name="Lovelace",
        birth_date=birth_date,
    )


def assertion(
    p: Payer,
    m: Member,
    *,
    status: str = "ACTIVE",
    effective: date = date(2026, 1, 1),
    termination: date | None = None,
    benefit: str = "MED",
    suffix: str = "",
    source_kind: str = "FULL_FILE",
    received_at: datetime = EARLY,
    file_date: date | None = None,
) -> EligibilityAssertion:
    """One eligibility line; its file date is the day it was received unless given."""
    return EligibilityAssertion.objects.create(
        tenant=p.tenant,
        payer=p,
        member=m,
        source_kind=source_kind,
        file_date=file_date or received_at.date(),
        received_at=received_at,
        status=status,
        effective_date=effective,
        termination_date=termination,
        benefit_code=benefit,
        benefit_suffix=suffix,
    )


def late_assertion(p: Payer, m: Member, **kwargs) -> EligibilityAssertion:
    """An eligibility line arriving now: after the cutoff of every run executed so far."""
    return assertion(p, m, received_at=timezone.now(), **kwargs)


def service(
    p: Payer, m: Member, day: date, *, code: str = "99213", received_at: datetime = EARLY
) -> ServiceDeliveryEvent:
    """A delivered service."""
    return ServiceDeliveryEvent.objects.create(
        tenant=p.tenant,
        payer=p,
        member=m,
        service_date=day,
        service_code=code,
        received_at=received_at,
    )


def run_month(
    actor: Actor, billing_month: date, payers, mode: str = BillingRun.Mode.PRODUCTION
) -> BillingRun:
    """Trigger a run without the queue and execute it in this process; the run, re-read."""
    run = billing_run_trigger(
        actor=actor, month=billing_month, payers=payers, mode=mode, enqueue=False
    )
    billing_run_execute(run_id=run.pk)
    return BillingRun.objects.get(pk=run.pk)


def execute(run: BillingRun) -> BillingRun:
    """Execute an already triggered run in this process; the run, re-read."""
    billing_run_execute(run_id=run.pk)
    return BillingRun.objects.get(pk=run.pk)


def decision(run: BillingRun, m: Member, billing_month: date | None = None) -> Decision:
    """The run's decision for a member and month (the run's month by default)."""
    return Decision.objects.get(run=run, member=m, month=billing_month or run.month)


def outcome(run: BillingRun, m: Member, billing_month: date | None = None) -> tuple:
    """(class, billable days, amount) of the run's decision for a member and month."""
    d = decision(run, m, billing_month)
    return d.decision_class, d.billable_days, d.amount


def months_decided(run: BillingRun, m: Member) -> dict[date, tuple[str, Decimal]]:
    """Every month the run decided for a member: class and amount."""
    return {
        d.month: (d.decision_class, d.amount)
        for d in Decision.objects.filter(run=run, member=m).order_by("month")
    }


def roster_rows(run: BillingRun) -> list[list[str]]:
    """The run's roster file, parsed."""
    with run.roster.open("rb") as fh:
        text = fh.read().decode()
    return list(csv.reader(io.StringIO(text)))
