"""Reads of billing, filtered by tenant and by the member's payer grants."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from billing.engine import DecisionClass
from billing.engine.money import cents
from billing.inputs import inputs_expand
from billing.models import (
    BillingRun,
    Decision,
    MemberMonthOverride,
    Payer,
    RuleVersion,
    RunChunk,
    RunException,
)
from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.phi_reads import PHI_VIEW, record_phi_access
from core.selectors import granted_ids, restrict_to_grants


def visible_payers(actor: Actor) -> QuerySet[Payer]:
    """The payers the actor may see (all of the tenant's unless narrowed by grants)."""
    return restrict_to_grants(actor, Payer.objects.all())


def _payer_ids(actor: Actor) -> list[int]:
    cache = actor.__dict__.setdefault("_visible_payer_ids", [])
    if not cache:
        # order_by(): the model orders by the tenant's slug, a join an id list does not need
        cache.append(list(visible_payers(actor).order_by().values_list("id", flat=True)))
    return cache[0]


def run_list(
    actor: Actor, *, month: date | None = None, payer: str = "", status: str = "", mode: str = ""
) -> QuerySet[BillingRun]:
    """Runs touching a visible payer, newest first."""
    actor.require(S.BILLING_RUN_VIEW)
    qs = BillingRun.objects.filter(tenant=actor.tenant, run_payers__payer_id__in=_payer_ids(actor))
    if month:
        qs = qs.filter(month=month.replace(day=1))
    if payer:
        qs = qs.filter(run_payers__payer__code=payer.upper())
    if status:
        qs = qs.filter(status=status.upper())
    if mode:
        qs = qs.filter(mode=mode.upper())
    return qs.distinct().select_related("triggered_by").order_by("-triggered_at", "-id")


def run_get(actor: Actor, run_id: int) -> BillingRun:
    """One run, or 404."""
    run = run_list(actor).filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"Billing run {run_id} does not exist.")
    return run


def decision_list(
    actor: Actor,
    run: BillingRun,
    *,
    decision_class: str = "",
    payer: str = "",
    member: str = "",
    billable: bool | None = None,
) -> QuerySet[Decision]:
    """A run's decisions for visible payers, by class, payer code and member id."""
    actor.require(S.BILLING_RUN_VIEW)
    qs = Decision.objects.filter(run=run, tenant=actor.tenant, payer_id__in=_payer_ids(actor))
    if run.first_decision_id is not None:
        qs = qs.filter(pk__gte=run.first_decision_id, pk__lte=run.last_decision_id)
    if decision_class:
        qs = qs.filter(decision_class=decision_class.upper())
    if payer:
        qs = qs.filter(payer__code=payer.upper())
    if member:
        qs = qs.filter(member__external_id=member)
    if billable is not None:
        qs = qs.filter(billable=billable)
    return qs


def sees_all_payers(actor: Actor, run: BillingRun) -> bool:
    """Whether the actor's payer grants cover every payer of the run."""
    if granted_ids(actor, Payer) is None:
        return True
    visible = set(_payer_ids(actor))
    return all(p in visible for p in run.run_payers.values_list("payer_id", flat=True))


def run_summary_for(actor: Actor, run: BillingRun) -> dict:
    """The run's summary as the actor may see it: only granted payers' figures when narrowed."""
    if not run.summary or sees_all_payers(actor, run):
        return run.summary
    return run_summary(run, _payer_ids(actor))


def run_workers(actor: Actor, run: BillingRun) -> list[dict]:
    """Which worker (node/pid, core.node.worker_label) wrote how many of the run's finished chunks
    and members, busiest first: where a scaled-out run's work went (issue 17). Only the chunks of
    payers the actor may see are counted."""
    chunks = RunChunk.objects.filter(run=run, done=True)
    if not sees_all_payers(actor, run):
        chunks = chunks.filter(payer_id__in=_payer_ids(actor))
    rows = (
        chunks.values("worker")
        .annotate(chunks=Count("id"), members=Sum("members"))
        .order_by("-chunks", "worker")
    )
    return [
        {"worker": r["worker"] or "not recorded", "chunks": r["chunks"], "members": r["members"]}
        for r in rows
    ]


