"""Builders for the billing screen tests and the screens' permission matrix (SPEC 4, 9).

Runs are triggered without the queue and executed in this process, step by step, so a test can
choose whether the audit package is built (a WeasyPrint render) or only requested (its on_commit
enqueue never fires inside a test transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from billing.models import (
    BillingRun,
    Decision,
    EligibilityAssertion,
    Member,
    Payer,
    RuleVersion,
    RunException,
)
from billing.services import chunks as chunk_services
from billing.services import finalize as finalize_services
from billing.services import runs as run_services
from tests.billing import api_builders as b

MONTH = b.MONTH  # 2026-10, a past month on 2026-11-22
MONTH_TEXT = b.MONTH_TEXT
PRODUCTION, SIMULATION = BillingRun.Mode.PRODUCTION, BillingRun.Mode.SIMULATION


def finish(run: BillingRun, *, package: bool = True) -> BillingRun:
    """Execute a QUEUED run here; `package` builds its audit package inline (else only queued)."""
    for chunk_id in run_services.billing_run_start(run_id=run.pk):
        chunk_services.billing_run_process_chunk(chunk_id=chunk_id)
    finalize_services.billing_run_finalize(run_id=run.pk, inline=package)
    return BillingRun.objects.get(pk=run.pk)


def done_run(
    tenant, payers: list[Payer], *, mode: str = PRODUCTION, package: bool = True
) -> BillingRun:
    """A run of MONTH triggered and executed in this process."""
    return finish(b.trigger(tenant, payers, mode=mode), package=package)


def amended(payer: Payer, member: Member, **changes) -> EligibilityAssertion:
    """An AMENDED_FILE assertion (it beats the FULL_FILE one by precedence), received earlier."""
    fields = {
        "status": "ACTIVE",
        "effective_date": date(2025, 1, 1),
        "termination_date": None,
        "benefit_code": "MED",
        "benefit_suffix": "",
    }
    fields.update(changes)
    return EligibilityAssertion.objects.create(
        tenant=payer.tenant,
        payer=payer,
        member=member,
        source_kind="AMENDED_FILE",
        file_date=date(2025, 2, 1),
        received_at=timezone.now() - timedelta(hours=2),
        **fields,
    )


@dataclass
class Scenario:
    """Two payers, one production run of MONTH covering both, with one open exception."""

    run: BillingRun
    payer: Payer  # five members: two active (one amended), a termination, no service, exception
    other: Payer  # one active member
    active: Member  # its winning assertion is the AMENDED_FILE one
    active_too: Member
    terminated: Member
    no_service: Member
    broken: Member  # benefit MED+X: UNKNOWN_BENEFIT_COMBINATION
    other_member: Member
    winner: EligibilityAssertion
    exception: RunException
    draft: RuleVersion  # payer's v2, a DRAFT with MED at 500.00

    def decision(self, member: Member) -> Decision:
        return Decision.objects.get(run=self.run, member=member, month=MONTH)


def scenario(tenant, *, package: bool = True) -> Scenario:
    """The run every screen test looks at (see Scenario)."""
    p = b.payer_with_rules(tenant)
    other = b.payer_with_rules(tenant)
    active = b.member(tenant, p, b.unique("SCA"))
    winner = amended(p, active)
    active_too = b.member(tenant, p, b.unique("SCB"))
    terminated = b.member(tenant, p, b.unique("SCT"), termination_date=date(2026, 10, 15))
    no_service = b.member(tenant, p, b.unique("SCN"), service_dates=())
    broken = b.member(tenant, p, b.unique("SCX"), benefit_suffix=b.UNKNOWN_SUFFIX)
    other_member = b.member(tenant, other, b.unique("SCO"))
    draft = b.rule_version(
        tenant,
        p,
        version="v2",
        activate=False,
        raw=b.params(
            pricing_tiers=[{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "500.00"}]
        ),
    )
    run = done_run(tenant, [p, other], package=package)
    return Scenario(
        run=run,
        payer=p,
        other=other,
        active=active,
        active_too=active_too,
        terminated=terminated,
        no_service=no_service,
        broken=broken,
        other_member=other_member,
        winner=winner,
        exception=RunException.objects.get(run=run),
        draft=draft,
    )
