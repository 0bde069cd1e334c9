"""Reads of month closes: is a (payer, month) closed, what a close would record, the list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from billing.models import BillingRun, MonthClose, Payer, RunChunk, RunException, RunPayer
from billing.selectors import _payer_ids, authoritative_runs, run_summary
from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound

CLOSED = MonthClose.Status.CLOSED


def closed_month(tenant_id: int, payer_id: int, month: date) -> MonthClose | None:
    """The CLOSED close of a payer's month, if any (no grant filter: services use it)."""
    return (
        MonthClose.objects.filter(
            tenant_id=tenant_id, payer_id=payer_id, month=month.replace(day=1), status=CLOSED
        )
        .select_related("payer", "closed_by")
        .first()
    )


def month_is_closed(tenant_id: int, payer_id: int, month: date) -> bool:
    """Whether a payer's month is closed (no new production run, no regeneration)."""
    return MonthClose.objects.filter(
        tenant_id=tenant_id, payer_id=payer_id, month=month.replace(day=1), status=CLOSED
    ).exists()


def month_close_list(
    actor: Actor, *, payer: str = "", month: date | None = None, status: str = ""
) -> QuerySet[MonthClose]:
    """Closes (current and reopened) of visible payers, newest month first."""
    actor.require(S.BILLING_RUN_VIEW)
    qs = MonthClose.objects.filter(tenant=actor.tenant, payer_id__in=_payer_ids(actor))
    if payer:
        qs = qs.filter(payer__code=payer.strip().upper())
    if month:
        qs = qs.filter(month=month.replace(day=1))
    if status:
        qs = qs.filter(status=status.strip().upper())
    return qs.select_related(
        "payer", "run", "closed_by", "reopened_by", "reopen_approved_by"
    ).order_by("-month", "payer__code", "-id")


def month_close_get(actor: Actor, close_id: int) -> MonthClose:
    """One close of a visible payer, or 404."""
    close = month_close_list(actor).filter(pk=close_id).first()
    if close is None:
        raise NotFound(f"Month close {close_id} does not exist.")
    return close


@dataclass(frozen=True)
class ClosePreview:
    """What closing a payer's month on a run would record (and the confirmation states)."""

    payer: Payer
    month: date
    run: BillingRun
    members: int
    amount: Decimal
    open_exceptions: int

    @property
    def confirm_text(self) -> str:
        """The confirmation, in numbers."""
        from core.templatetags.present import money, number

        text = (
            f"Close {self.month:%Y-%m} for {self.payer.code}: {number(self.members)} members, "
            f"{money(self.amount)} billed"
        )
        if self.open_exceptions:
            n = self.open_exceptions
            text += f", {number(n)} open exception{'' if n == 1 else 's'}"
        return text + "; regeneration will be refused"


def close_preview(run: BillingRun, payer: Payer) -> ClosePreview:
    """Members, amount billed and open exceptions of one payer in a run."""
    members = RunChunk.objects.filter(run=run, payer=payer).aggregate(n=Sum("members"))["n"] or 0
    by_payer = (run.summary or {}).get("by_payer") or {}
    if payer.code in by_payer:
        amount = Decimal(by_payer[payer.code]["amount"])
    else:
        amount = Decimal(run_summary(run, [payer.pk])["total_charge"])
    open_exceptions = (
        RunException.objects.filter(run=run, status=RunException.Status.OPEN)
        .filter(Q(payer=payer) | Q(payer__isnull=True))
        .count()
    )
    return ClosePreview(payer, run.month, run, members, amount, open_exceptions)


def authoritative_run(tenant_id: int, payer_id: int, month: date) -> BillingRun | None:
    """The run a close reviews: the newest completed, not superseded production run."""
    return authoritative_runs(tenant_id, payer_id, month.replace(day=1)).first()


def active_production_run(tenant_id: int, payer_id: int, month: date) -> int | None:
    """Id of a QUEUED or RUNNING production run of the payer's month (a regeneration)."""
    return (
        RunPayer.objects.filter(
            tenant_id=tenant_id,
            payer_id=payer_id,
            month=month.replace(day=1),
            mode=BillingRun.Mode.PRODUCTION,
            active=True,
        )
        .values_list("run_id", flat=True)
        .first()
    )


