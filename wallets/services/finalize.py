"""Finalisation of a prepaid run: counters tied out, estimates, completion, recurring successor."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.transitions import state_reload, transition_apply
from wallets.models import PrepaidBillingRun, PrepaidRunChunk, RatedItem, WalletTransaction

log = logging.getLogger("healthbill.wallets")
Status = PrepaidBillingRun.Status
SUCCESSOR_TIME = time(2, 0, tzinfo=UTC)  # recurring runs start at 02:00 UTC on their day


def _tie_out(run: PrepaidBillingRun) -> dict:
    """Counters recomputed from the rows the run wrote (a re-executed chunk double-counts none).

    The money comes from the run's ledger rows: they include the NOT_BILLED items of earlier
    runs this run billed (issue 18), which stay with the run that rated them."""
    items = RatedItem.objects.filter(run=run).aggregate(n=Count("id"))
    money = WalletTransaction.objects.filter(run=run, item__isnull=False).aggregate(
        out=Sum("amount", filter=Q(amount__lt=0)),
        back=Sum("amount", filter=Q(amount__gt=0)),
    )
    return {
        "rated_count": items["n"] or 0,
        "debited_total": -(money["out"] or Decimal("0.00")),
        "credited_total": money["back"] or Decimal("0.00"),
        "errors_count": run.errors.count(),
    }


def _summary(run: PrepaidBillingRun) -> dict:
    """What the run says beyond its counters: the items it rated and left NOT_BILLED because
    the active wallet definition does not list their cause (issue 18)."""
    summary = dict(run.summary or {})
    if run.debit_causes is None:
        return summary
    held = RatedItem.objects.filter(run=run, state=RatedItem.State.NOT_BILLED).aggregate(
        n=Count("id"), total=Sum("amount")
    )
    summary["not_billed_items"] = held["n"] or 0
    summary["not_billed_amount"] = f"{held['total'] or Decimal(0):.2f}"
    if not run.debits_prepaid_billing:
        code = run.wallet_definition.code if run.wallet_definition_id else "?"
        summary["not_debited"] = (
            f"Prepaid billing is not a debit cause of the active wallet definition {code}: "
            "items were rated and left not billed."
        )
    return summary


def _account_ids(run: PrepaidBillingRun) -> list[int]:
    ids: list[int] = []
    for chunk_ids in PrepaidRunChunk.objects.filter(run=run).values_list("account_ids", flat=True):
        ids.extend(chunk_ids)
    return sorted(ids)


def _estimate(run: PrepaidBillingRun) -> int:
    if run.estimation == PrepaidBillingRun.Estimation.SKIP:
        return 0
    from wallets.services.estimates import wallets_estimate

    return wallets_estimate(
        tenant_id=run.tenant_id,
        as_of=run.as_of,
        mode=run.estimation,
        account_ids=_account_ids(run),
    )


def _schedule_successor(run: PrepaidBillingRun, system: Actor) -> PrepaidBillingRun | None:
    """The next run of a recurring one (DRAFT) and the django-q2 schedule that starts it."""
    if not run.recurring_interval_days or PrepaidBillingRun.objects.filter(previous=run).exists():
        return None
    from django_q.models import Schedule

    as_of = run.as_of + timedelta(days=run.recurring_interval_days)
    when = datetime.combine(as_of, SUCCESSOR_TIME)
    successor = PrepaidBillingRun.objects.create(
        tenant_id=run.tenant_id,
        as_of=as_of,
        accounts=run.accounts,
        subscriptions=run.subscriptions,
        classifications=run.classifications,
        estimation=run.estimation,
        recurring_interval_days=run.recurring_interval_days,
        previous=run,
        scheduled_for=when,
        triggered_by=run.triggered_by,
    )
    Schedule.objects.create(
        name=f"wallets.prepaid_run.{successor.pk}",
        func="wallets.tasks.prepaid_run_start",
        args=str(successor.pk),
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=when,
    )
    audit_record(
        tenant=run.tenant,
        actor=system,
        action="PrepaidRun.schedule",
        obj=successor,
        payload={"previous": run.pk, "as_of": as_of, "scheduled_for": when.isoformat()},
    )
    return successor


def prepaid_run_finalize(*, run_id: int) -> PrepaidBillingRun:
    """Complete the run once every chunk is done: estimates, status, recurring successor."""
    with transaction.atomic():
        run = (
            PrepaidBillingRun.objects.select_for_update(of=("self",))
            .select_related("tenant", "wallet_definition")
            .get(pk=run_id)
        )
        if run.status != Status.IDENTIFICATION_AND_RATING or not run.all_chunks_done():
            return run
        system = Actor.system_for(run.tenant)
        counters = _tie_out(run)
        estimated = _estimate(run)
        PrepaidBillingRun.objects.filter(pk=run_id).update(
            wallets_estimated=estimated, summary=_summary(run), **counters
        )
        run = transition_apply(
            actor=system,
            model=PrepaidBillingRun,
            pk=run_id,
            name="complete",
            scope=S.WALLETS_RUN_TRIGGER,
            action="PrepaidRun.complete",
            payload={
                "rated": counters["rated_count"],
                "debited": counters["debited_total"],
                "credited": counters["credited_total"],
                "invalid": run.invalid_count,
                "errors": counters["errors_count"],
                "wallets_estimated": estimated,
            },
        )
        _schedule_successor(run, system)
        state_reload(run)
    log.info("prepaid run completed", extra={"run": run.pk, "status": run.status})
    return run


def prepaid_run_fail(*, run_id: int, error: str) -> PrepaidBillingRun:
    """The run stops FAILED with a message (no PHI); what it debited stays with its items."""
    with transaction.atomic():
        run = (
            PrepaidBillingRun.objects.select_for_update(of=("self",))
            .select_related("tenant", "wallet_definition")
            .get(pk=run_id)
        )
        if run.status not in (Status.DRAFT, Status.IDENTIFICATION_AND_RATING):
            return run
        system = Actor.system_for(run.tenant)
        PrepaidBillingRun.objects.filter(pk=run_id).update(summary=_summary(run), **_tie_out(run))
        run = transition_apply(
            actor=system,
            model=PrepaidBillingRun,
            pk=run_id,
            name="fail",
            scope=S.WALLETS_RUN_TRIGGER,
            action="PrepaidRun.fail",
            kwargs={"message": error[:1000]},
        )
        _schedule_successor(run, system)
        state_reload(run)
    log.warning("prepaid run failed", extra={"run": run.pk})
    return run


def prepaid_chunk_retryable(*, chunk_id: int) -> bool:
    """The chunk is not done, its run is rating, and it has attempts left."""
    chunk = PrepaidRunChunk.objects.select_related("run").filter(pk=chunk_id).first()
    return bool(
        chunk
        and not chunk.done
        and chunk.run.status == Status.IDENTIFICATION_AND_RATING
        and chunk.attempts < getattr(settings, "PREPAID_CHUNK_ATTEMPTS", 3)
    )


def prepaid_run_chunk_failed(*, chunk_id: int, error: str) -> PrepaidBillingRun | None:
    """After the last allowed attempt of a chunk (each counted as it starts) the run fails."""
    chunk = PrepaidRunChunk.objects.select_related("run__tenant").get(pk=chunk_id)
    attempts = chunk.attempts
    if attempts < getattr(settings, "PREPAID_CHUNK_ATTEMPTS", 3):
        return None
    if chunk.run.status != Status.IDENTIFICATION_AND_RATING:
        return None
    return prepaid_run_fail(
        run_id=chunk.run_id, error=f"chunk {chunk.index} failed {attempts} times: {error[:300]}"
    )
