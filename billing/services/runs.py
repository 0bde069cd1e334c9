"""Billing runs (SPEC 4, Runs): trigger, regenerate, cancel; then start, chunks and finalize.

A run is planned into chunks of one payer's members; each chunk evaluates its members and
writes their decisions in one transaction and is marked done in the same transaction, so a
chunk executed again after a worker died writes nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Count, F, Func, Max, Min, Sum
from django.utils import timezone

from billing.engine import (
    Assertion,
    DecisionClass,
    MemberFacts,
    Override,
    Rules,
    ServiceEvent,
    evaluate,
    retro_delta,
)
from billing.engine.money import cents
from billing.engine.months import add_months, month_bounds
from billing.engine.types import Code
from billing.models import (
    BillingRun,
    Decision,
    EligibilityAssertion,
    Member,
    MemberMonthOverride,
    Payer,
    RunChunk,
    RunException,
    RunPayer,
    ServiceDeliveryEvent,
)
from billing.services.rules import engine_rules, rule_version_for_month
from core import queue
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.bulk import fetch_rows, insert_rows
from core.exceptions import Conflict, DomainError, NotFound
from core.selectors import restrict_to_grants
from core.transitions import transition_apply

log = logging.getLogger("healthbill.billing")
Status = BillingRun.Status
RETRO = (DecisionClass.BILLED_RETROACTIVE, DecisionClass.NOT_BILLED_RETROACTIVE)
OUT_OF_WINDOW_LOOKBACK = 24  # months checked for late facts beyond the retro window


# --- authority ------------------------------------------------------------------------------


def authoritative_runs(tenant_id: int, payer_id: int, month: date):
    """Completed, not superseded production runs of a month for a payer, newest first."""
    return BillingRun.objects.filter(
        tenant_id=tenant_id,
        mode=BillingRun.Mode.PRODUCTION,
        status__in=BillingRun.DONE,
        month=month,
        run_payers__payer_id=payer_id,
    ).order_by("-triggered_at", "-id")


# --- trigger, regenerate, cancel ------------------------------------------------------------


def _select_payers(actor: Actor, payers) -> list[Payer]:
    visible = restrict_to_grants(actor, Payer.objects.all())
    if payers == "all" or payers == ["all"]:
        selected = list(visible.filter(active=True).order_by("code"))
        if not selected:
            raise DomainError("payers: the tenant has no active payer.")
        return selected
    codes = sorted({str(c).strip().upper() for c in (payers or []) if str(c).strip()})
    if not codes:
        raise DomainError("payers: choose one or more payers, or all.")
    found = {p.code.upper(): p for p in visible.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise DomainError(
            f"payers: unknown payer(s) {', '.join(unknown)}.", details={"payers": unknown}
        )
    return [found[c] for c in codes]


def billing_run_trigger(
    *,
    actor: Actor,
    month: date,
    payers,
    mode: str = BillingRun.Mode.PRODUCTION,
    reason: str = "",
    supersedes: BillingRun | None = None,
    enqueue: bool = True,
) -> BillingRun:
    """Queue a run for a month (the current one or earlier) and one, several or all payers."""
    actor.require(S.BILLING_RUN_TRIGGER)
    month = month.replace(day=1)
    if month > timezone.localdate().replace(day=1):
        raise DomainError(
            f"month: {month:%Y-%m} is in the future; bill the current month or earlier."
        )
    mode = str(mode).upper()
    if mode not in BillingRun.Mode.values:
        raise DomainError("mode: expected PRODUCTION or SIMULATION.")
    selected = _select_payers(actor, payers)
    if mode == BillingRun.Mode.PRODUCTION and supersedes is None:
        for payer in selected:
            done = authoritative_runs(actor.tenant.pk, payer.pk, month).first()
            if done is not None:
                raise Conflict(
                    f"{month:%Y-%m} already has completed run #{done.pk} for payer {payer.code}; "
                    "regenerate that run instead.",
                    details={"run": done.pk, "payer": payer.code},
                )
    now = timezone.now()
    with transaction.atomic():
        latest = BillingRun.objects.filter(
            tenant=actor.tenant, month=month, mode=mode, run_payers__payer__in=selected
        ).aggregate(v=Max("version"))["v"]
        # A failed or cancelled attempt keeps its number: the next one counts on from it.
        version = max(latest or 0, supersedes.version if supersedes else 0) + 1
        run = BillingRun.objects.create(
            tenant=actor.tenant,
            month=month,
            mode=mode,
            version=version,
            supersedes=supersedes,
            reason=reason,
            triggered_by=actor.user,
            triggered_at=now,
            evidence_cutoff=now,
        )
        try:
            with transaction.atomic():
                RunPayer.objects.bulk_create(
                    RunPayer(tenant=actor.tenant, run=run, payer=p, month=month, mode=mode)
                    for p in selected
                )
        except IntegrityError:
            busy = (
                RunPayer.objects.filter(
                    tenant=actor.tenant, month=month, payer__in=selected, active=True, mode=mode
                )
                .exclude(run=run)
                .select_related("payer", "run")
                .first()
            )
            what = (
                f"payer {busy.payer.code} (run #{busy.run_id})" if busy else "one of these payers"
            )
            raise Conflict(
                f"A production run for {month:%Y-%m} and {what} is already queued or running; "
                "wait for it to finish or cancel it."
            ) from None
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="RUN_TRIGGERED",
            obj=run,
            reason=reason,
            payload={
                "month": month,
                "mode": mode,
                "version": version,
                "payers": [p.code for p in selected],
                "supersedes": supersedes.pk if supersedes else None,
            },
        )
        if enqueue:
            transaction.on_commit(lambda: queue.enqueue("billing.tasks.run_start", run.pk))
    log.info("run triggered", extra={"run": run.pk, "mode": mode, "payers": len(selected)})
    return run


def _get_run(actor: Actor, run_id: int) -> BillingRun:
    run = BillingRun.objects.filter(pk=run_id, tenant=actor.tenant).first()
    if run is None:
        raise NotFound(f"Billing run {run_id} does not exist.")
    return run


def billing_run_regenerate(
    *, actor: Actor, run_id: int, reason: str, enqueue: bool = True
) -> BillingRun:
    """A new version of a completed production run; the prior is superseded once it completes."""
    actor.require(S.BILLING_RUN_TRIGGER)
    if not (reason or "").strip():
        raise DomainError("reason: say why the run is regenerated.", code="reason_required")
    run = _get_run(actor, run_id)
    if run.mode != BillingRun.Mode.PRODUCTION:
        raise DomainError("Only production runs are regenerated; trigger a new simulation instead.")
    if run.status not in BillingRun.DONE:
        newer = run.superseded_by.order_by("-id").first()
        hint = f"; regenerate run #{newer.pk} instead" if newer else ""
        raise Conflict(
            f"Run #{run.pk} is {run.status}; only a completed run can be regenerated{hint}."
        )
    codes = list(run.payers.values_list("code", flat=True))
    return billing_run_trigger(
        actor=actor,
        month=run.month,
        payers=codes,
        mode=BillingRun.Mode.PRODUCTION,
        reason=reason.strip(),
        supersedes=run,
        enqueue=enqueue,
    )


def billing_run_cancel(*, actor: Actor, run_id: int, reason: str = "") -> BillingRun:
    """Stop a queued or running run; what it wrote is never authoritative."""
    _get_run(actor, run_id)
    with transaction.atomic():
        run = transition_apply(
            actor=actor,
            model=BillingRun,
            pk=run_id,
            name="cancel",
            scope=S.BILLING_RUN_TRIGGER,
            reason=reason,
            action="RUN_CANCELLED",
        )
        RunPayer.objects.filter(run=run).update(active=False)
    return run


# --- execution ------------------------------------------------------------------------------


def _ranges(ids, size: int):
    """(first, last, count) of consecutive runs of `size` sorted ids, from any iterable."""
    first = last = None
    count = 0
    for value in ids:
        if count == 0:
            first = value
        last, count = value, count + 1
        if count == size:
            yield first, last, count
            count = 0
    if count:
        yield first, last, count


def billing_run_start(*, run_id: int) -> list[int]:
    """QUEUED -> RUNNING: pick rule versions, plan chunks; returns the ids of pending chunks."""
    with transaction.atomic():
        run = (
            BillingRun.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=run_id)
        )
        if run.status == Status.RUNNING:
            return list(run.chunks.filter(done=False).values_list("id", flat=True))
        if run.status != Status.QUEUED:
            return []
        transition_apply(
            actor=Actor.system_for(run.tenant),
            model=BillingRun,
            pk=run_id,
            name="start",
            scope=S.BILLING_RUN_TRIGGER,
            action="RUN_STARTED",
        )
        size = settings.BILLING_CHUNK_SIZE
        chunks, problems, total = [], [], 0
        for rp in run.run_payers.select_related("payer").order_by("payer__code"):
            rv = rule_version_for_month(rp.payer_id, run.month)
            if rv is None:
                problems.append(
                    RunException(
                        tenant_id=run.tenant_id,
                        run=run,
                        payer_id=rp.payer_id,
                        month=run.month,
                        code=Code.NO_RULE_VERSION,
                        message=f"payer {rp.payer.code} has no active rule version effective on "
                        f"or before {run.month:%Y-%m-%d}; no decision was made for it",
                    )
                )
                continue
            RunPayer.objects.filter(pk=rp.pk).update(rule_version=rv)
            members = (
                EligibilityAssertion.objects.filter(
                    tenant_id=run.tenant_id,
                    payer_id=rp.payer_id,
                    received_at__lte=run.evidence_cutoff,
                )
                .order_by("member_id")
                .values_list("member_id", flat=True)
                .distinct()
                .iterator(chunk_size=20000)  # only the chunk boundaries are kept
            )
            for index, (first, last, count) in enumerate(_ranges(members, size)):
                total += count
                chunks.append(
                    RunChunk(
                        run=run,
                        payer_id=rp.payer_id,
                        index=index,
                        first_member=first,
                        last_member=last,
                        members=count,
                    )
                )
        RunChunk.objects.bulk_create(chunks)
        RunException.objects.bulk_create(problems)
        BillingRun.objects.filter(pk=run_id).update(
            members_total=total,
            chunks_total=len(chunks),
            exceptions_count=len(problems),
            open_exceptions=len(problems),
        )
        return list(RunChunk.objects.filter(run_id=run_id).values_list("id", flat=True))


@dataclass
class _PastMonth:
    month: date
    run: BillingRun
    rules: Rules
    since: datetime  # facts that arrived after this are late for the month


_PAST_CACHE: dict[tuple, tuple[list, list]] = {}


def _past_months(run: BillingRun, payer_id: int, window: int) -> tuple[list, list]:
    """Months of the retro window with an authoritative run, and older such months.

    Fixed for the whole run (only runs triggered before it count), so a worker works it out
    once per run and payer.
    """
    key = (run.pk, payer_id, run.triggered_at)
    if key not in _PAST_CACHE:
        if len(_PAST_CACHE) > 64:
            _PAST_CACHE.clear()
        _PAST_CACHE[key] = _find_past_months(run, payer_id, window)
    return _PAST_CACHE[key]


def _find_past_months(run: BillingRun, payer_id: int, window: int) -> tuple[list, list]:
    previous = (
        BillingRun.objects.filter(
            tenant_id=run.tenant_id,
            mode=BillingRun.Mode.PRODUCTION,
            status__in=BillingRun.DONE,
            run_payers__payer_id=payer_id,
            triggered_at__lt=run.triggered_at,
        )
        .exclude(pk=run.supersedes_id)
        .order_by("-triggered_at")
        .first()
    )
    inside, outside = [], []
    for k in range(1, OUT_OF_WINDOW_LOOKBACK + 1):
        month = add_months(run.month, -k)
        past = (
            authoritative_runs(run.tenant_id, payer_id, month)
            .filter(triggered_at__lt=run.triggered_at)
            .exclude(pk=run.supersedes_id)
            .first()
        )
        if past is None:
            continue
        rv = (
            rule_version_for_month(payer_id, month)
            or RunPayer.objects.get(run=past, payer_id=payer_id).rule_version
        )
        if rv is None:
            continue
        if k <= window:
            inside.append(_PastMonth(month, past, engine_rules(rv), past.evidence_cutoff))
        else:
            since = max(
                past.evidence_cutoff, previous.evidence_cutoff if previous else past.evidence_cutoff
            )
            outside.append(_PastMonth(month, past, engine_rules(rv), since))
    return inside, outside


def _billed(
    run: BillingRun, payer_id: int, lo: int, hi: int, past: _PastMonth
) -> dict[int, Decimal]:
    """What each member of the chunk has been billed for a past month so far."""
    billed: dict[int, Decimal] = defaultdict(Decimal)
    base = Decision.objects.filter(
        run=past.run, payer_id=payer_id, month=past.month, member_id__gte=lo, member_id__lte=hi
    ).values_list("member_id", "amount", "billable")
    for member_id, amount, billable in base:
        billed[member_id] += amount if billable else Decimal("0.00")
    deltas = (
        Decision.objects.filter(
            tenant_id=run.tenant_id,
            payer_id=payer_id,
            month=past.month,
            member_id__gte=lo,
            member_id__lte=hi,
            decision_class__in=RETRO,
            run__mode=BillingRun.Mode.PRODUCTION,
            run__status__in=BillingRun.DONE,
            run__triggered_at__gt=past.run.triggered_at,
        )
        .exclude(run_id__in=[run.pk, run.supersedes_id])
        .values("member_id")
        .annotate(total=Sum("amount"))
    )
    for row in deltas:
        billed[row["member_id"]] += row["total"]
    return billed


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _arrival():
    """How to read `received_at`: on PostgreSQL as microseconds since the epoch, converted
    once per distinct value (rows of one file share it), because the driver's Python
    timestamp parser costs more than the whole evaluation; elsewhere as it is."""
    if connection.vendor != "postgresql":
        return F("received_at"), lambda value: value
    micros = Func(
        F("received_at"),
        template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint",
        output_field=BigIntegerField(),
    )
    seen: dict[int, datetime] = {}

    def when(value: int) -> datetime:
        at = seen.get(value)
        if at is None:
            at = seen[value] = _EPOCH + timedelta(microseconds=value)
        return at

    return micros, when


def _load_facts(run: BillingRun, payer_id: int, lo: int, hi: int, months: list[date]):
    """Assertions, services, birth dates and overrides of the chunk's members, set-based."""
    cutoff = run.evidence_cutoff
    received, when = _arrival()
    assertions: dict[int, list] = defaultdict(list)
    for m, a_id, kind, file_date, at, *rest in fetch_rows(
        EligibilityAssertion.objects.filter(
            tenant_id=run.tenant_id,
            payer_id=payer_id,
            member_id__gte=lo,
            member_id__lte=hi,
            received_at__lte=cutoff,
        )
        .annotate(arrival=received)
        .values_list(
            "member_id",
            "id",
            "source_kind",
            "file_date",
            "arrival",
            "status",
            "effective_date",
            "termination_date",
            "benefit_code",
            "benefit_suffix",
        )
    ):
        assertions[m].append(Assertion(a_id, kind, file_date, when(at), *rest))
    first = min(months)
    last = month_bounds(max(months))[1]
    services: dict[int, list] = defaultdict(list)
    for member_id, s_id, day, code, at in fetch_rows(
        ServiceDeliveryEvent.objects.filter(
            tenant_id=run.tenant_id,
            payer_id=payer_id,
            member_id__gte=lo,
            member_id__lte=hi,
            received_at__lte=cutoff,
            service_date__gte=first,
            service_date__lte=last,
        )
        .annotate(arrival=received)
        .values_list("member_id", "id", "service_date", "service_code", "arrival")
    ):
        services[member_id].append(ServiceEvent(s_id, day, code, when(at)))
    births = dict(
        Member.objects.filter(pk__gte=lo, pk__lte=hi, tenant_id=run.tenant_id).values_list(
            "id", "birth_date"
        )
    )
    overrides = {
        (m, month): Override(pk, outcome, rate)
        for pk, m, month, outcome, rate in MemberMonthOverride.objects.filter(
            tenant_id=run.tenant_id,
            payer_id=payer_id,
            member_id__gte=lo,
            member_id__lte=hi,
            month__in=months,
            active=True,
            approved=True,
        ).values_list("id", "member_id", "month", "outcome", "rate")
    }
    return assertions, services, births, overrides