def run_close_panel(actor: Actor, run: BillingRun, run_payers: list | None = None) -> list[dict]:
    """Per visible payer of a production run: its close, or what closing it would record.

    Set-based: the closes, the authoritative runs, the members and the open exceptions of all
    the run's payers in one query each (the page shows it on every tab; per payer it was four
    queries, 80 for a run of 20 payers). The figures are close_preview's. `run_payers`: the
    run's RunPayer rows with their payers, in payer order, when the caller has read them.
    """
    if run.mode != BillingRun.Mode.PRODUCTION:
        return []
    visible = set(_payer_ids(actor))
    if run_payers is None:
        run_payers = run.run_payers.select_related("payer").order_by("payer__code")
    run_payers = [rp for rp in run_payers if rp.payer_id in visible]
    if not run_payers:
        return []
    month = run.month.replace(day=1)
    closes: dict[int, MonthClose] = {}
    for close in MonthClose.objects.filter(
        tenant_id=actor.tenant.pk,
        payer_id__in=[rp.payer_id for rp in run_payers],
        month=month,
        status=CLOSED,
    ).select_related("payer", "closed_by"):
        closes.setdefault(close.payer_id, close)  # one at most (a constraint); the model's order
    open_ids = [rp.payer_id for rp in run_payers if rp.payer_id not in closes]
    previews = {}
    if open_ids and run.status in BillingRun.DONE:
        mine = [
            p
            for p, current in _authoritative_run_ids(actor.tenant.pk, open_ids, month).items()
            if current == run.pk
        ]
        previews = _close_previews(run, [rp.payer for rp in run_payers if rp.payer_id in mine])
    return [
        {
            "payer": rp.payer,
            "close": closes.get(rp.payer_id),
            "preview": previews.get(rp.payer_id),
        }
        for rp in run_payers
    ]


def _authoritative_run_ids(tenant_id: int, payer_ids: list[int], month: date) -> dict[int, int]:
    """authoritative_run's id for each of these payers (those with one), in one query."""
    rows = (
        RunPayer.objects.filter(
            payer_id__in=payer_ids,
            run__tenant_id=tenant_id,
            run__mode=BillingRun.Mode.PRODUCTION,
            run__status__in=BillingRun.DONE,
            run__month=month,
        )
        .order_by("payer_id", "-run__triggered_at", "-run_id")
        .values_list("payer_id", "run_id")
    )
    found: dict[int, int] = {}
    for payer_id, run_id in rows:
        found.setdefault(payer_id, run_id)  # the newest first, as authoritative_runs orders
    return found


def _close_previews(run: BillingRun, payers: list[Payer]) -> dict[int, ClosePreview]:
    """close_preview of several payers of one run: two queries for all of them."""
    if not payers:
        return {}
    ids = [p.pk for p in payers]
    members = dict(
        RunChunk.objects.filter(run=run, payer_id__in=ids)
        .values("payer_id")
        .annotate(n=Sum("members"))
        .order_by()
        .values_list("payer_id", "n")
    )
    exceptions = dict(
        RunException.objects.filter(run=run, status=RunException.Status.OPEN)
        .filter(Q(payer_id__in=ids) | Q(payer__isnull=True))
        .values("payer_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("payer_id", "n")
    )
    by_payer = (run.summary or {}).get("by_payer") or {}
    out = {}
    for payer in payers:
        if payer.code in by_payer:
            amount = Decimal(by_payer[payer.code]["amount"])
        else:
            amount = Decimal(run_summary(run, [payer.pk])["total_charge"])
        open_exceptions = exceptions.get(payer.pk, 0) + exceptions.get(None, 0)
        out[payer.pk] = ClosePreview(
            payer, run.month, run, members.get(payer.pk) or 0, amount, open_exceptions
        )
    return out


def closed_payers_by_run(actor: Actor, runs) -> dict[int, list[str]]:
    """For production runs, the codes of their visible payers whose month is closed."""
    runs = [r for r in runs if r.mode == BillingRun.Mode.PRODUCTION]
    if not runs:
        return {}
    pairs = set(
        MonthClose.objects.filter(
            tenant=actor.tenant,
            status=CLOSED,
            month__in={r.month for r in runs},
            payer_id__in=_payer_ids(actor),
        ).values_list("payer_id", "month")
    )
    if not pairs:
        return {}
    out: dict[int, list[str]] = {}
    for run in runs:
        codes = sorted(
            rp.payer.code for rp in run.run_payers.all() if (rp.payer_id, run.month) in pairs
        )
        if codes:
            out[run.pk] = codes
    return out
