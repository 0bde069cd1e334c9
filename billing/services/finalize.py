"""Finalisation of a billing run: digest, summary, audit closure, supersession, roster, package."""

from __future__ import annotations

import hashlib
import logging

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef

from billing.hooks import run_completed_notify
from billing.models import BillingRun, Decision, Member, Payer, RuleVersion, RunPayer
from billing.pages import decision_page_marks_write
from billing.selectors import run_summary
from core import queue
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict
from core.transitions import state_reload, transition_apply

log = logging.getLogger("healthbill.billing")
Status = BillingRun.Status


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


def decisions_dangling(run: BillingRun) -> dict[str, int]:
    """Decisions of the run whose tenant, payer, member or rule version is not there (or is
    another tenant's), by reference; set-based, as the decision table has no foreign keys."""
    decisions = Decision.objects.filter(run_id=run.pk)
    tenant_id = run.tenant_id
    counts = {
        "tenant": decisions.exclude(tenant_id=tenant_id).count(),
        "payer": decisions.filter(
            ~Exists(Payer.objects.filter(pk=OuterRef("payer_id"), tenant_id=tenant_id))
        ).count(),
        "member": decisions.filter(
            ~Exists(Member.objects.filter(pk=OuterRef("member_id"), tenant_id=tenant_id))
        ).count(),
        "rule_version": decisions.filter(
            ~Exists(
                RuleVersion.objects.filter(
                    pk=OuterRef("rule_version_id"), payer_id=OuterRef("payer_id")
                )
            )
        ).count(),
    }
    return {ref: n for ref, n in counts.items() if n}


def billing_run_fail(*, run: BillingRun, message: str, reason: str = "") -> BillingRun:
    """Fail a run through its state machine (audited as RUN_FAILED, with `reason` when given) and
    free its payers for a new trigger. Call inside the caller's transaction."""
    run = transition_apply(
        actor=Actor.system_for(run.tenant),
        model=BillingRun,
        pk=run.pk,
        name="fail",
        scope=S.BILLING_RUN_TRIGGER,
        action="RUN_FAILED",
        reason=reason,
        kwargs={"message": message},
    )
    RunPayer.objects.filter(run=run).update(active=False)
    return run


def billing_run_finalize(*, run_id: int, inline: bool = False) -> BillingRun:
    """Complete the run once every chunk is done: summary, digest, audit closure, supersession."""
    # Every chunk asks; only one that finds every chunk done goes on (the last to commit always
    # does). The lock below waits for every chunk still writing decisions: taken after each
    # chunk, it had each worker wait for the other's writes.
    unlocked = BillingRun.objects.get(pk=run_id)
    if unlocked.status != Status.RUNNING or not unlocked.all_chunks_done():
        return unlocked
    with transaction.atomic():
        run = (
            BillingRun.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=run_id)
        )
        if run.status != Status.RUNNING or not run.all_chunks_done():
            return run
        system = Actor.system_for(run.tenant)
        dangling = decisions_dangling(run)
        if dangling:
            # the check the decision table's foreign keys would have made row by row
            run = billing_run_fail(
                run=run,
                message="decisions reference rows that do not exist: "
                + ", ".join(f"{n} by {ref}" for ref, n in dangling.items()),
            )
            log.error("run failed its reference check", extra={"run": run.pk, **dangling})
            return run
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
        state_reload(run)
        if run.mode == BillingRun.Mode.PRODUCTION:
            # In the completion's transaction: a completion that dies before its commit leaves
            # no half of the other apps' writes behind, and its retry runs them again.
            run_completed_notify(run)
    if connection.vendor == "postgresql":
        # A run adds rows by the hundred thousand: fresh statistics keep the screens' and the
        # API's decision queries on their indexes (autovacuum would get there later).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE billing_decision")
    # Where each page of its decision lists starts (issue 16): off the run's own clock, in the
    # queue (a screen opened before the marks are written computes them itself, once).
    if inline:
        decision_page_marks_write(run)
    else:
        queue.enqueue("billing.tasks.write_decision_page_marks", run.pk)
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


def billing_run_completed_replay(*, run_id: int) -> BillingRun:
    """Run the completion callbacks again for a complete production run (they are idempotent)."""
    with transaction.atomic():
        run = BillingRun.objects.select_for_update(of=("self",)).get(pk=run_id)
        if run.mode != BillingRun.Mode.PRODUCTION or run.status not in BillingRun.DONE:
            raise Conflict(
                f"Run #{run.pk} is {run.mode} and {run.status}: only a complete production run "
                "tells other apps it completed.",
                code="run_not_complete",
            )
        run_completed_notify(run)
    return run