DECISION_FIELDS = (
    "tenant",
    "run",
    "payer",
    "member",
    "month",
    "decision_class",
    "billable",
    "billable_days",
    "amount",
    "rule_version",
    "tier",
    "inputs",
)
EXCEPTION_FIELDS = ("tenant", "run", "payer", "member", "month", "code", "message", "status")


def _evaluate_chunk(run: BillingRun, chunk: RunChunk, rules: Rules) -> tuple[list, list]:
    payer_id, lo, hi = chunk.payer_id, chunk.first_member, chunk.last_member
    inside, outside = _past_months(run, payer_id, rules.params.retro_window_months)
    months = [run.month] + [p.month for p in inside + outside]
    assertions, services, births, overrides = _load_facts(run, payer_id, lo, hi, months)
    billed = {p.month: _billed(run, payer_id, lo, hi, p) for p in inside + outside}
    decisions, problems = [], []
    tenant_id, cutoff = run.tenant_id, run.evidence_cutoff

    def row(member_id: int, month: date, outcome, rules_used: Rules) -> None:
        decisions.append(
            (
                tenant_id,
                run.pk,
                payer_id,
                member_id,
                month,
                str(outcome.decision_class),
                outcome.billable,
                outcome.billable_days,
                outcome.amount,
                rules_used.version_id,
                outcome.tier,
                outcome.inputs,
            )
        )
        for finding in outcome.exceptions:
            problems.append(
                (
                    tenant_id,
                    run.pk,
                    payer_id,
                    member_id,
                    month,
                    finding.code,
                    finding.message,
                    "OPEN",
                )
            )

    def facts(member_id: int, month: date) -> MemberFacts:
        return MemberFacts(
            member_id=member_id,
            birth_date=births.get(member_id),
            assertions=tuple(assertions[member_id]),
            services=tuple(services.get(member_id, ())),
            override=overrides.get((member_id, month)),
        )

    for member_id in sorted(assertions):
        row(
            member_id,
            run.month,
            evaluate(facts(member_id, run.month), rules, run.month, cutoff),
            rules,
        )
        if not (inside or outside):
            continue
        arrivals = [a.received_at for a in assertions[member_id]] + [
            s.received_at for s in services.get(member_id, ())
        ]
        last_arrival = max(arrivals)
        for past in inside:
            if last_arrival <= past.since:
                continue
            now = evaluate(facts(member_id, past.month), past.rules, past.month, cutoff)
            retro = retro_delta(now, billed[past.month].get(member_id, Decimal("0.00")))
            if retro is not None:
                row(member_id, past.month, retro, past.rules)
        for past in outside:
            if last_arrival <= past.since:
                continue
            now = evaluate(facts(member_id, past.month), past.rules, past.month, cutoff)
            retro = retro_delta(now, billed[past.month].get(member_id, Decimal("0.00")))
            if retro is not None:
                problems.append(
                    (
                        tenant_id,
                        run.pk,
                        payer_id,
                        member_id,
                        past.month,
                        Code.RETRO_OUTSIDE_WINDOW,
                        f"facts that arrived after run #{past.run.pk} would change "
                        f"{past.month:%Y-%m} by {retro.amount}; that month is outside the "
                        f"{rules.params.retro_window_months}-month retroactive window, so "
                        "nothing was changed",
                    )
                    + ("OPEN",)
                )
    return decisions, problems