def totals_by_month(actor: Actor, *, months: int = 12) -> list[tuple[date, Decimal]]:
    """Total charge of the completed production runs the actor may see, per month, oldest first."""
    from billing.engine.months import add_months

    first = add_months(timezone.localdate().replace(day=1), -(months - 1))
    totals: dict[date, Decimal] = defaultdict(Decimal)
    done = run_list(actor).filter(
        mode=BillingRun.Mode.PRODUCTION, status__in=BillingRun.DONE, month__gte=first
    )
    for run in done:
        totals[run.month] += Decimal((run_summary_for(actor, run) or {}).get("total_charge", "0"))
    return [
        (add_months(first, i), totals.get(add_months(first, i), Decimal(0))) for i in range(months)
    ]


def run_payer_codes_for(actor: Actor, run: BillingRun) -> list[str]:
    """Codes of the run's payers the actor may see."""
    visible = set(_payer_ids(actor))
    return sorted(rp.payer.code for rp in run.run_payers.all() if rp.payer_id in visible)


def known_decision_count(
    actor: Actor, run: BillingRun, *, decision_class: str = "", payer: str = "", member: str = ""
) -> int | None:
    """How many decisions a list shows, from the run's counters when no query is needed."""
    if payer or member or not run.summary or not sees_all_payers(actor, run):
        return None
    if not decision_class:
        return run.decisions_count
    return (run.summary.get("by_class") or {}).get(decision_class, {}).get("count", 0)


def decision_get(actor: Actor, decision_id: int) -> Decision:
    """One decision, or 404."""
    actor.require(S.BILLING_RUN_VIEW)
    decision = (
        Decision.objects.filter(pk=decision_id, tenant=actor.tenant, payer_id__in=_payer_ids(actor))
        .select_related("run", "payer", "member", "rule_version")
        .first()
    )
    if decision is None:
        raise NotFound(f"Decision {decision_id} does not exist.")
    return decision


def decision_list_read(actor: Actor, run: BillingRun, **filters) -> QuerySet[Decision]:
    """A run's decisions as a page lists them (screen and API): member ids on screen, audited."""
    qs = decision_list(actor, run, **filters)
    record_phi_access(actor, PHI_VIEW, run, listing="decisions", filtered=any(filters.values()))
    return qs


def exception_list_read(
    actor: Actor, run: BillingRun, *, status: str = "", code: str = ""
) -> QuerySet[RunException]:
    """A run's exceptions as a page lists them (screen and API): they name members, audited."""
    qs = exception_list(actor, run, status=status, code=code)
    record_phi_access(actor, PHI_VIEW, run, listing="exceptions", status=status, code=code)
    return qs


def decision_read(actor: Actor, decision_id: int) -> Decision:
    """A decision shown with its inputs (screen and API); the read of the inputs is audited."""
    decision = decision_get(actor, decision_id)
    # a run stores the facts used as ids of the immutable fact rows: every reader sees full rows
    inputs = decision.inputs = inputs_expand(decision.inputs, decision.tenant_id)
    record_phi_access(
        actor,
        PHI_VIEW,
        decision,
        run=decision.run_id,
        assertions=len(inputs.get("assertions") or []),
        services=len(inputs.get("services") or []),
    )
    return decision


def exception_list(
    actor: Actor, run: BillingRun, *, status: str = "", code: str = ""
) -> QuerySet[RunException]:
    """A run's exceptions of visible payers, by status and code."""
    actor.require(S.BILLING_RUN_VIEW)
    qs = RunException.objects.filter(run=run, tenant=actor.tenant).filter(
        payer_id__in=_payer_ids(actor)
    )
    if status:
        qs = qs.filter(status=status.upper())
    if code:
        qs = qs.filter(code=code.upper())
    return qs.select_related("payer", "member", "resolved_by")


def exception_groups(actor: Actor, run: BillingRun) -> list[dict]:
    """Per exception code of the run (visible payers): open, resolved and total counts."""
    Status = RunException.Status
    rows = (
        exception_list(actor, run)
        .values("code")
        .annotate(
            open=Count("id", filter=Q(status=Status.OPEN)),
            resolved=Count("id", filter=Q(status=Status.RESOLVED)),
            total=Count("id"),
        )
        .order_by("-open", "code")
    )
    return list(rows)


def replacing_run(run: BillingRun) -> BillingRun | None:
    """The regeneration that completed and superseded this run (None while it is not)."""
    if run.status != BillingRun.Status.SUPERSEDED:
        return None
    done = (*BillingRun.DONE, BillingRun.Status.SUPERSEDED)
    return run.superseded_by.filter(status__in=done).order_by("id").first()


