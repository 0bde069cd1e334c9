"""Run exceptions: resolving one re-evaluates the run's status."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from billing.models import BillingRun, RunException
from billing.selectors import exception_get
from core import scopes as S
from core.actors import Actor
from core.transitions import transition_apply


def run_exception_resolve(*, actor: Actor, exception_id: int, resolution: str) -> RunException:
    """Resolve with a required note; the run is COMPLETED once nothing is left open."""
    exception_get(actor, exception_id)  # 404 for another tenant's or a payer not granted
    with transaction.atomic():
        exc = transition_apply(
            actor=actor,
            model=RunException,
            pk=exception_id,
            name="resolve",
            scope=S.BILLING_EXCEPTION_RESOLVE,
            reason=resolution,
            reason_required=True,
            action="RUN_EXCEPTION_RESOLVED",
            kwargs={"by": actor.user, "resolution": (resolution or "").strip()},
        )
        BillingRun.objects.filter(pk=exc.run_id).update(open_exceptions=F("open_exceptions") - 1)
        run = BillingRun.objects.get(pk=exc.run_id)
        if run.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS and run.no_open_exceptions():
            transition_apply(
                actor=actor,
                model=BillingRun,
                pk=run.pk,
                name="exceptions_resolved",
                scope=S.BILLING_EXCEPTION_RESOLVE,
                action="RUN_EXCEPTIONS_RESOLVED",
            )
    return exc