def billing_run_process_chunk(*, chunk_id: int) -> int:
    """Evaluate one chunk and write its decisions, once; returns members processed."""
    with transaction.atomic():
        chunk = (
            RunChunk.objects.select_for_update(of=("self",)).select_related("run").get(pk=chunk_id)
        )
        run = chunk.run
        if chunk.done or run.status != Status.RUNNING:
            return 0
        rp = RunPayer.objects.select_related("rule_version").get(run=run, payer_id=chunk.payer_id)
        decisions, problems = _evaluate_chunk(run, chunk, engine_rules(rp.rule_version))
        insert_rows(Decision, DECISION_FIELDS, decisions)
        insert_rows(RunException, (*EXCEPTION_FIELDS, "resolution"), [(*p, "") for p in problems])
        RunChunk.objects.filter(pk=chunk.pk).update(
            done=True, done_at=timezone.now(), attempts=chunk.attempts + 1
        )
        BillingRun.objects.filter(pk=run.pk).update(
            members_done=F("members_done") + chunk.members,
            chunks_done=F("chunks_done") + 1,
            decisions_count=F("decisions_count") + len(decisions),
            exceptions_count=F("exceptions_count") + len(problems),
            open_exceptions=F("open_exceptions") + len(problems),
        )
    log.info(
        "run chunk done",
        extra={
            "run": run.pk,
            "chunk": chunk.index,
            "members": chunk.members,
            "decisions": len(decisions),
        },
    )
    return chunk.members


