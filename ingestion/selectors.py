"""Reads of ingestion, filtered by tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.phi_reads import PHI_VIEW, record_phi_access
from ingestion.models import Artifact, Batch, BatchRecord


def artifact_list(actor: Actor) -> QuerySet[Artifact]:
    """The tenant's uploaded files, newest first."""
    actor.require(S.INGESTION_READ)
    return Artifact.objects.filter(tenant=actor.tenant).select_related("uploaded_by")


def artifact_get(actor: Actor, pk: int) -> Artifact:
    """One artifact of the tenant, or 404."""
    artifact = artifact_list(actor).filter(pk=pk).first()
    if artifact is None:
        raise NotFound(f"Artifact {pk} does not exist.")
    return artifact


def batch_list(actor: Actor, *, status: str = "", kind: str = "") -> QuerySet[Batch]:
    """The tenant's batches, newest first, optionally by status and kind."""
    actor.require(S.INGESTION_READ)
    qs = Batch.objects.filter(tenant=actor.tenant).select_related("artifact", "created_by")
    if status:
        qs = qs.filter(status=status.upper())
    if kind:
        qs = qs.filter(kind=kind.upper())
    return qs


def batch_get(actor: Actor, pk: int) -> Batch:
    """One batch of the tenant, or 404."""
    batch = batch_list(actor).filter(pk=pk).first()
    if batch is None:
        raise NotFound(f"Batch {pk} does not exist.")
    return batch


def record_list(actor: Actor, batch: Batch, *, status: str = "") -> QuerySet[BatchRecord]:
    """A batch's records in row order, optionally by status."""
    actor.require(S.INGESTION_READ)
    qs = BatchRecord.objects.filter(batch=batch, tenant=actor.tenant)
    if status:
        qs = qs.filter(status=status.upper())
    return qs.order_by("row_number")


def record_list_read(actor: Actor, batch: Batch, *, status: str = "") -> QuerySet[BatchRecord]:
    """A batch's records as a page lists them (screen and API): their data is PHI, audited."""
    qs = record_list(actor, batch, status=status)
    record_phi_access(actor, PHI_VIEW, batch, listing="records", filtered=bool(status))
    return qs


def status_counts(actor: Actor, batch: Batch) -> dict[str, int]:
    """How many records of the batch are in each status (for filter tabs)."""
    from django.db.models import Count

    rows = record_list(actor, batch).values("status").annotate(n=Count("id")).order_by()
    counts = dict.fromkeys(BatchRecord.Status.values, 0)
    counts.update({r["status"]: r["n"] for r in rows})
    return counts
