"""Override-rate reporting (issue 14 item 6), read from the override reporting view.

Forced matches, force-retries, manual flips, COB overrides and reopenings per month, per user
(who asked) and per payer, each as a rate of its volume (`denials.reporting_overrides`). The
view is refreshed with the claims reporting views; every answer carries the refresh time.
Reading needs audit.read (seed 002: "audit.read: review all overrides"); per-payer grants narrow
the rows to the granted payers (rows whose payer is unknown only show to unrestricted members).
"""

# ruff: noqa: S608 - table names are this module's constants; values go as query parameters.

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError
from core.reporting_db import reporting_cursor
from core.selectors import granted_ids
from denials.reporting_overrides import COLUMNS, KINDS, OVERRIDES

RATE_PLACES = Decimal("0.0001")


def rate_of(overrides: int, volume: int) -> Decimal | None:
    """overrides / volume to 4 places; None when there is no volume (shown as a dash)."""
    if not volume:
        return None
    return (Decimal(overrides) / Decimal(volume)).quantize(RATE_PLACES)


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def audit_query(month: date, kind: str, user: str = "", payer: str = "") -> str:
    """The audit list's filters for a row's entries (action and month, user and payer if any)."""
    params = {"action": KINDS[kind][1], "month": f"{month:%Y-%m}"}
    if user:
        params["user"] = user
    if payer:
        params["payer"] = payer
    return urlencode(params)


@dataclass
class OverrideRow:
    """One figure of the report: a month and kind, for a user and/or a payer (or all of them)."""

    month: date
    kind: str
    overrides: int
    volume: int
    user: str = ""
    payer: str = ""

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind][0]

    @property
    def volume_label(self) -> str:
        return KINDS[self.kind][2]

    @property
    def rate(self) -> Decimal | None:
        return rate_of(self.overrides, self.volume)

    @property
    def rate_text(self) -> str:
        """The rate in percent, a dash without volume."""
        rate = self.rate
        return "—" if rate is None else f"{rate * 100:.1f} %"

    @property
    def audit_query(self) -> str:
        return audit_query(self.month, self.kind, self.user, self.payer)


@dataclass
class OverrideReport:
    """The rows of a report: detail (user x payer), by payer, by user, and month totals."""

    rows: list[OverrideRow]
    by_payer: list[OverrideRow]
    by_user: list[OverrideRow]
    totals: list[OverrideRow]


def visible_payers(actor: Actor) -> list[str]:
    """Codes of the payers the actor's grants let them see (all of the tenant's without one)."""
    qs = Payer.objects.filter(tenant=actor.tenant)
    ids = granted_ids(actor, Payer)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return sorted(qs.values_list("code", flat=True))


def _read(actor: Actor, month_from: date | None, month_to: date | None, kind: str) -> list[dict]:
    sql = f"SELECT {', '.join(COLUMNS)} FROM {OVERRIDES} WHERE tenant_id = %s"
    params: list = [actor.tenant.pk]
    if kind:
        sql += " AND kind = %s"
        params.append(kind)
    with reporting_cursor() as cur:
        cur.execute(sql, params)
        rows = [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]
    out = []
    for r in rows:  # month bounds in Python: the column is text on SQLite, date on PostgreSQL
        r["month"] = _day(r["month"])
        if (month_from and r["month"] < month_from) or (month_to and r["month"] > month_to):
            continue
        out.append(r)
    return out


def override_report(
    actor: Actor,
    *,
    month_from: date | None = None,
    month_to: date | None = None,
    kind: str = "",
    payer: str = "",
    user: str = "",
) -> OverrideReport:
    """Override counts, volumes and rates the actor may see, newest month first.

    By payer: the payer's overrides over the payer's volume. By user: the user's overrides over
    the month's volume of the payers shown (their share, as in the forced-match report). Detail
    rows: a user's overrides for one payer over that payer's volume.
    """
    actor.require(S.AUDIT_READ)
    if month_from and month_to and month_from > month_to:
        raise DomainError(
            "month_to: must not be before month_from.",
            details={"month_to": ["must not be before month_from"]},
        )
    restricted = granted_ids(actor, Payer) is not None
    codes = set(visible_payers(actor))
    if payer:
        codes = {c for c in codes if c.lower() == payer.strip().lower()}

    def shown(code: str) -> bool:
        return code in codes or (code == "" and not restricted and not payer)

    volume: dict[tuple, int] = defaultdict(int)  # (month, kind, payer)
    detail: dict[tuple, int] = defaultdict(int)  # (month, kind, user, payer)
    for r in _read(actor, month_from, month_to, kind):
        if not shown(r["payer"]):
            continue
        key = (r["month"], r["kind"])
        if r["username"]:
            if user and r["username"].lower() != user.strip().lower():
                continue
            detail[(*key, r["username"], r["payer"])] += int(r["overrides"])
        volume[(*key, r["payer"])] += int(r["volume"])

    month_volume: dict[tuple, int] = defaultdict(int)
    for (m, k, _p), n in volume.items():
        month_volume[(m, k)] += n
    per_payer: dict[tuple, int] = defaultdict(int)
    per_user: dict[tuple, int] = defaultdict(int)
    per_month: dict[tuple, int] = defaultdict(int)
    for (m, k, u, p), n in detail.items():
        per_payer[(m, k, p)] += n
        per_user[(m, k, u)] += n
        per_month[(m, k)] += n

    def order(row: OverrideRow):
        return (-row.month.toordinal(), list(KINDS).index(row.kind), row.user, row.payer)

    rows = [
        OverrideRow(m, k, n, volume.get((m, k, p), 0), user=u, payer=p)
        for (m, k, u, p), n in detail.items()
    ]
    payer_keys = set(volume) | set(per_payer)
    by_payer = [
        OverrideRow(m, k, per_payer.get((m, k, p), 0), volume.get((m, k, p), 0), payer=p)
        for (m, k, p) in payer_keys
        if not user or per_payer.get((m, k, p))
    ]
    by_user = [
        OverrideRow(m, k, n, month_volume.get((m, k), 0), user=u)
        for (m, k, u), n in per_user.items()
    ]
    month_keys = set(month_volume) | set(per_month)
    totals = [
        OverrideRow(m, k, per_month.get((m, k), 0), month_volume.get((m, k), 0))
        for (m, k) in month_keys
        if not user or per_month.get((m, k))
    ]
    return OverrideReport(
        rows=sorted(rows, key=order),
        by_payer=sorted(by_payer, key=order),
        by_user=sorted(by_user, key=order),
        totals=sorted(totals, key=order),
    )


CSV_HEADER = ["month", "kind", "payer", "user", "overrides", "volume", "rate"]


def csv_rows(data: OverrideReport):
    """The CSV lines of a report: each payer's figures, then its users', month by month."""
    detail: dict = defaultdict(list)
    for r in data.rows:
        detail[(r.month, r.kind, r.payer)].append(r)
    for p in data.by_payer:
        for r in [p, *detail.get((p.month, p.kind, p.payer), [])]:
            yield [
                f"{r.month:%Y-%m}",
                r.kind,
                r.payer,
                r.user,
                r.overrides,
                r.volume,
                "" if r.rate is None else str(r.rate),
            ]
