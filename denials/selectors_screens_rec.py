"""Reads for the remittance and receivables screens and the forced-match report (issue 13).

Everything is narrowed to the actor's tenant and, when payer grants narrow the member, to the
granted payers (SPEC 2). Reads the models directly; the posting part's selectors may replace
these at merge without changing the screens.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.selectors import granted_ids
from denials.balances import with_amounts
from denials.models import Claim, Remittance, RemittanceClaim

MatchState = RemittanceClaim.MatchState
MATCHED = (MatchState.MATCHED_AUTO, MatchState.MATCHED_FORCED)
RATE_PLACES = Decimal("0.0001")


def _narrow(actor: Actor, qs: QuerySet, payer_field: str) -> QuerySet:
    """Tenant and payer grants (None: no grant narrows the member)."""
    actor.require(S.CLAIMS_VIEW)
    qs = qs.filter(tenant=actor.tenant)
    ids = granted_ids(actor, Payer)
    return qs if ids is None else qs.filter(**{f"{payer_field}__in": ids})


# --- remittances --------------------------------------------------------------------------------


def remittance_screen_list(
    actor: Actor, *, trace: str = "", payer: str = "", state: str = ""
) -> QuerySet[Remittance]:
    """Visible remittances, newest first, with claim counts by match state and the paid total."""
    qs = _narrow(actor, Remittance.objects.all(), "payer_id").select_related("payer")
    if trace:
        qs = qs.filter(trace_number__icontains=trace.strip())
    if payer:
        qs = qs.filter(payer__code=payer.strip())
    qs = qs.annotate(
        claim_count=Count("claims", distinct=True),
        waiting_count=Count(
            "claims", filter=Q(claims__match_state=MatchState.UNMATCHED), distinct=True
        ),
        forced_count=Count(
            "claims", filter=Q(claims__match_state=MatchState.MATCHED_FORCED), distinct=True
        ),
        paid_total=Sum("claims__paid_amount"),
    )
    if state == "WAITING":
        qs = qs.filter(waiting_count__gt=0)
    return qs.order_by("-received_at", "-id")


def remittance_screen_get(actor: Actor, pk: int) -> Remittance:
    """One visible remittance, or NotFound (another tenant's or payer's alike)."""
    found = _narrow(actor, Remittance.objects.all(), "payer_id").select_related("payer")
    try:
        return found.get(pk=pk)
    except Remittance.DoesNotExist:
        raise NotFound(f"Remittance {pk} was not found.") from None


def remittance_claim_rows(actor: Actor, remittance: Remittance) -> list[RemittanceClaim]:
    """The CLPs of a visible remittance in file order, each with its matched claim (if any)."""
    actor.require(S.CLAIMS_VIEW)
    return list(
        RemittanceClaim.objects.filter(tenant=actor.tenant, remittance=remittance)
        .select_related("claim", "matched_by")
        .order_by("row_number", "id")
    )


def remittance_claim_screen_get(actor: Actor, pk: int) -> RemittanceClaim:
    """One visible remittance claim (a queue line), or NotFound."""
    qs = _narrow(actor, RemittanceClaim.objects.all(), "remittance__payer_id")
    try:
        return qs.select_related("remittance__payer", "claim").get(pk=pk)
    except RemittanceClaim.DoesNotExist:
        raise NotFound(f"Remittance line {pk} was not found.") from None


# --- the receivables queue ----------------------------------------------------------------------


@dataclass
class CandidateView:
    """A ranked candidate as the queue shows it: the claim (with its balance) and the evidence."""

    rank: int
    claim: Claim | None
    claim_id: int
    score: Decimal | None
    agreed: list[str]
    disagreed: list[str]
    signals: list[dict]


@dataclass
class QueueRow:
    """A remittance claim waiting for a person, with its candidates side by side."""

    line: RemittanceClaim
    candidates: list[CandidateView] = field(default_factory=list)


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        return None


def _claim_key(entry: dict) -> int | None:
    """The candidate's claim id: matching.Scored.evidence() says "claim" ("claim_id" taken too)."""
    value = entry.get("claim", entry.get("claim_id"))
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() and len(text) <= 18 else None


def _candidate_entries(line: RemittanceClaim) -> list[dict]:
    """The stored ranked candidates ({"claim", "score", "agreed", "disagreed", "signals"})."""
    entries = line.candidates if isinstance(line.candidates, list) else []
    return [e for e in entries if isinstance(e, dict) and _claim_key(e) is not None]


def queue_screen_list(actor: Actor, *, payer: str = "") -> QuerySet[RemittanceClaim]:
    """Remittance claims waiting in the receivables queue, oldest remittance first."""
    qs = _narrow(actor, RemittanceClaim.objects.all(), "remittance__payer_id").filter(
        match_state=MatchState.UNMATCHED
    )
    if payer:
        qs = qs.filter(remittance__payer__code=payer.strip())
    return qs.select_related("remittance__payer").order_by(
        "remittance__received_at", "remittance_id", "row_number", "id"
    )


