"""Reads of one member's billing history: search, and per payer the assertions (with the one that
won each decided month), decisions across runs, overrides and service events.

Everything is narrowed to the tenant and to the payers the actor may see: a member narrowed by
payer grants finds only members with assertions for those payers, and sees only their facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

from billing.models import (
    BillingRun,
    Decision,
    EligibilityAssertion,
    Member,
    MemberMonthOverride,
    Payer,
    ServiceDeliveryEvent,
)
from billing.selectors import _payer_ids
from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.phi_reads import PHI_VIEW, record_phi_access
from core.selectors import granted_ids

DECISION_LIMIT = 500  # per member page: a member has one decision per run and month


def _narrowed(actor: Actor) -> bool:
    return granted_ids(actor, Payer) is not None


def member_search(actor: Actor, q: str = "") -> QuerySet[Member]:
    """Members whose id starts with `q` or whose names contain each word of `q`."""
    actor.require(S.BILLING_RUN_VIEW)
    qs = Member.objects.filter(tenant=actor.tenant)
    if _narrowed(actor):
        qs = qs.filter(
            Exists(
                EligibilityAssertion.objects.filter(
                    member=OuterRef("pk"), payer_id__in=_payer_ids(actor)
                )
            )
        )
    words = (q or "").split()
    if words:
        by_id = Q(external_id__istartswith=q.strip())
        by_name = Q()
        for word in words:
            by_name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        qs = qs.filter(by_id | by_name)
    return qs.order_by("external_id", "id")


def member_get(actor: Actor, member_id: int) -> Member:
    """One member the actor may see, or 404."""
    member = member_search(actor).filter(pk=member_id).first()
    if member is None:
        raise NotFound(f"Member {member_id} does not exist.")
    return member


def run_standing(run: BillingRun) -> str:
    """How a run's decisions count: AUTHORITATIVE, SUPERSEDED, SIMULATION or the run's state."""
    if run.mode == BillingRun.Mode.SIMULATION:
        return "SIMULATION"
    if run.status in BillingRun.DONE:
        return "AUTHORITATIVE"
    return str(run.status)


@dataclass
class PayerHistory:
    """One payer's side of a member: assertions, the month each one won, decisions, the rest."""

    payer: Payer
    assertions: list[EligibilityAssertion] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    overrides: list[MemberMonthOverride] = field(default_factory=list)
    services: list[ServiceDeliveryEvent] = field(default_factory=list)
    # month -> the assertion id that won it (None: no winner) in the decision that counts
    winners: dict[date, int | None] = field(default_factory=dict)
    # month -> the assertion ids that tied yet disagreed (CONTRADICTORY_ASSERTIONS)
    contradicting: dict[date, list[int]] = field(default_factory=dict)


def _counting_key(d: Decision) -> tuple:
    """Order of precedence for a month: authoritative before others, then the latest run."""
    return (run_standing(d.run) == "AUTHORITATIVE", d.run.triggered_at, d.run_id, d.pk)


def member_history(actor: Actor, member: Member) -> list[PayerHistory]:
    """Per visible payer with anything about the member: its history, payers by code."""
    actor.require(S.BILLING_RUN_VIEW)
    payer_ids = _payer_ids(actor)
    histories: dict[int, PayerHistory] = {}

    def of(payer: Payer) -> PayerHistory:
        return histories.setdefault(payer.pk, PayerHistory(payer=payer))

    base = {"tenant": actor.tenant, "member": member, "payer_id__in": payer_ids}
    for a in (
        EligibilityAssertion.objects.filter(**base)
        .select_related("payer", "artifact", "batch")
        .order_by("received_at", "id")
    ):
        of(a.payer).assertions.append(a)
    decisions = (
        Decision.objects.filter(**base)
        .select_related("payer", "run", "rule_version")
        .order_by("-month", "-run__triggered_at", "-id")[:DECISION_LIMIT]
    )
    counting: dict[tuple[int, date], Decision] = {}
    for d in decisions:
        d.standing = run_standing(d.run)
        d.winner_id = (d.inputs or {}).get("winner")
        d.contradicting = (d.inputs or {}).get("contradicting") or []
        of(d.payer).decisions.append(d)
        key = (d.payer_id, d.month)
        if key not in counting or _counting_key(d) > _counting_key(counting[key]):
            counting[key] = d
    for (payer_id, month), d in sorted(counting.items(), key=lambda kv: kv[0][1]):
        d.counts = True
        h = histories[payer_id]
        h.winners[month] = d.winner_id
        if d.contradicting:
            h.contradicting[month] = d.contradicting
    for o in MemberMonthOverride.objects.filter(**base).select_related(
        "payer", "created_by", "approved_by"
    ):
        of(o.payer).overrides.append(o)
    for s in (
        ServiceDeliveryEvent.objects.filter(**base)
        .select_related("payer")
        .order_by("-service_date", "-id")
    ):
        of(s.payer).services.append(s)
    for h in histories.values():
        for a in h.assertions:
            a.won_months = sorted(m for m, w in h.winners.items() if w == a.pk)
            a.tied_months = sorted(m for m, ids in h.contradicting.items() if a.pk in ids)
    return sorted(histories.values(), key=lambda h: h.payer.code)


def member_read(actor: Actor, member_id: int) -> tuple[Member, list[PayerHistory]]:
    """A member's page (screen and API): the member and their history; the read is audited."""
    member = member_get(actor, member_id)
    histories = member_history(actor, member)
    record_phi_access(
        actor,
        PHI_VIEW,
        member,
        payers=len(histories),
        decisions=sum(len(h.decisions) for h in histories),
    )
    return member, histories
