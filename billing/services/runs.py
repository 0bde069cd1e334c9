"""Billing runs (SPEC 4, Runs): trigger, regenerate, cancel, start (planning), run inline, resume.

A run is planned into chunks of one payer's members (`billing.services.chunks` evaluates them)
and completed by `billing.services.finalize`.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from billing.engine.types import Code
from billing.models import (
    BillingRun,
    Payer,
    RunChunk,
    RunException,
    RunPayer,
)
from billing.selectors import authoritative_runs
from billing.services.chunks import billing_run_process_chunk, member_ranges, payer_member_ids
from billing.services.closes import refuse_closed_months
from billing.services.finalize import billing_run_finalize
from billing.services.rules import rule_version_for_month
from core import queue
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from core.selectors import restrict_to_grants
from core.transitions import transition_apply

log = logging.getLogger("healthbill.billing")
Status = BillingRun.Status


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
    if mode == BillingRun.Mode.PRODUCTION:
        refuse_closed_months(actor.tenant.pk, selected, month)  # 409: reopen the month first
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
        if mode == BillingRun.Mode.PRODUCTION:  # again, under the payers' locks (a racing close)
            refuse_closed_months(actor.tenant.pk, selected, month, lock=True)
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


# --- planning -------------------------------------------------------------------------------


def _plan_payer(run: BillingRun, payer_id: int, size: int) -> tuple[list[tuple], int]:
    """A payer's first chunks and its member count, in one pass over its member ids.

    A payer with more than BILLING_CHUNK_MEASURE_FROM members gets only its probe chunks
    (BILLING_CHUNK_PROBES of BILLING_CHUNK_PROBE members, one per worker): the first to finish
    sizes the rest from its measured cost (`chunks._plan_rest`). Smaller payers are cut in
    chunks of BILLING_CHUNK_SIZE, as measuring would cost more than it saves.
    """
    probe, probes = settings.BILLING_CHUNK_PROBE, settings.BILLING_CHUNK_PROBES
    head: list[int] = []  # the first ids, enough for the probe chunks

    def ids():
        for member_id in payer_member_ids(run, payer_id):  # one pass over the ids
            if len(head) < probe * probes:
                head.append(member_id)
            yield member_id

    fixed = list(member_ranges(ids(), size))
    count = sum(members for _, _, members in fixed)
    if settings.BILLING_CHUNK_SECONDS <= 0 or count <= settings.BILLING_CHUNK_MEASURE_FROM:
        return fixed, count
    return list(member_ranges(head, probe)), count


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
            ranges, count = _plan_payer(run, rp.payer_id, size)
            total += count
            chunks.extend(
                RunChunk(
                    run=run,
                    payer_id=rp.payer_id,
                    index=index,
                    first_member=first,
                    last_member=last,
                    members=members,
                )
                for index, (first, last, members) in enumerate(ranges)
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


def billing_run_execute(*, run_id: int) -> BillingRun:
    """Run everything in this process (the command's --sync, tests, the demo)."""
    pending, seen = billing_run_start(run_id=run_id), set()
    while pending:
        for chunk_id in pending:
            billing_run_process_chunk(chunk_id=chunk_id, enqueue=False)
        seen.update(pending)
        # the probe chunks of a big payer planned its remaining chunks (each runs once here)
        pending = [
            pk
            for pk in RunChunk.objects.filter(run_id=run_id, done=False)
            .order_by("id")
            .values_list("id", flat=True)
            if pk not in seen
        ]
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
