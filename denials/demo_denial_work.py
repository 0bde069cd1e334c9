"""Auto-correction and COB in the demo (issue 14, item 10), after the denials are worked.

Corrections: each workable demo denial a handler knows is run once, which gives every outcome
(the old NYSDOH claim's timely filing FAILED, the missing authorization SKIPPED, the reopened
timely-filing denial a SUCCESS with its replacement claim), then a force-retry of the skip.
COB: a member of a denied NORTHWIND claim also has Medicare; the employer coverage (250
employees, actively employed) pays first, and the secondary claim to Medicare follows the
NORTHWIND 835. A second member has Medicare and a small employer's coverage (Medicare first by
the ladder) and a COB override putting the employer first, with its reason.
Idempotent: nothing happens when the tenant already has correction attempts or coverages.
"""

from __future__ import annotations

from datetime import date

from core.actors import Actor
from core.demo import register_demo_loader
from core.models import Tenant

ORDER = 48
MEDICARE = ("MEDICARE-B", "Medicare Part B")


def _actor(tenant: Tenant, username: str) -> Actor:
    from django.contrib.auth import get_user_model

    return Actor(tenant=tenant, user=get_user_model().objects.get(username=username))


def _corrections(tenant: Tenant) -> str:
    from core.exceptions import DomainError
    from denials.corrections import handlers_for
    from denials.models import CorrectionAttempt, Denial
    from denials.services.corrections import correction_force_retry, correction_run

    if CorrectionAttempt.objects.filter(tenant=tenant).exists():
        return "corrections already run"
    manager = _actor(tenant, "demo-manager")
    outcomes: list[str] = []
    skipped = None
    workable = Denial.objects.filter(tenant=tenant, status__in=Denial.WORKABLE).order_by("pk")
    for denial in workable:
        if not handlers_for(denial.carc):
            continue
        try:
            attempt = correction_run(actor=manager, denial_id=denial.pk)
        except DomainError:
            continue
        outcomes.append(f"{attempt.handler} {attempt.outcome}")
        if attempt.outcome == CorrectionAttempt.Outcome.SKIPPED and skipped is None:
            skipped = attempt
    if skipped is not None:
        forced = correction_force_retry(
            actor=manager,
            denial_id=skipped.denial_id,
            handler=skipped.handler,
            reason_code="stale_skip",
            reason="the payer portal shows an authorization; retry before appealing",
        )
        outcomes.append(f"force-retry {getattr(forced, 'outcome', 'requested')}")
    return "corrections: " + (", ".join(outcomes) or "none")


def _cob(tenant: Tenant) -> str:
    from billing.models import Payer
    from denials.models import Claim, Coverage
    from denials.services.cob import cob_override_set, coverage_upsert
    from denials.services.secondary import secondary_claim_build

    if Coverage.objects.filter(tenant=tenant).exists():
        return "coverages already loaded"
    denied = list(
        Claim.objects.filter(tenant=tenant, status=Claim.Status.DENIED, payer__code="NORTHWIND")
        .select_related("member")
        .order_by("pk")
    )
    if len(denied) < 2:
        return "COB: not enough denied NORTHWIND claims"
    Payer.objects.get_or_create(tenant=tenant, code=MEDICARE[0], defaults={"name": MEDICARE[1]})
    manager = _actor(tenant, "demo-manager")
    start, medicare_start = date(date.today().year, 1, 1), date(2020, 1, 1)
    big, small = denied[-1], denied[-2]
    for claim, size in ((big, 250), (small, 12)):
        code = claim.member.external_id
        coverage_upsert(
            actor=manager,
            member_code=code,
            payer_code="NORTHWIND",
            kind="COMMERCIAL",
            employer_size=size,
            active_employment=True,
            effective=start,
            termination=None,
        )
        coverage_upsert(
            actor=manager,
            member_code=code,
            payer_code=MEDICARE[0],
            kind="MEDICARE",
            employer_size=None,
            active_employment=False,
            effective=medicare_start,
            termination=None,
        )
    secondary = secondary_claim_build(actor=manager, claim_id=big.pk)
    cob_override_set(
        actor=manager,
        member=small.member,
        ordering=["NORTHWIND", MEDICARE[0]],
        reason="MSP questionnaire: the employer has 25 employees now; the payer file is stale",
    )
    return (
        "COB: 2 members with Medicare and employer coverage, "
        f"secondary {secondary.number}, 1 override"
    )


def load_denial_work_demo(tenant: Tenant) -> str:
    """Correction attempts of each outcome, coverages, a secondary claim and a COB override."""
    return "; ".join([_corrections(tenant), _cob(tenant)])


def register() -> None:
    """Add corrections and COB to the demo."""
    register_demo_loader("denials-corrections-cob", ORDER, load_denial_work_demo)
