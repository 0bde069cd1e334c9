"""The comparison CSV of two runs: streamed in constant memory; the download is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from billing import comparison
from billing.comparison import Pair
from core import scopes as S
from core.actors import Actor
from core.phi_reads import PHI_EXPORT, record_phi_access


def comparison_export_rows(
    *, actor: Actor, pair: Pair, filters: dict | None = None
) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and the (lazy) rows of a comparison's changes; member ids: audited download."""
    actor.require(S.BILLING_RUN_VIEW)
    record_phi_access(
        actor,
        PHI_EXPORT,
        pair.run,
        export="comparison",
        # "with" is a Python keyword: passed through a mapping
        **{"with": pair.base.pk, "filters": {k: v for k, v in (filters or {}).items() if v}},
    )
    return comparison.CSV_COLUMNS, comparison.comparison_csv_rows(actor, pair, filters=filters)


def comparison_filename(pair: Pair) -> str:
    """compare-run12-vs-run9-2026-10.csv"""
    return f"compare-run{pair.run.pk}-vs-run{pair.base.pk}-{pair.run.month:%Y-%m}.csv"
