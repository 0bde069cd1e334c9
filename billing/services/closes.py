"""Month close (issue 10): close a payer's month on its reviewed authoritative run; reopen it.

A closed (payer, month) takes no new production run and no regeneration (409). Late facts for
it still flow: the production run of a later, open month writes their retroactive deltas, and
the closed month and its run stay as they were. Reopening needs `billing.run.trigger` and a
reason; it is an override action under that scope, so a tenant that lists `billing.run.trigger`
under dual control has every reopening approved by a second person (triggers and
regenerations themselves never wait for approval).
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import MonthClose, Payer
from billing.selectors import visible_payers
from billing.selectors_close import (
    active_production_run,
    authoritative_run,
    close_preview,
    closed_month,
    month_close_get,
)
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from core.models import OverrideRequest
from core.overrides import (
    OverrideAction,
    OverrideOutcome,
    override_people,
    override_perform,
    register_override,
)
from core.transitions import transition_apply

REOPEN_ACTION = "billing.month_reopen"


def _closed_message(close: MonthClose, code: str) -> str:
    who = close.closed_by.get_username() if close.closed_by else "system"
    return (
        f"{close.month:%Y-%m} is closed for payer {code} (close #{close.pk}, by {who} on "
        f"{timezone.localtime(close.closed_at):%Y-%m-%d}); no production run or regeneration "
        "until the month is reopened."
    )


def refuse_closed_months(tenant_id: int, payers: list[Payer], month: date, *, lock=False) -> None:
    """Refuse (409) a production run or regeneration touching a closed (payer, month).

    With `lock`, the payers' rows are locked first: a close of the same month waits for the
    trigger's transaction (and then sees its run), so the two can never both succeed.
    """
    if lock:
        ids = sorted(p.pk for p in payers)
        list(Payer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    for payer in payers:
        close = closed_month(tenant_id, payer.pk, month)
        if close is not None:
            raise Conflict(
                _closed_message(close, payer.code),
                code="month_closed",
                details={"payer": payer.code, "month": f"{month:%Y-%m}", "month_close": close.pk},
            )


def month_close(
    *,
    actor: Actor,
    payer_code: str,
    month: date,
    note: str = "",
    run_id: int | None = None,
    confirm_open_exceptions: int | None = None,
) -> MonthClose:
    """Close a payer's month on its authoritative run (open exceptions need a confirmation)."""
    actor.require(S.BILLING_RUN_TRIGGER)
    code = (payer_code or "").strip().upper()
    payer = visible_payers(actor).filter(code=code).first()
    if payer is None:
        raise NotFound(f"payer: no payer with code '{payer_code}'.")
    month = month.replace(day=1)
    note = (note or "").strip()
    with transaction.atomic():
        # Serialised with triggers of the same payer (see refuse_closed_months).
        Payer.objects.select_for_update().filter(pk=payer.pk).values("pk").first()
        existing = closed_month(actor.tenant.pk, payer.pk, month)
        if existing is not None:
            raise Conflict(
                f"{month:%Y-%m} is already closed for payer {code} (close #{existing.pk}).",
                code="month_closed",
                details={"month_close": existing.pk},
            )
        busy = active_production_run(actor.tenant.pk, payer.pk, month)
        if busy is not None:
            raise Conflict(
                f"Production run #{busy} for {month:%Y-%m} and payer {code} is queued or "
                "running; wait for it to finish (and review it) before closing the month.",
                details={"run": busy},
            )
        run = authoritative_run(actor.tenant.pk, payer.pk, month)
        if run is None:
            raise Conflict(
                f"{month:%Y-%m} has no completed production run for payer {code}; run it and "
                "review it before closing the month.",
                code="no_authoritative_run",
            )
        if run_id is not None and run.pk != run_id:
            raise Conflict(
                f"run: run #{run_id} is not the authoritative run of {month:%Y-%m} for payer "
                f"{code}; run #{run.pk} is. Review that run and close from it.",
                details={"run": run.pk},
            )
        preview = close_preview(run, payer)
        if preview.open_exceptions:
            n = preview.open_exceptions
            if confirm_open_exceptions != n:
                raise DomainError(
                    f"confirm_open_exceptions: run #{run.pk} still has {n} open exception"
                    f"{'s' if n != 1 else ''} for payer {code}; resolve them, or confirm closing "
                    f"with {n} open.",
                    code="confirm_open_exceptions",
                    details={"open_exceptions": n, "run": run.pk},
                )
            if not note:
                raise DomainError(
                    f"note: say why {month:%Y-%m} closes with {n} open exception"
                    f"{'s' if n != 1 else ''}.",
                    code="note_required",
                )
        try:
            with transaction.atomic():
                close = MonthClose.objects.create(
                    tenant=actor.tenant,
                    payer=payer,
                    month=month,
                    run=run,
                    closed_by=actor.user,
                    note=note,
                    members=preview.members,
                    amount=preview.amount,
                    open_exceptions=preview.open_exceptions,
                )
        except IntegrityError:
            raise Conflict(
                f"{month:%Y-%m} is already closed for payer {code}.", code="month_closed"
            ) from None
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="MONTH_CLOSED",
            obj=close,
            reason=note,
            payload={
                "payer": code,
                "month": month,
                "run": run.pk,
                "run_version": run.version,
                "run_final_hash": run.final_hash,
                "members": preview.members,
                "amount": preview.amount,
                "open_exceptions": preview.open_exceptions,
            },
        )
    return close