def exception_get(actor: Actor, exception_id: int) -> RunException:
    """One exception, or 404."""
    actor.require(S.BILLING_RUN_VIEW)
    exc = RunException.objects.filter(
        pk=exception_id, tenant=actor.tenant, payer_id__in=_payer_ids(actor)
    ).first()
    if exc is None:
        raise NotFound(f"Exception {exception_id} does not exist.")
    return exc


def rule_version_list(actor: Actor, *, payer: str = "") -> QuerySet[RuleVersion]:
    """Rule versions of visible payers."""
    actor.require(S.BILLING_RUN_VIEW)
    qs = RuleVersion.objects.filter(tenant=actor.tenant, payer_id__in=_payer_ids(actor))
    if payer:
        qs = qs.filter(payer__code=payer.upper())
    return qs.select_related("payer").order_by("payer__code", "-effective_from", "-id")


def rule_version_get(actor: Actor, rule_version_id: int) -> RuleVersion:
    """One rule version, or 404."""
    rv = rule_version_list(actor).filter(pk=rule_version_id).first()
    if rv is None:
        raise NotFound(f"Rule version {rule_version_id} does not exist.")
    return rv


def override_list(actor: Actor) -> QuerySet[MemberMonthOverride]:
    """Member-month overrides of visible payers, newest first."""
    actor.require(S.BILLING_RUN_VIEW)
    return MemberMonthOverride.objects.filter(
        tenant=actor.tenant, payer_id__in=_payer_ids(actor)
    ).select_related("payer", "member", "created_by", "approved_by")


# --- authority and summaries ---------------------------------------------------------------

RETRO = (DecisionClass.BILLED_RETROACTIVE, DecisionClass.NOT_BILLED_RETROACTIVE)


def authoritative_runs(tenant_id: int, payer_id: int, month: date):
    """Completed, not superseded production runs of a month for a payer, newest first."""
    return BillingRun.objects.filter(
        tenant_id=tenant_id,
        mode=BillingRun.Mode.PRODUCTION,
        status__in=BillingRun.DONE,
        month=month,
        run_payers__payer_id=payer_id,
    ).order_by("-triggered_at", "-id")


def run_summary(run: BillingRun, payer_ids: list[int] | None = None) -> dict:
    """Totals of a run, for all its payers or only some (a member narrowed by payer grants)."""
    by_class: dict[str, dict] = {}
    by_payer: dict[str, dict] = {}
    decisions = Decision.objects.filter(run=run)
    if payer_ids is not None:
        decisions = decisions.filter(payer_id__in=payer_ids)
    rows = (
        decisions.values("decision_class", "payer__code", "billable", "month")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    billable_members, month_amount, total, members = 0, Decimal("0.00"), Decimal("0.00"), 0
    for r in rows:
        if r["month"] == run.month and r["decision_class"] not in RETRO:
            members += r["n"]
        r["amount"] = r["amount"].quantize(Decimal("0.01"))  # SQLite sums carry 15 digits
        c = by_class.setdefault(r["decision_class"], {"count": 0, "amount": Decimal("0.00")})
        c["count"] += r["n"]
        c["amount"] += r["amount"]
        p = by_payer.setdefault(
            r["payer__code"], {"decisions": 0, "billable": 0, "amount": Decimal("0.00")}
        )
        p["decisions"] += r["n"]
        counts = r["billable"] or r["decision_class"] in RETRO
        if r["billable"] and r["month"] == run.month and r["decision_class"] not in RETRO:
            billable_members += r["n"]
            month_amount += r["amount"]
            p["billable"] += r["n"]
        if counts:
            total += r["amount"]
            p["amount"] += r["amount"]
    mean = cents(month_amount / billable_members) if billable_members else Decimal("0.00")
    return {
        "members": run.members_total if payer_ids is None else members,
        "billable_members": billable_members,
        "total_charge": str(total),
        "mean_charge": str(mean),
        "by_class": {
            k: {"count": v["count"], "amount": str(v["amount"])}
            for k, v in sorted(by_class.items())
        },
        "by_payer": {
            k: {"decisions": v["decisions"], "billable": v["billable"], "amount": str(v["amount"])}
            for k, v in sorted(by_payer.items())
        },
    }
