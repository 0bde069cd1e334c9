"""Run comparison, the reads: which runs compare, their decisions side by side, totals, matrix.

Two runs of the same tenant and month compare over the payers both cover that the actor may see
(payer grants narrow it further). Decisions are read set-based, ordered by (payer, member,
month), and merged in one pass (billing/diff.py): constant memory whatever the runs' size.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from billing import diff, selectors
from billing.engine import DecisionClass
from billing.models import BillingRun, RunPayer
from core import scopes as S
from core.actors import Actor
from core.exceptions import Conflict, DomainError, NotFound

COMPARABLE = (
    BillingRun.Status.COMPLETED,
    BillingRun.Status.COMPLETED_WITH_EXCEPTIONS,
    BillingRun.Status.SUPERSEDED,
)
CLASS_ORDER = [c.value for c in DecisionClass] + [diff.ABSENT]


@dataclass(frozen=True)
class Pair:
    """The run looked at ("a", the new side) and the run it is compared with ("b", the old)."""

    run: BillingRun
    base: BillingRun
    payer_ids: tuple[int, ...]
    payer_codes: tuple[str, ...]


def comparison_candidates(actor: Actor, run: BillingRun) -> QuerySet[BillingRun]:
    """Finished runs of the same month the actor may see, other than the run itself."""
    return (
        selectors.run_list(actor, month=run.month).filter(status__in=COMPARABLE).exclude(pk=run.pk)
    )


def comparison_default(actor: Actor, run: BillingRun) -> BillingRun | None:
    """The run it supersedes; for a simulation, the newest authoritative run of its month."""
    candidates = comparison_candidates(actor, run)
    if run.supersedes_id:
        return candidates.filter(pk=run.supersedes_id).first()
    if run.mode == BillingRun.Mode.SIMULATION:
        payer_ids = RunPayer.objects.filter(run=run).values_list("payer_id", flat=True)
        return candidates.filter(
            mode=BillingRun.Mode.PRODUCTION,
            status__in=BillingRun.DONE,
            run_payers__payer_id__in=list(payer_ids),
        ).first()
    return None


def _run_id(value) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise DomainError(
            f"with: expected the id of another run to compare with (a number), got '{value}'.",
            details={"with": ["expected a run id"]},
        )
    return number


def comparison_pair(actor: Actor, run: BillingRun, with_value) -> Pair:
    """The two runs, checked: same tenant (else 404), same month (400), both finished (409)."""
    actor.require(S.BILLING_RUN_VIEW)
    if with_value in (None, ""):
        raise DomainError(
            "with: choose the run to compare with (e.g. ?with=12).",
            details={"with": ["required"]},
        )
    other_id = _run_id(with_value)
    if other_id == run.pk:
        raise DomainError(
            f"with: choose a run other than run #{run.pk} itself.",
            details={"with": ["the same run"]},
        )
    base = selectors.run_list(actor).filter(pk=other_id).first()
    if base is None:
        raise NotFound(f"with: billing run {other_id} does not exist.")
    if base.month != run.month:
        raise DomainError(
            f"with: run #{base.pk} bills {base.month:%Y-%m} and run #{run.pk} bills "
            f"{run.month:%Y-%m}; only runs of the same month can be compared.",
            details={"with": ["another month"]},
        )
    for r in (run, base):
        if r.status not in COMPARABLE:
            raise Conflict(
                f"Run #{r.pk} is {r.status}; runs can be compared once they have completed "
                "(completed, completed with exceptions or superseded)."
            )
    visible = set(selectors.visible_payers(actor).values_list("id", flat=True))
    covered = (
        RunPayer.objects.filter(run=run, payer_id__in=visible)
        .filter(payer_id__in=RunPayer.objects.filter(run=base).values("payer_id"))
        .select_related("payer")
        .order_by("payer__code")
    )
    payers = [(rp.payer_id, rp.payer.code) for rp in covered]
    if not payers:
        raise Conflict(
            f"Runs #{run.pk} and #{base.pk} have no payer in common that you may see; "
            "there is nothing to compare."
        )
    return Pair(
        run=run,
        base=base,
        payer_ids=tuple(p for p, _ in payers),
        payer_codes=tuple(c for _, c in payers),
    )


# --- decisions side by side ---------------------------------------------------------------

Key = tuple[int, int, date]


def _rows(actor: Actor, run: BillingRun, pair: Pair, after: Key | None) -> Iterator[diff.Row]:
    qs = selectors.decision_list(actor, run).filter(payer_id__in=pair.payer_ids)
    if after is not None:
        p, m, month = after
        qs = qs.filter(
            Q(payer_id__gt=p)
            | Q(payer_id=p, member_id__gt=m)
            | Q(payer_id=p, member_id=m, month__gt=month)
        )
    values = qs.order_by("payer_id", "member_id", "month").values_list(
        "payer_id",
        "member_id",
        "month",
        "id",
        "decision_class",
        "billable",
        "amount",
        "payer__code",
        "member__external_id",
    )
    return map(diff.Row._make, values.iterator(chunk_size=2000))


def comparison_changes(actor: Actor, pair: Pair, *, after: Key | None = None):
    """Every payer x member x month of either run, merged in key order (changed or not)."""
    return diff.merge(_rows(actor, pair.base, pair, after), _rows(actor, pair.run, pair, after))


def change_filter(kind: str = "", old_class: str = "", new_class: str = "") -> diff.Predicate:
    """Accept changes of a kind and/or a class transition ('' accepts any)."""

    def keep(change: diff.Change, change_kind: str) -> bool:
        return (
            (not kind or change_kind == kind)
            and (not old_class or change.old_class == old_class)
            and (not new_class or change.new_class == new_class)
        )

    return keep


def clean_filters(kind: str = "", old_class: str = "", new_class: str = "") -> dict[str, str]:
    """Filters checked against the kinds and classes; the field is named when one is wrong."""
    kind, old_class, new_class = kind.strip().lower(), old_class.upper(), new_class.upper()
    if kind and kind not in diff.KINDS:
        raise DomainError(
            f"kind: expected one of {', '.join(diff.KINDS)}, got '{kind}'.",
            details={"kind": [f"one of {', '.join(diff.KINDS)}"]},
        )
    for name, value in (("from", old_class), ("to", new_class)):
        if value and value not in CLASS_ORDER:
            raise DomainError(
                f"{name}: expected a decision class or ABSENT, got '{value}'.",
                details={name: ["a decision class or ABSENT"]},
            )
    return {"kind": kind, "old_class": old_class, "new_class": new_class}


def comparison_scan(
    actor: Actor, pair: Pair, *, filters: dict | None = None, offset: int = 0, limit: int = 0
) -> tuple[diff.Tally, list[diff.Change]]:
    """Totals, matrix and counts over both runs, plus one page of the (filtered) changes."""
    keep = change_filter(**(filters or {}))
    return diff.scan(
        comparison_changes(actor, pair), pair.run.month, keep=keep, offset=offset, limit=limit
    )


def changes_page(
    actor: Actor, pair: Pair, *, filters: dict | None = None, after: Key | None, size: int
) -> tuple[list[diff.Change], Key | None]:
    """Up to `size` changes after a key (a cursor) and the key to continue from, if any."""
    keep = change_filter(**(filters or {}))
    page: list[diff.Change] = []
    for change in comparison_changes(actor, pair, after=after):
        kind = change.kind
        if kind is None or not keep(change, kind):
            continue
        if len(page) == size:
            return page, page[-1].key
        page.append(change)
    return page, None


def matrix_table(tally: diff.Tally) -> dict:
    """The transition matrix as rows (old class) x columns (new class) of counts."""
    rows = [c for c in CLASS_ORDER if any(old == c for old, _ in tally.matrix)]
    columns = [c for c in CLASS_ORDER if any(new == c for _, new in tally.matrix)]
    return {
        "rows": rows,
        "columns": columns,
        "counts": [[tally.matrix.get((r, c), 0) for c in columns] for r in rows],
    }


def comparison_summary(tally: diff.Tally, pair: Pair) -> dict:
    """What the API and the command print: the runs, totals, counts and the matrix."""
    return {
        "run": pair.run.pk,
        "with": pair.base.pk,
        "month": f"{pair.run.month:%Y-%m}",
        "payers": list(pair.payer_codes),
        **tally.totals(),
        "changed": tally.changed,
        "by_kind": dict(tally.by_kind),
        "by_transition": tally.by_transition(),
        "matrix": matrix_table(tally),
    }


# --- cursors ------------------------------------------------------------------------------


def cursor_encode(key: Key) -> str:
    """An opaque cursor for the key a page ended at."""
    raw = json.dumps([key[0], key[1], key[2].isoformat()]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(text: str) -> Key | None:
    """The key a cursor stands for; a clear error naming the field when it is not one of ours."""
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        p, m, month = json.loads(raw)
        return (int(p), int(m), date.fromisoformat(month))
    except (ValueError, TypeError, binascii.Error):
        raise DomainError(
            "cursor: expected the cursor of a previous page's 'next' link.",
            details={"cursor": ["invalid cursor"]},
        ) from None


# --- CSV rows -----------------------------------------------------------------------------

CSV_COLUMNS = [
    "payer_code",
    "member_id",
    "month",
    "change",
    "old_class",
    "old_amount",
    "new_class",
    "new_amount",
    "delta",
    "old_decision",
    "new_decision",
]


def csv_row(change: diff.Change) -> list:
    """One change as a CSV row (an absent side: empty class-free cells)."""
    row = change.any
    return [
        row.payer_code,
        row.member_external_id,
        f"{row.month:%Y-%m}",
        change.kind,
        change.old.decision_class if change.old else "",
        change.old.amount if change.old else "",
        change.new.decision_class if change.new else "",
        change.new.amount if change.new else "",
        change.delta,
        change.old.decision_id if change.old else "",
        change.new.decision_id if change.new else "",
    ]


def comparison_csv_rows(actor: Actor, pair: Pair, *, filters: dict | None = None):
    """The changed member-months as CSV rows, streamed in key order."""
    keep = change_filter(**(filters or {}))
    for change in comparison_changes(actor, pair):
        kind = change.kind
        if kind is not None and keep(change, kind):
            yield csv_row(change)
