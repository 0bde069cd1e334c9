"""Chunk execution of a billing run: load one chunk's facts, evaluate, write its decisions once.

Each chunk evaluates its members and writes their decisions in one transaction and is marked
done in the same transaction, so a chunk executed again after a worker died writes nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, F, Func, Max, Sum
from django.utils import timezone

from billing.engine import (
    Assertion,
    MemberFacts,
    Override,
    Rules,
    ServiceEvent,
    evaluate,
    retro_delta,
)
from billing.engine.months import add_months, month_bounds
from billing.engine.types import Code
from billing.models import (
    BillingRun,
    Decision,
    EligibilityAssertion,
    Member,
    MemberMonthOverride,
    RunChunk,
    RunException,
    RunPayer,
    ServiceDeliveryEvent,
)
from billing.selectors import RETRO, authoritative_runs
from billing.services.finalize import billing_run_fail
from billing.services.rules import engine_rules, rule_version_for_month
from core import queue
from core.bulk import fetch_rows, insert_rows
from core.node import worker_label

log = logging.getLogger("healthbill.billing")
Status = BillingRun.Status
OUT_OF_WINDOW_LOOKBACK = 24  # months checked for late facts beyond the retro window


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


# Facts repeat the same few dates and arrival instants (the rows of one file share them), and
# the recorded inputs print each of them once per assertion or service: a run of 100,000
# members formatted ~1.5 million of them. Values read for a chunk are shared objects that
# format themselves once; they are dates and datetimes in every other respect.
class _Day(date):
    __slots__ = ("_iso",)

    def isoformat(self) -> str:
        return self._iso


class _Instant(datetime):
    __slots__ = ("_iso",)

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        if sep == "T" and timespec == "auto":
            return self._iso
        return super().isoformat(sep, timespec)


_DAYS: dict[date, _Day] = {}


def _day(value: date | None) -> _Day | None:
    """The shared `_Day` equal to `value` (a dict lookup once it was seen)."""
    day = _DAYS.get(value)
    if day is None:
        if value is None:
            return None
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        day = _Day(value.year, value.month, value.day)
        day._iso = date.isoformat(value)
        _DAYS[value] = day
    return day


def _instant(at: datetime) -> _Instant:
    shared = _Instant(
        at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond, at.tzinfo
    )
    shared._iso = datetime.isoformat(at)
    return shared


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
            at = seen[value] = _instant(_EPOCH + timedelta(microseconds=value))
        return at

    return micros, when


def fact_queries(run: BillingRun, payer_id: int, lo: int, hi: int, months: list[date]):
    """The set-based reads of a chunk's facts: assertions, services, birth dates, overrides.

    `bench billing` times the same reads for its floor.
    """
    cutoff = run.evidence_cutoff
    received, _ = _arrival()
    first = min(months)
    last = month_bounds(max(months))[1]
    assertions = (
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
        .order_by()
    )
    services = (
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
        .order_by()
    )
    births = Member.objects.filter(pk__gte=lo, pk__lte=hi, tenant_id=run.tenant_id).values_list(
        "id", "birth_date"
    )
    overrides = MemberMonthOverride.objects.filter(
        tenant_id=run.tenant_id,
        payer_id=payer_id,
        member_id__gte=lo,
        member_id__lte=hi,
        month__in=months,
        active=True,
        approved=True,
    ).values_list("id", "member_id", "month", "outcome", "rate")
    return assertions, services, births, overrides


def _load_facts(run: BillingRun, payer_id: int, lo: int, hi: int, months: list[date]):
    """Assertions, services, birth dates and overrides of the chunk's members, set-based."""
    _, when = _arrival()
    a_query, s_query, b_query, o_query = fact_queries(run, payer_id, lo, hi, months)
    assertions: dict[int, list] = defaultdict(list)
    for m, a_id, kind, file_date, at, status, effective, term, code, suffix in fetch_rows(a_query):
        assertions[m].append(
            Assertion(
                a_id, kind, _day(file_date), when(at), status, _day(effective), _day(term), code,
                suffix,
            )
        )  # fmt: skip
    services: dict[int, list] = defaultdict(list)
    for member_id, s_id, day, code, at in fetch_rows(s_query):
        services[member_id].append(ServiceEvent(s_id, _day(day), code, when(at)))
    births = dict(b_query)
    overrides = {(m, month): Override(pk, outcome, rate) for pk, m, month, outcome, rate in o_query}
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
            evaluate(facts(member_id, run.month), rules, run.month, cutoff, lean=True),
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
            now = evaluate(facts(member_id, past.month), past.rules, past.month, cutoff, lean=True)
            retro = retro_delta(now, billed[past.month].get(member_id, Decimal("0.00")))
            if retro is not None:
                row(member_id, past.month, retro, past.rules)
        for past in outside:
            if last_arrival <= past.since:
                continue
            now = evaluate(facts(member_id, past.month), past.rules, past.month, cutoff, lean=True)
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


