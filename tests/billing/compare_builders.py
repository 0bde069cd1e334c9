"""Builders for the run comparison tests: a run, corrected eligibility, its regeneration.

Payer P has seven members and payer Q one. After the first run an amended file ends one
member's coverage mid-month, cancels another, activates a pending one and moves one's start to
mid-month, and a new member arrives; Q's member is terminated mid-month. The regeneration then
decides differently for six member-months: four class changes, one amount change, one added.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.models import BillingRun, Decision, Member, Payer
from billing.services import runs as run_services
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb

RETRO = ("BILLED_RETROACTIVE", "NOT_BILLED_RETROACTIVE")


@dataclass
class Regeneration:
    """The first run (superseded), its regeneration and the members whose outcome changed."""

    first: BillingRun
    second: BillingRun
    p: Payer
    q: Payer
    unchanged: list[Member]
    terminated: Member  # BILLED_ACTIVE -> BILLED_PARTIAL_TERM (15 of 31 days)
    cancelled: Member  # BILLED_ACTIVE -> NOT_BILLED_TERMINATED
    activated: Member  # NOT_BILLED_PENDING -> BILLED_ACTIVE
    late_start: Member  # BILLED_ACTIVE 412.50 -> BILLED_ACTIVE 279.44 (from the 11th)
    added: Member  # only in the regeneration
    q_terminated: Member  # Q: BILLED_ACTIVE -> BILLED_PARTIAL_TERM


def regeneration(tenant, *, package: bool = False) -> Regeneration:
    """A production run of MONTH for P and Q, corrected eligibility, and its regeneration."""
    p, q = b.payer_with_rules(tenant), b.payer_with_rules(tenant)
    unchanged = [b.member(tenant, p, b.unique("CMU")) for _ in range(2)]
    terminated = b.member(tenant, p, b.unique("CMT"))
    cancelled = b.member(tenant, p, b.unique("CMC"))
    activated = b.member(tenant, p, b.unique("CMP"), status="PENDING")
    late_start = b.member(tenant, p, b.unique("CML"), service_dates=(date(2026, 10, 20),))
    q_terminated = b.member(tenant, q, b.unique("CMQ"))
    first = sb.done_run(tenant, [p, q], package=package)

    sb.amended(p, terminated, termination_date=date(2026, 10, 15))
    sb.amended(p, cancelled, status="CANCELLED")
    sb.amended(p, activated)
    sb.amended(p, late_start, effective_date=date(2026, 10, 11))
    sb.amended(q, q_terminated, termination_date=date(2026, 10, 15))
    added = b.member(tenant, p, b.unique("CMN"))
    second = run_services.billing_run_regenerate(
        actor=b.system(tenant), run_id=first.pk, reason="corrected eligibility", enqueue=False
    )
    second = sb.finish(second, package=package)
    first.refresh_from_db()
    assert first.status == BillingRun.Status.SUPERSEDED
    return Regeneration(
        first=first,
        second=second,
        p=p,
        q=q,
        unchanged=unchanged,
        terminated=terminated,
        cancelled=cancelled,
        activated=activated,
        late_start=late_start,
        added=added,
        q_terminated=q_terminated,
    )


# --- the expected comparison, worked out from the Decision rows without the product's code ---


def _decisions(run: BillingRun, payers=None) -> dict:
    qs = Decision.objects.filter(run=run)
    if payers is not None:
        qs = qs.filter(payer__in=payers)
    return {(d.payer_id, d.member_id, d.month): d for d in qs}


def _side(decisions: dict, month: date) -> dict:
    current = [d for d in decisions.values() if d.month == month and d.decision_class not in RETRO]
    return {
        "members": len(current),
        "billable_members": sum(1 for d in current if d.billable),
        "total_charge": sum(
            (d.amount for d in decisions.values() if d.billable or d.decision_class in RETRO),
            Decimal("0.00"),
        ),
    }


def expected(run: BillingRun, base: BillingRun, payers=None) -> dict:
    """Totals of each run, their differences, the changed keys and the transition counts."""
    new, old = _decisions(run, payers), _decisions(base, payers)
    a, bb = _side(new, run.month), _side(old, base.month)
    keys = new.keys() | old.keys()
    changed = {
        k
        for k in keys
        if k not in new
        or k not in old
        or (new[k].decision_class, new[k].amount) != (old[k].decision_class, old[k].amount)
    }
    matrix = Counter(
        (
            old[k].decision_class if k in old else "ABSENT",
            new[k].decision_class if k in new else "ABSENT",
        )
        for k in keys
    )
    return {
        "totals": {
            name: {
                "a": str(a[name]) if name == "total_charge" else a[name],
                "b": str(bb[name]) if name == "total_charge" else bb[name],
                "delta": str(a[name] - bb[name]) if name == "total_charge" else a[name] - bb[name],
            }
            for name in ("members", "billable_members", "total_charge")
        },
        "changed": changed,
        "matrix": dict(matrix),
        "by_transition": dict(
            Counter(
                f"{old[k].decision_class if k in old else 'ABSENT'}->"
                f"{new[k].decision_class if k in new else 'ABSENT'}"
                for k in changed
            )
        ),
    }
