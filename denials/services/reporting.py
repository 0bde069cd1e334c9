"""Claims reporting (issue 13 item 10): reconciliation by payer and month, receivables aging.

The figures come from the reporting views (`denials.reporting_sql`): refreshed by
`reporting_views_refresh` (the nightly job, `manage.py refresh_reporting_views`), read here
narrowed to the actor's tenant and payer grants. Between refreshes they show the state of the
last refresh, whose time every answer carries.
"""

# ruff: noqa: S608 - table names and SQL fragments are this module's constants; values
# always go as query parameters.

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.reporting_db import reporting_cursor
from core.selectors import granted_ids
from denials.reporting_overrides import COLUMNS as OVERRIDE_COLUMNS
from denials.reporting_overrides import OVERRIDES, overrides_select
from denials.reporting_sql import (
    META,
    OPEN,
    OPEN_COLUMNS,
    RECON,
    RECON_COLUMNS,
    open_select,
    recon_select,
)

log = logging.getLogger("healthbill.jobs")
CENT = Decimal("0.01")
MONEY_FIELDS = ("billed", "paid", "adjusted", "patient_responsibility", "written_off", "open")
# (label, first day, last day or None): days since the claim went out to the payer
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("over 120", 121, None),
)


def _money(value) -> Decimal:
    # SQLite sums decimals as floats: back to cents (exact well beyond any claim total)
    if value is None:
        return Decimal("0.00")
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(CENT)


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def reporting_views_refresh() -> dict:
    """Refresh the views (PostgreSQL: CONCURRENTLY; SQLite: refill the tables); rows and time."""
    vendor = connection.vendor
    started = time.monotonic()
    counts = {}
    with transaction.atomic(), connection.cursor() as cur:
        for name, select, columns in (
            (RECON, recon_select(vendor), RECON_COLUMNS),
            (OPEN, open_select(vendor), OPEN_COLUMNS),
            (OVERRIDES, overrides_select(vendor), OVERRIDE_COLUMNS),  # issue 14 item 6
        ):
            if vendor == "postgresql":
                cur.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}")
            else:
                cur.execute(f"DELETE FROM {name}")
                cur.execute(f"INSERT INTO {name} ({', '.join(columns)}) {select}")
            cur.execute(f"SELECT COUNT(*) FROM {name}")
            counts[name] = cur.fetchone()[0]
            cur.execute(f"DELETE FROM {META} WHERE name = %s", [name])
            cur.execute(
                f"INSERT INTO {META} (name, refreshed_at, row_count) VALUES (%s, %s, %s)",
                [name, timezone.now().isoformat(), counts[name]],
            )
    seconds = round(time.monotonic() - started, 3)
    log.info(
        "reporting views refreshed",
        extra={"event": "reporting_refreshed", "seconds": seconds, **counts},
    )
    return {
        "reconciliation_rows": counts[RECON],
        "aging_rows": counts[OPEN],
        "override_rows": counts[OVERRIDES],
        "seconds": seconds,
    }


def reporting_refreshed_at() -> datetime | None:
    """When the views were last refreshed (None: never), as the reporting replica has it."""
    with reporting_cursor() as cur:
        cur.execute(f"SELECT MIN(refreshed_at) FROM {META}")
        row = cur.fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def _payers(actor: Actor, payer: str = "") -> dict[int, Payer]:
    qs = Payer.objects.filter(tenant=actor.tenant)
    ids = granted_ids(actor, Payer)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    if payer:
        qs = qs.filter(code__iexact=payer)
    return {p.pk: p for p in qs}


def _rows(table: str, columns: tuple[str, ...], actor: Actor, payer_ids: list[int], order: str):
    if not payer_ids:
        return []
    marks = ", ".join(["%s"] * len(payer_ids))
    with reporting_cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(columns)} FROM {table} "
            f"WHERE tenant_id = %s AND payer_id IN ({marks}) ORDER BY {order}",
            [actor.tenant.pk, *payer_ids],
        )
        return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


@dataclass
class ReconRow:
    """One payer and service month: claims, billed, and where the money went."""

    payer: str
    payer_name: str
    month: date
    claims: int
    billed: Decimal
    paid: Decimal
    adjusted: Decimal
    patient_responsibility: Decimal
    written_off: Decimal
    open: Decimal


def reconciliation(
    actor: Actor,
    *,
    payer: str = "",
    month_from: date | None = None,
    month_to: date | None = None,
) -> list[ReconRow]:
    """Reconciliation rows the actor may see (payer grants), oldest month first."""
    actor.require(S.CLAIMS_VIEW)
    payers = _payers(actor, payer)
    out = []
    for r in _rows(RECON, RECON_COLUMNS, actor, list(payers), "month, payer_id"):
        month = _day(r["month"])
        if (month_from and month < month_from) or (month_to and month > month_to):
            continue
        p = payers[r["payer_id"]]
        out.append(
            ReconRow(
                payer=p.code,
                payer_name=p.name,
                month=month,
                claims=int(r["claims"]),
                billed=_money(r["billed"]),
                paid=_money(r["paid"]),
                adjusted=_money(r["adjusted"]),
                patient_responsibility=_money(r["patient_responsibility"]),
                written_off=_money(r["written_off"]),
                open=_money(r["open_amount"]),
            )
        )
    return out


def reconciliation_totals(rows: list[ReconRow]) -> dict:
    """The column totals of reconciliation rows."""
    totals = {f: sum((getattr(r, f) for r in rows), Decimal("0.00")) for f in MONEY_FIELDS}
    return {"claims": sum(r.claims for r in rows), **totals}


@dataclass
class AgingRow:
    """One payer's open receivables cut into age buckets (days since the claim went out)."""

    payer: str
    payer_name: str
    buckets: dict[str, Decimal] = field(default_factory=dict)
    claims: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal("0.00"))


def bucket_of(days: int) -> str:
    """The aging bucket of a receivable this many days old (negative: the first)."""
    for label, _low, high in AGING_BUCKETS:
        if high is None or days <= high:
            return label
    raise AssertionError("the last bucket has no upper bound")  # pragma: no cover


def aging(actor: Actor, *, as_of: date | None = None, payer: str = "") -> list[AgingRow]:
    """Open receivables per visible payer, by age bucket as of a day (default today)."""
    actor.require(S.CLAIMS_VIEW)
    as_of = as_of or timezone.localdate()
    payers = _payers(actor, payer)
    labels = [label for label, _, _ in AGING_BUCKETS]
    rows: dict[int, AgingRow] = {}
    for r in _rows(OPEN, OPEN_COLUMNS, actor, list(payers), "payer_id, base_date"):
        p = payers[r["payer_id"]]
        row = rows.setdefault(
            p.pk,
            AgingRow(
                payer=p.code,
                payer_name=p.name,
                buckets={label: Decimal("0.00") for label in labels},
                claims=dict.fromkeys(labels, 0),
            ),
        )
        label = bucket_of((as_of - _day(r["base_date"])).days)
        row.buckets[label] += _money(r["open_amount"])
        row.claims[label] += int(r["claims"])
    return sorted(rows.values(), key=lambda r: r.payer)