# --- chunk planning: ranges of a payer's members, sized from the measured cost ------------------


def member_ranges(ids, size: int):
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


def payer_member_ids(run: BillingRun, payer_id: int, after: int | None = None):
    """The ids of the payer's members the run decides (streamed, sorted, only ids kept)."""
    qs = EligibilityAssertion.objects.filter(
        tenant_id=run.tenant_id, payer_id=payer_id, received_at__lte=run.evidence_cutoff
    )
    if after is not None:
        qs = qs.filter(member_id__gt=after)
    return qs.order_by("member_id").values_list("member_id", flat=True).distinct().iterator(20000)


def measured_chunk_size(seconds: float, members: int) -> int:
    """Members per chunk so that a chunk takes about BILLING_CHUNK_SECONDS, from a measured
    chunk (bounded: small chunks cost their fixed overhead, big ones memory)."""
    low, high = settings.BILLING_CHUNK_MIN, settings.BILLING_CHUNK_MAX
    if members <= 0 or seconds <= 0:
        return high
    return max(low, min(high, int(settings.BILLING_CHUNK_SECONDS * members / seconds)))


def _plan_rest(run: BillingRun, chunk: RunChunk, seconds: float) -> list[int]:
    """After a payer's first (probe) chunks: the rest of its members, in chunks sized from
    what this chunk measured. Once per payer: its RunPayer row is the planner's lock."""
    RunPayer.objects.select_for_update().filter(run=run, payer_id=chunk.payer_id).first()
    planned = RunChunk.objects.filter(run=run, payer_id=chunk.payer_id).aggregate(
        last=Max("last_member"), index=Max("index")
    )
    size = measured_chunk_size(seconds, chunk.members)
    rest = [
        RunChunk(
            run=run,
            payer_id=chunk.payer_id,
            index=planned["index"] + 1 + k,
            first_member=first,
            last_member=last,
            members=count,
        )
        for k, (first, last, count) in enumerate(
            member_ranges(payer_member_ids(run, chunk.payer_id, after=planned["last"]), size)
        )
    ]
    if not rest:
        return []
    RunChunk.objects.bulk_create(rest)
    BillingRun.objects.filter(pk=run.pk).update(chunks_total=F("chunks_total") + len(rest))
    log.info(
        "run chunks planned",
        extra={"run": run.pk, "chunks": len(rest), "chunk_members": size},
    )
    return list(
        RunChunk.objects.filter(run=run, payer_id=chunk.payer_id, index__gt=planned["index"])
        .order_by("index")
        .values_list("id", flat=True)
    )


def billing_run_process_chunk(*, chunk_id: int, enqueue: bool = True) -> int:
    """Evaluate one chunk and write its decisions, once; returns members processed.

    A payer's first chunks measure the cost per member; the first of them to finish plans the
    payer's remaining members in chunks of about BILLING_CHUNK_SECONDS, in its transaction,
    and queues them after the commit (`enqueue`; billing_run_execute runs them itself).
    """
    with transaction.atomic():
        chunk = (
            RunChunk.objects.select_for_update(of=("self",)).select_related("run").get(pk=chunk_id)
        )
        run = chunk.run
        if chunk.done or run.status != Status.RUNNING:
            return 0
        rp = RunPayer.objects.select_related("rule_version").get(run=run, payer_id=chunk.payer_id)
        rules = engine_rules(rp.rule_version)
        started = time.perf_counter()
        decisions, problems = _evaluate_chunk(run, chunk, rules)
        insert_rows(Decision, DECISION_FIELDS, decisions)
        insert_rows(RunException, (*EXCEPTION_FIELDS, "resolution"), [(*p, "") for p in problems])
        seconds = time.perf_counter() - started
        RunChunk.objects.filter(pk=chunk.pk).update(
            done=True, done_at=timezone.now(), attempts=chunk.attempts + 1, worker=worker_label()
        )
        planned = RunChunk.objects.filter(run=run).aggregate(members=Sum("members"))["members"]
        more = _plan_rest(run, chunk, seconds) if (planned or 0) < run.members_total else []
        BillingRun.objects.filter(pk=run.pk).update(
            members_done=F("members_done") + chunk.members,
            chunks_done=F("chunks_done") + 1,
            decisions_count=F("decisions_count") + len(decisions),
            exceptions_count=F("exceptions_count") + len(problems),
            open_exceptions=F("open_exceptions") + len(problems),
        )
        if more and enqueue:
            transaction.on_commit(
                lambda: [queue.enqueue("billing.tasks.run_chunk", pk) for pk in more]
            )
    log.info(
        "run chunk done",
        extra={
            "run": run.pk,
            "chunk": chunk.index,
            "members": chunk.members,
            "decisions": len(decisions),
            "seconds": round(seconds, 3),
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
        return billing_run_fail(
            run=run, message=f"chunk {chunk.index} failed {attempts} times: {error[:500]}"
        )
