"""Builders for the run-exception tests: a completed run with several exceptions of two codes
over two payers, a regeneration that supersedes it, and a member narrowed to one payer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing.models import BillingRun, RunException
from billing.services import runs as run_services
from core import scopes as S
from core.models import TenantMembership
from core.services import object_access_grant
from tests.billing import api_builders as b

UNKNOWN = "UNKNOWN_BENEFIT_COMBINATION"  # benefit MED+X: no combination in the rules
NO_TIER = "NO_PRICING_TIER"  # 76 years old: outside the only tier (MED 0-64)
OLD = date(1950, 5, 1)


@dataclass
class ExceptionRun:
    """A completed production run of payers `payer` and `other`."""

    run: BillingRun
    payer: object
    other: object
    unknown: list[RunException]  # payer's UNKNOWN_BENEFIT_COMBINATION
    other_unknown: list[RunException]  # other's UNKNOWN_BENEFIT_COMBINATION
    no_tier: list[RunException]  # payer's NO_PRICING_TIER

    def refresh(self) -> BillingRun:
        self.run.refresh_from_db()
        return self.run


def _of(run: BillingRun, payer, code: str) -> list[RunException]:
    return list(RunException.objects.filter(run=run, payer=payer, code=code).order_by("id"))


def run_with_exceptions(
    tenant, *, unknown: int = 3, other_unknown: int = 1, no_tier: int = 1
) -> ExceptionRun:
    """A billable member per payer, then members raising the exceptions asked for."""
    p, q = b.payer_with_rules(tenant), b.payer_with_rules(tenant)
    b.member(tenant, p)
    b.member(tenant, q)
    for _ in range(unknown):
        b.member(tenant, p, benefit_suffix=b.UNKNOWN_SUFFIX)
    for _ in range(other_unknown):
        b.member(tenant, q, benefit_suffix=b.UNKNOWN_SUFFIX)
    for _ in range(no_tier):
        b.member(tenant, p, birth_date=OLD)
    run = b.completed_run(tenant, [p, q])
    found = ExceptionRun(
        run=run,
        payer=p,
        other=q,
        unknown=_of(run, p, UNKNOWN),
        other_unknown=_of(run, q, UNKNOWN),
        no_tier=_of(run, p, NO_TIER),
    )
    assert (len(found.unknown), len(found.other_unknown), len(found.no_tier)) == (
        unknown,
        other_unknown,
        no_tier,
    )
    assert run.open_exceptions == unknown + other_unknown + no_tier
    return found


def regenerate(tenant, run: BillingRun) -> BillingRun:
    """A regeneration of `run`, executed here: `run` becomes SUPERSEDED."""
    newer = run_services.billing_run_regenerate(
        actor=b.system(tenant), run_id=run.pk, reason="corrected eligibility", enqueue=False
    )
    newer = run_services.billing_run_execute(run_id=newer.pk)
    run.refresh_from_db()
    assert run.status == BillingRun.Status.SUPERSEDED, run.status
    return newer


def narrow(world, role: str, payer) -> None:
    """Limit a role's member of tenant A to one payer (an object grant)."""
    membership = TenantMembership.objects.get(tenant=world.tenant, user=world.users[role])
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=payer)