def billing_run_chunk_failed(*, chunk_id: int, error: str) -> BillingRun | None:
    """Count a failed attempt; after the last one the run fails cleanly."""
    with transaction.atomic():
        chunk = (
            RunChunk.objects.select_for_update(of=("self",))
            .select_related("run__tenant")
            .get(pk=chunk_id)
        )
        attempts = chunk.attempts + 1
        RunChunk.objects.filter(pk=chunk.pk).update(attempts=attempts)
        run = chunk.run
        if attempts < settings.BILLING_CHUNK_ATTEMPTS or run.status != Status.RUNNING:
            return None
        run = transition_apply(
            actor=Actor.system_for(run.tenant),
            model=BillingRun,
            pk=run.pk,
            name="fail",
            scope=S.BILLING_RUN_TRIGGER,
            action="RUN_FAILED",
            kwargs={"message": f"chunk {chunk.index} failed {attempts} times: {error[:500]}"},
        )
        RunPayer.objects.filter(run=run).update(active=False)
        return run


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


def decisions_digest(run: BillingRun) -> str:
    """sha256 over the run's decisions in a fixed order (payer, member, month)."""
    digest = hashlib.sha256()
    rows = (
        Decision.objects.filter(run=run)
        .order_by("payer_id", "member_id", "month")
        .values_list(
            "payer_id",
            "member_id",
            "month",
            "decision_class",
            "billable_days",
            "amount",
            "rule_version_id",
            "tier",
        )
        .iterator(chunk_size=10000)
    )
    for payer, member, month, cls, days, amount, rv, tier in rows:
        digest.update(
            f"{payer}|{member}|{month.isoformat()}|{cls}|{days}|{amount}|{rv}|{tier}\n".encode()
        )
    return digest.hexdigest()


