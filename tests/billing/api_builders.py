"""Builders for the billing API and command tests: payers with rules, members with facts, runs.

Everything goes through the services (rules, runs) with tenant A's system actor, the way an
operator's command would, so the API tests start from states the product itself produces.
"""

from __future__ import annotations

import copy
import itertools
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.models import (
    BillingRun,
    Decision,
    EligibilityAssertion,
    Member,
    Payer,
    RuleVersion,
    RunException,
    ServiceDeliveryEvent,
)
from billing.services import rules as rule_services
from billing.services import runs as run_services
from core.actors import Actor
from core.models import Tenant
from tests.billing.engine_builders import SPEC_PARAMS

# The SPEC 4 example params: MED 0-64 at 412.50, MED+D -> MED_DENTAL (which has no tier),
# DAILY proration, a qualifying service (99213 or 99214) required.
PARAMS: dict = SPEC_PARAMS
RATE = Decimal("412.50")
# October 2026 (31 days): a past month on 2026-11-22, so production runs are allowed.
MONTH = date(2026, 10, 1)
MONTH_TEXT = "2026-10"
# 46 on 2026-10-01: inside the MED 0-64 tier.
BIRTH = date(1980, 3, 15)
UNKNOWN_SUFFIX = "X"  # no benefit combination MED+X: UNKNOWN_BENEFIT_COMBINATION

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    """A code or id no other builder call returns in this process."""
    return f"{prefix}{next(_seq)}"


def params(**changes) -> dict:
    """The SPEC example params with some fields replaced (a deep copy every time)."""
    raw = copy.deepcopy(PARAMS)
    raw.update(changes)
    return raw


def system(tenant: Tenant) -> Actor:
    return Actor.system_for(tenant)


def payer(tenant: Tenant, code: str | None = None, *, active: bool = True) -> Payer:
    """A payer without rules."""
    code = code or unique("PAY")
    return Payer.objects.create(tenant=tenant, code=code, name=f"{code} Health", active=active)


def rule_version(
    tenant: Tenant,
    payer_obj: Payer,
    *,
    version: str = "v1",
    effective_from: date = date(2025, 1, 1),
    raw: dict | None = None,
    activate: bool = True,
) -> RuleVersion:
    """A rule version through the services: DRAFT, or ACTIVE when `activate`."""
    actor = system(tenant)
    rv = rule_services.rule_version_create(
        actor=actor,
        payer=payer_obj,
        version=version,
        effective_from=effective_from,
        params=params() if raw is None else raw,
    )
    if activate:
        rv = rule_services.rule_version_activate(actor=actor, rule_version_id=rv.pk)
    return rv


def payer_with_rules(tenant: Tenant, code: str | None = None, **rule_kwargs) -> Payer:
    """A payer with an ACTIVE rule version v1 (the SPEC example params) since 2025-01."""
    p = payer(tenant, code)
    rule_version(tenant, p, **rule_kwargs)
    return p


def member(
    tenant: Tenant,
    payer_obj: Payer,
    external_id: str | None = None,
    *,
    birth_date: date = BIRTH,
    status: str = "ACTIVE",
    effective_date: date = date(2025, 1, 1),
    termination_date: date | None = None,
    benefit_code: str = "MED",
    benefit_suffix: str = "",
    service_dates: tuple[date, ...] = (date(2026, 10, 10),),
    service_code: str = "99213",
) -> Member:
    """A member with one FULL_FILE assertion for the payer and service events, all received
    an hour ago (before any run the test triggers)."""
    received = timezone.now() - timedelta(hours=1)
    m = Member.objects.filter(tenant=tenant, external_id=external_id).first()
    if m is None:
        m = Member.objects.create(
            tenant=tenant,
            external_id=external_id or unique("MEM"),
            first_name="Ada",
            last_name="Lovelace",
            birth_date=birth_date,
        )
    EligibilityAssertion.objects.create(
        tenant=tenant,
        payer=payer_obj,
        member=m,
        source_kind="FULL_FILE",
        file_date=date(2025, 1, 1),
        received_at=received,
        status=status,
        effective_date=effective_date,
        termination_date=termination_date,
        benefit_code=benefit_code,
        benefit_suffix=benefit_suffix,
    )
    for day in service_dates:
        ServiceDeliveryEvent.objects.create(
            tenant=tenant,
            payer=payer_obj,
            member=m,
            service_date=day,
            service_code=service_code,
            received_at=received,
        )
    return m


def trigger(
    tenant: Tenant,
    payers: list[Payer] | str,
    *,
    month: date = MONTH,
    mode: str = BillingRun.Mode.PRODUCTION,
) -> BillingRun:
    """A QUEUED run (nothing enqueued)."""
    codes = payers if isinstance(payers, str) else [p.code for p in payers]
    return run_services.billing_run_trigger(
        actor=system(tenant), month=month, payers=codes, mode=mode, enqueue=False
    )


def completed_run(
    tenant: Tenant,
    payers: list[Payer] | str,
    *,
    month: date = MONTH,
    mode: str = BillingRun.Mode.PRODUCTION,
) -> BillingRun:
    """A run triggered and executed in this process (COMPLETED or COMPLETED_WITH_EXCEPTIONS)."""
    run = trigger(tenant, payers, month=month, mode=mode)
    run = run_services.billing_run_execute(run_id=run.pk)
    assert run.status in BillingRun.DONE, run.status
    return run


def billed_payer(tenant: Tenant, *, members: int = 1, code: str | None = None) -> Payer:
    """A payer with rules and `members` members billable for MONTH (412.50 each)."""
    p = payer_with_rules(tenant, code)
    for _ in range(members):
        member(tenant, p)
    return p


def run_with_exception(tenant: Tenant) -> tuple[BillingRun, RunException]:
    """A fresh payer's completed production run with one open UNKNOWN_BENEFIT_COMBINATION."""
    p = payer_with_rules(tenant)
    member(tenant, p)
    member(tenant, p, benefit_suffix=UNKNOWN_SUFFIX)
    run = completed_run(tenant, [p])
    exc = RunException.objects.get(run=run)
    assert exc.code == "UNKNOWN_BENEFIT_COMBINATION", exc.code
    return run, exc


def a_decision(run: BillingRun) -> Decision:
    """The run's first billable decision."""
    return Decision.objects.filter(run=run, billable=True).order_by("id").first()
