"""Reads of prepaid runs (tenant-filtered, `wallets.view`): runs, errors, items.

`wallets.selectors` covers wallets and the catalog; the screens and the API read runs here.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from wallets.models import PrepaidBillingRun, PrepaidRunError, RatedItem


def prepaid_run_list(*, actor: Actor, status: str = "") -> QuerySet[PrepaidBillingRun]:
    """The tenant's prepaid runs, newest first (filter by status)."""
    actor.require(S.WALLETS_VIEW)
    runs = PrepaidBillingRun.objects.filter(tenant=actor.tenant).select_related(
        "triggered_by", "successor", "previous", "wallet_definition"
    )
    return runs.filter(status=status) if status else runs


def prepaid_run_get(*, actor: Actor, pk: int) -> PrepaidBillingRun:
    """One prepaid run of the tenant, or 404."""
    run = prepaid_run_list(actor=actor).filter(pk=pk).first()
    if run is None:
        raise NotFound(f"id: no prepaid run {pk}.")
    return run


def prepaid_run_errors(*, actor: Actor, run_id: int) -> QuerySet[PrepaidRunError]:
    """A run's per-service (or per-account) errors, in the order they were recorded."""
    run = prepaid_run_get(actor=actor, pk=run_id)
    return PrepaidRunError.objects.filter(run=run).select_related("account", "service")


def prepaid_run_items(
    *, actor: Actor, run_id: int, service_id: int | None = None
) -> QuerySet[RatedItem]:
    """The items a run rated (optionally of one service)."""
    run = prepaid_run_get(actor=actor, pk=run_id)
    items = RatedItem.objects.filter(run=run, tenant=actor.tenant).select_related(
        "account", "service", "component"
    )
    return items.filter(service_id=service_id) if service_id is not None else items


def prepaid_run_not_billed(*, actor: Actor, run_id: int) -> tuple[int, Decimal]:
    """How many of a run's items were left NOT_BILLED, and their signed total (one query)."""
    run = prepaid_run_get(actor=actor, pk=run_id)
    totals = RatedItem.objects.filter(
        run=run, tenant=actor.tenant, state=RatedItem.State.NOT_BILLED
    ).aggregate(count=Count("id"), total=Sum("amount"))
    return totals["count"], totals["total"] or Decimal("0.00")
