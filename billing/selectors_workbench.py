"""Reads for the billing workbench screens: members in scope per payer, the runs list export."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from billing.models import BillingRun, EligibilityAssertion
from billing.selectors import run_list, run_summary_for, visible_payers
from core import scopes as S
from core.actors import Actor


def members_in_scope_by_payer(actor: Actor) -> dict[str, int]:
    """{payer code: members a run would decide now}, for the actor's active visible payers.

    The same scope as run planning: every member with an assertion for the payer received so
    far (the month does not narrow it; a member who left is decided NOT_BILLED_TERMINATED).
    """
    actor.require(S.BILLING_RUN_VIEW)
    payers = dict(visible_payers(actor).filter(active=True).values_list("id", "code"))
    # A distinct count over every assertion costs seconds at a million members: keep it until a
    # new assertion arrives (the newest id is one index probe) or a minute has passed.
    newest = (
        EligibilityAssertion.objects.filter(tenant=actor.tenant)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    key = f"billing:scope-counts:{actor.tenant.pk}:{newest}:{','.join(map(str, sorted(payers)))}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    counts = dict.fromkeys(payers.values(), 0)
    rows = (
        EligibilityAssertion.objects.filter(tenant=actor.tenant, payer_id__in=list(payers))
        .values("payer_id")
        .annotate(n=Count("member_id", distinct=True))
        .order_by()
    )
    for row in rows:
        counts[payers[row["payer_id"]]] = row["n"]
    counts = dict(sorted(counts.items()))
    cache.set(key, counts, 60)
    return counts


RUN_EXPORT_HEADER = [
    "run",
    "month",
    "payers",
    "mode",
    "version",
    "status",
    "members_total",
    "members_done",
    "decisions",
    "open_exceptions",
    "total_charge",
    "triggered_at",
    "triggered_by",
]


def run_export_rows(actor: Actor, runs) -> Iterator[list]:
    """One CSV row per run of a (filtered) run list, naming only the actor's visible payers."""
    visible = set(visible_payers(actor).values_list("id", flat=True))
    for run in runs.prefetch_related("run_payers__payer").iterator(chunk_size=500):
        summary = run_summary_for(actor, run) or {}
        codes = sorted(rp.payer.code for rp in run.run_payers.all() if rp.payer_id in visible)
        yield [
            run.pk,
            f"{run.month:%Y-%m}",
            " ".join(codes),
            run.mode,
            run.version,
            run.status,
            run.members_total,
            run.members_done,
            run.decisions_count,
            run.open_exceptions,
            summary.get("total_charge", ""),
            run.triggered_at.isoformat(),
            run.triggered_by.username if run.triggered_by else "system",
        ]


RETRO_CLASSES = ("BILLED_RETROACTIVE", "NOT_BILLED_RETROACTIVE")


def split_total(summary: dict | None) -> tuple[Decimal, Decimal]:
    """(the month's own charge, retroactive corrections) of a run summary."""
    summary = summary or {}
    total = Decimal(summary.get("total_charge") or "0")
    by_class = summary.get("by_class") or {}
    amounts = [Decimal(by_class[c]["amount"]) for c in RETRO_CLASSES if c in by_class]
    retro = sum(amounts, Decimal(0))
    return total - retro, retro


def totals_by_month_split(actor: Actor, *, months: int = 12) -> list[tuple[date, Decimal, Decimal]]:
    """Per month (oldest first): completed production runs' own charge and retroactive part."""
    from billing.engine.months import add_months

    first = add_months(timezone.localdate().replace(day=1), -(months - 1))
    own: dict[date, Decimal] = defaultdict(Decimal)
    retro: dict[date, Decimal] = defaultdict(Decimal)
    done = run_list(actor).filter(
        mode=BillingRun.Mode.PRODUCTION, status__in=BillingRun.DONE, month__gte=first
    )
    for run in done:
        o, r = split_total(run_summary_for(actor, run))
        own[run.month] += o
        retro[run.month] += r
    return [
        (m, own.get(m, Decimal(0)), retro.get(m, Decimal(0)))
        for m in (add_months(first, i) for i in range(months))
    ]
