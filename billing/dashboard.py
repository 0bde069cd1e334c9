"""Billing's dashboard panel (runs in flight, failures, open exceptions) and the runs that wait
on a worker, registered with core's dashboard registries."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from billing import selectors
from billing.models import BillingRun, RunException
from core import scopes as S
from core.actors import Actor
from core.dashboard import Counter, Panel, register_panel, register_waiting_work
from core.labels import label_for
from core.models import Tenant

RECENT = timedelta(days=30)


def _runs_url(**query) -> str:
    url = reverse("billing:runs")
    return url + "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else url


def billing_panel(actor: Actor) -> Panel | None:
    """Runs queued, running and failed lately, open exceptions, and runs by state."""
    if not actor.has(S.BILLING_RUN_VIEW):
        return None
    visible = BillingRun.objects.filter(pk__in=selectors.run_list(actor).values("pk"))
    by_status = dict(
        visible.values_list("status").annotate(n=Count("id")).order_by().values_list("status", "n")
    )
    failed = visible.filter(
        status=BillingRun.Status.FAILED, triggered_at__gte=timezone.now() - RECENT
    ).count()
    payer_ids = list(selectors.visible_payers(actor).values_list("id", flat=True))
    open_exceptions = RunException.objects.filter(
        tenant=actor.tenant, status=RunException.Status.OPEN, run__in=visible.values("pk")
    ).filter(Q(payer__isnull=True) | Q(payer_id__in=payer_ids))
    Status = BillingRun.Status
    return Panel(
        title="Billing runs",
        url=_runs_url(),
        counters=[
            Counter("queued", by_status.get(Status.QUEUED, 0), _runs_url(status=Status.QUEUED)),
            Counter(
                "running",
                by_status.get(Status.RUNNING, 0),
                _runs_url(status=Status.RUNNING),
                "blue",
            ),
            Counter("failed (30 days)", failed, _runs_url(status=Status.FAILED), "red"),
            Counter(
                "open exceptions",
                open_exceptions.count(),
                _runs_url(status=Status.COMPLETED_WITH_EXCEPTIONS),
                "amber",
            ),
        ],
        chart_title="Runs by state",
        chart=[(label_for(s), by_status[s]) for s in Status.values if by_status.get(s)],
    )


def waiting_runs(tenant: Tenant) -> tuple[int, str]:
    """The tenant's runs a worker must pick up or finish."""
    n = BillingRun.objects.filter(
        tenant=tenant, status__in=[BillingRun.Status.QUEUED, BillingRun.Status.RUNNING]
    ).count()
    return n, "billing run" + ("" if n == 1 else "s") + " queued or running"


def register() -> None:
    """Called from BillingConfig.ready()."""
    register_panel("billing", 10, billing_panel)
    register_waiting_work("billing", waiting_runs)