def queue_rows(actor: Actor, lines: list[RemittanceClaim], limit: int = 5) -> list[QueueRow]:
    """Each waiting line with its best `limit` candidates, claims loaded with their balances.

    A candidate claim the member may not see (payer grants) or that no longer exists is shown
    by its evidence only."""
    wanted = {_claim_key(e) for line in lines for e in _candidate_entries(line)[:limit]}
    claims = Claim.objects.filter(tenant=actor.tenant, pk__in=wanted)
    ids = granted_ids(actor, Payer)
    if ids is not None:
        claims = claims.filter(payer_id__in=ids)
    by_id = {c.pk: c for c in with_amounts(claims).select_related("member", "payer")}
    rows = []
    for line in lines:
        row = QueueRow(line)
        for i, entry in enumerate(_candidate_entries(line)[:limit], start=1):
            cid = _claim_key(entry)
            signals = [s for s in entry.get("signals") or [] if isinstance(s, dict)]
            row.candidates.append(
                CandidateView(
                    rank=i,
                    claim=by_id.get(cid),
                    claim_id=cid,
                    score=_decimal(entry.get("score")),
                    agreed=[str(s) for s in entry.get("agreed") or []],
                    disagreed=[str(s) for s in entry.get("disagreed") or []],
                    signals=signals,
                )
            )
        rows.append(row)
    return rows


def claim_for_force_match(
    actor: Actor, payer_id: int, *, number: str = "", pk: int | None = None
) -> Claim:
    """A visible claim of the line's payer, by number (typed) or id (a candidate card)."""
    qs = _narrow(actor, Claim.objects.all(), "payer_id").filter(payer_id=payer_id)
    found = qs.filter(number=number.strip()) if number else qs.filter(pk=pk)
    claim = found.first()
    if claim is None:
        what = f"'{number.strip()}'" if number else str(pk)
        raise NotFound(f"claim: no claim {what} of this payer was found.")
    return claim


def waiting_count(actor: Actor) -> int:
    """How many remittance claims wait in the queue (0 without the view scope)."""
    if not actor.has(S.CLAIMS_VIEW):
        return 0
    return queue_screen_list(actor).count()


# --- forced-match report ------------------------------------------------------------------------


def months_back(today: date, n: int) -> date:
    """The first day of the month n-1 months before today's (n=12: a year of months)."""
    index = today.year * 12 + today.month - 1 - (n - 1)
    return date(index // 12, index % 12 + 1, 1)


def _rate(forced: int, matched: int) -> Decimal:
    if not matched:
        return Decimal("0").quantize(RATE_PLACES)
    return (Decimal(forced) / Decimal(matched)).quantize(RATE_PLACES)


def _as_date(value) -> date:
    return value if not hasattr(value, "date") else value.date()


def forced_match_report(
    actor: Actor, *, month: date | None = None, since: date | None = None
) -> list[dict]:
    """Forced-match rate per month (by when the line was matched), by user and by payer.

    A month's rate is its force-matched lines over all its matched lines (automatic and forced).
    By payer: the same within the payer. By user: the lines that user force-matched, over all
    the month's matched lines (their share of the month's matches). Lines unmatched since are
    not counted. Newest month first."""
    qs = _narrow(actor, RemittanceClaim.objects.all(), "remittance__payer_id").filter(
        match_state__in=MATCHED, matched_at__isnull=False
    )
    if month is not None:
        qs = qs.filter(matched_at__year=month.year, matched_at__month=month.month)
    elif since is not None:
        qs = qs.filter(matched_at__date__gte=since)
    base = qs.order_by().annotate(m=TruncMonth("matched_at"))
    months: dict[date, dict] = {}
    per_payer = base.values_list(
        "m", "remittance__payer__code", "remittance__payer__name", "match_state"
    ).annotate(n=Count("id"))
    payers: dict[date, dict[str, dict]] = defaultdict(dict)
    for m, code, name, state, n in per_payer:
        key = _as_date(m)
        total = months.setdefault(key, {"matched": 0, "forced": 0})
        entry = payers[key].setdefault(
            code, {"payer": code, "name": name, "matched": 0, "forced": 0}
        )
        entry["matched"] += n
        total["matched"] += n
        if state == MatchState.MATCHED_FORCED:
            entry["forced"] += n
            total["forced"] += n
    per_user = (
        base.filter(match_state=MatchState.MATCHED_FORCED)
        .values_list("m", "matched_by__username")
        .annotate(n=Count("id"))
    )
    users: dict[date, list[dict]] = defaultdict(list)
    for m, username, n in per_user:
        users[_as_date(m)].append({"user": username or "(removed user)", "forced": n})
    out = []
    for key in sorted(months, reverse=True):
        total = months[key]
        by_user = sorted(users[key], key=lambda u: (-u["forced"], u["user"]))
        for u in by_user:
            u["rate"] = _rate(u["forced"], total["matched"])
        by_payer = sorted(payers[key].values(), key=lambda p: p["payer"])
        for p in by_payer:
            p["rate"] = _rate(p["forced"], p["matched"])
        out.append(
            {
                "month": key,
                "matched": total["matched"],
                "forced": total["forced"],
                "rate": _rate(total["forced"], total["matched"]),
                "by_user": by_user,
                "by_payer": by_payer,
            }
        )
    return out