def _execute_reopen(*, actor: Actor, payload: dict, reason: str, requested_by, approved_by):
    close = transition_apply(
        actor=actor,
        model=MonthClose,
        pk=payload.get("month_close"),
        name="reopen",
        scope=S.BILLING_RUN_TRIGGER,
        reason=reason,
        reason_required=True,
        action="MONTH_REOPENED",
        payload={
            "payer": payload.get("payer"),
            "month": payload.get("month"),
            "run": payload.get("run"),
            **override_people(requested_by, approved_by),
        },
        kwargs={"by": requested_by, "reason": reason, "approved_by": approved_by},
    )
    return {"month_close": close.pk}


def _describe_reopen(payload: dict) -> str:
    return (
        f"Reopen {payload.get('month')} for payer {payload.get('payer')} "
        f"(month close #{payload.get('month_close')})"
    )


def register() -> None:
    """Offer reopening to core's dual-control machinery (scope billing.run.trigger)."""
    register_override(
        OverrideAction(
            name=REOPEN_ACTION,
            scope=S.BILLING_RUN_TRIGGER,
            execute=_execute_reopen,
            describe=_describe_reopen,
        )
    )


def month_reopen(*, actor: Actor, close_id: int, reason: str) -> OverrideOutcome:
    """Reopen a closed month now, or file it for a second person when under dual control."""
    actor.require(S.BILLING_RUN_TRIGGER)
    close = month_close_get(actor, close_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason: say why the month is reopened.", code="reason_required")
    if close.status != MonthClose.Status.CLOSED:
        raise Conflict(
            f"Month close {close.pk} ({close.month:%Y-%m}, payer {close.payer.code}) was already "
            "reopened.",
            code="transition_not_allowed",
            details={"current": close.status, "allowed": []},
        )
    pending = (
        OverrideRequest.objects.filter(
            tenant=actor.tenant,
            action=REOPEN_ACTION,
            status=OverrideRequest.Status.PENDING,
            payload__month_close=close.pk,
        )
        .values_list("pk", flat=True)
        .first()
    )
    if pending is not None:
        raise Conflict(
            f"Reopening {close.month:%Y-%m} for payer {close.payer.code} already waits for "
            f"approval (override request #{pending}).",
            details={"override_request": pending},
        )
    payload = {
        "month_close": close.pk,
        "payer": close.payer.code,
        "month": f"{close.month:%Y-%m}",
        "run": close.run_id,
    }
    return override_perform(actor=actor, action=REOPEN_ACTION, payload=payload, reason=reason)