def billing_run_finalize(*, run_id: int, inline: bool = False) -> BillingRun:
    """Complete the run once every chunk is done: summary, digest, audit closure, supersession."""
    with transaction.atomic():
        run = (
            BillingRun.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=run_id)
        )
        if run.status != Status.RUNNING or not run.all_chunks_done():
            return run
        system = Actor.system_for(run.tenant)
        digest = decisions_digest(run)
        summary = run_summary(run)
        bounds = Decision.objects.filter(run=run).aggregate(first=Min("id"), last=Max("id"))
        BillingRun.objects.filter(pk=run_id).update(
            summary=summary,
            digest=digest,
            first_decision_id=bounds["first"],
            last_decision_id=bounds["last"],
        )
        run = transition_apply(
            actor=system,
            model=BillingRun,
            pk=run_id,
            name="complete",
            scope=S.BILLING_RUN_TRIGGER,
            action="RUN_COMPLETED",
            payload={"decisions": run.decisions_count, "open_exceptions": run.open_exceptions},
        )
        RunPayer.objects.filter(run=run).update(active=False)
        if run.mode == BillingRun.Mode.PRODUCTION:
            closing = audit_record(
                tenant=run.tenant,
                actor=system,
                action="RUN_CLOSED",
                obj=run,
                payload={
                    "digest": digest,
                    "decisions": run.decisions_count,
                    "total_charge": summary["total_charge"],
                    "month": run.month,
                    "version": run.version,
                },
            )
            BillingRun.objects.filter(pk=run_id).update(final_hash=closing.hash)
            if run.supersedes_id:
                prior = BillingRun.objects.get(pk=run.supersedes_id)
                if prior.status in BillingRun.DONE:
                    transition_apply(
                        actor=system,
                        model=BillingRun,
                        pk=prior.pk,
                        name="supersede",
                        scope=S.BILLING_RUN_TRIGGER,
                        action="RUN_SUPERSEDED",
                        payload={"by": run.pk},
                    )
        run.refresh_from_db()
    if connection.vendor == "postgresql":
        # A run adds rows by the hundred thousand: fresh statistics keep the screens' and the
        # API's decision queries on their indexes (autovacuum would get there later).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE billing_decision")
    if run.mode == BillingRun.Mode.PRODUCTION:
        from billing.services.exports import roster_write
        from billing.services.package import audit_package_build, audit_package_request

        roster_write(run=run)
        audit_package_request(actor=Actor.system_for(run.tenant), run_id=run.pk, enqueue=not inline)
        if inline:
            audit_package_build(run_id=run.pk)
    log.info(
        "run completed",
        extra={"run": run.pk, "status": run.status, "decisions": run.decisions_count},
    )
    return run


def billing_run_execute(*, run_id: int) -> BillingRun:
    """Run everything in this process (the command's --sync, tests, the demo)."""
    for chunk_id in billing_run_start(run_id=run_id):
        billing_run_process_chunk(chunk_id=chunk_id)
    return billing_run_finalize(run_id=run_id, inline=True)


def billing_run_resume(*, run_id: int) -> int:
    """Queue the chunks of a RUNNING run that are not done (after a worker was lost)."""
    pending = list(RunChunk.objects.filter(run_id=run_id, done=False).values_list("id", flat=True))
    for chunk_id in pending:
        queue.enqueue("billing.tasks.run_chunk", chunk_id)
    if not pending:
        billing_run_finalize(run_id=run_id)
    return len(pending)


def simulations_purge(*, older_than_days: int = 7) -> int:
    """Delete simulation runs (and their decisions) older than a week."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = BillingRun.objects.filter(mode=BillingRun.Mode.SIMULATION, triggered_at__lt=cutoff)
    count = 0
    for run in old:
        with transaction.atomic():
            run.decisions.all().delete()
            run.exceptions.all().delete()
            run.chunks.all().delete()
            run.run_payers.all().delete()
            BillingRun.objects.filter(pk=run.pk).delete()
            count += 1
    return count
