"""Billing's event types (issue 19): a run completed, failed or was superseded.

Each type is written by the audit entry of its transition (`RUN_COMPLETED`, `RUN_FAILED`,
`RUN_SUPERSEDED`), in the transaction of the change. Payloads carry the run's ids, state,
counts and amounts; never a member, and not the failure text (it may quote data).
"""

from __future__ import annotations

from core.event_types import object_link, user_of
from core.events import EventContext, EventType, event_types_register

RUN = "billing.BillingRun"


def _run(ctx: EventContext):
    from billing.models import BillingRun

    obj = ctx.obj
    if isinstance(obj, BillingRun):
        return obj
    return BillingRun.objects.get(pk=ctx.object_id)


def _base(run) -> dict:
    return {
        "run": run.pk,
        "month": run.month.isoformat(),
        "mode": run.mode,
        "version": run.version,
        "status": run.status,
    }


def completed_payload(ctx: EventContext) -> dict:
    """The completed run: its state, counts and total charge (the summary's figures)."""
    run = _run(ctx)
    summary = run.summary or {}
    return {
        **_base(run),
        "supersedes": run.supersedes_id,
        "members": run.members_total,
        "decisions": run.decisions_count,
        "open_exceptions": run.open_exceptions,
        "billable_members": summary.get("billable_members", 0),
        "total_charge": summary.get("total_charge", "0.00"),
    }


def failed_payload(ctx: EventContext) -> dict:
    """The failed run: its state and how far it came (not the failure text)."""
    run = _run(ctx)
    return {
        **_base(run),
        "members": run.members_total,
        "members_done": run.members_done,
        "chunks_total": run.chunks_total,
        "chunks_done": run.chunks_done,
    }


def superseded_payload(ctx: EventContext) -> dict:
    """The run that a newer version of the same month replaced."""
    run = _run(ctx)
    return {**_base(run), "superseded_by": ctx.audit_payload.get("by")}


def failed_title(event) -> str:
    p = event.payload
    return f"Billing run #{p.get('run')} for {p.get('month', '')[:7]} failed"


TYPES = [
    EventType(
        name="billing.run.completed",
        description="A billing run finished evaluating its month (with or without open "
        "exceptions); production and simulation runs alike.",
        object_type=RUN,
        actions=("RUN_COMPLETED",),
        payload=completed_payload,
        sample={
            "run": 42,
            "month": "2026-09-01",
            "mode": "PRODUCTION",
            "version": 1,
            "status": "COMPLETED",
            "supersedes": None,
            "members": 1200,
            "decisions": 1260,
            "open_exceptions": 0,
            "billable_members": 1150,
            "total_charge": "356500.00",
        },
    ),
    EventType(
        name="billing.run.failed",
        description="A billing run stopped: a chunk failed every allowed attempt.",
        object_type=RUN,
        actions=("RUN_FAILED",),
        payload=failed_payload,
        recipients=user_of(
            "billing.BillingRun",
            "triggered_by",
            "The user who triggered the run (none for a run a schedule triggered).",
        ),
        title=failed_title,
        link=object_link("billing:run"),
        sample={
            "run": 43,
            "month": "2026-09-01",
            "mode": "PRODUCTION",
            "version": 1,
            "status": "FAILED",
            "members": 1200,
            "members_done": 800,
            "chunks_total": 3,
            "chunks_done": 2,
        },
    ),
    EventType(
        name="billing.run.superseded",
        description="A completed production run was replaced by its regeneration (a newer "
        "version of the same month completed).",
        object_type=RUN,
        actions=("RUN_SUPERSEDED",),
        payload=superseded_payload,
        sample={
            "run": 42,
            "month": "2026-09-01",
            "mode": "PRODUCTION",
            "version": 1,
            "status": "SUPERSEDED",
            "superseded_by": 44,
        },
    ),
]


def register() -> None:
    """Add billing's types to the event catalogue."""
    event_types_register("billing", TYPES)
