"""Ingestion's dashboard panel (batches in flight and failed) and the batches that wait on a
worker, registered with core's dashboard registries."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.dashboard import Counter, Panel, register_panel, register_waiting_work
from core.labels import label_for
from core.models import Tenant
from ingestion import selectors
from ingestion.models import Batch

RECENT = timedelta(days=30)


def _batches_url(status: str = "") -> str:
    url = reverse("ingestion:batches")
    return f"{url}?status={status}" if status else url


def ingestion_panel(actor: Actor) -> Panel | None:
    """Batches pending, processing and failed lately, and batches by state."""
    if not actor.has(S.INGESTION_READ):
        return None
    batches = selectors.batch_list(actor)
    by_status = dict(
        batches.values_list("status").annotate(n=Count("id")).order_by().values_list("status", "n")
    )
    since = timezone.now() - RECENT
    failed = batches.filter(status=Batch.Status.FAILED, created_at__gte=since).count()
    with_errors = batches.filter(
        status=Batch.Status.COMPLETED_WITH_ERRORS, created_at__gte=since
    ).count()
    Status = Batch.Status
    return Panel(
        title="Ingestion batches",
        url=_batches_url(),
        counters=[
            Counter("pending", by_status.get(Status.PENDING, 0), _batches_url(Status.PENDING)),
            Counter(
                "processing",
                by_status.get(Status.PROCESSING, 0),
                _batches_url(Status.PROCESSING),
                "blue",
            ),
            Counter("failed (30 days)", failed, _batches_url(Status.FAILED), "red"),
            Counter(
                "completed with exceptions (30 days)",
                with_errors,
                _batches_url(Status.COMPLETED_WITH_ERRORS),
                "amber",
            ),
        ],
        chart_title="Batches by state",
        chart=[(label_for(s), by_status[s]) for s in Status.values if by_status.get(s)],
    )


def waiting_batches(tenant: Tenant) -> tuple[int, str]:
    """The tenant's batches a worker must pick up or finish."""
    n = Batch.objects.filter(
        tenant=tenant, status__in=[Batch.Status.PENDING, Batch.Status.PROCESSING]
    ).count()
    return n, "ingestion batch" + ("" if n == 1 else "es") + " pending or processing"


def register() -> None:
    """Called from IngestionConfig.ready()."""
    register_panel("ingestion", 20, ingestion_panel)
    register_waiting_work("ingestion", waiting_batches)
