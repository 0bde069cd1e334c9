"""Run exceptions: resolving one or many re-evaluates the run's status; exports are audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, QuerySet

from billing.models import BillingRun, RunException
from billing.selectors import exception_get, exception_list, replacing_run, run_get
from core import scopes as S
from core.actors import Actor
from core.exceptions import Conflict, DomainError
from core.phi_reads import PHI_EXPORT, record_phi_access
from core.transitions import state_reload, transition_apply

log = logging.getLogger("healthbill.billing")

# Per-item outcomes of a bulk resolution, in the order screens and the API list them.
RESOLVED = "resolved"
ALREADY_RESOLVED = "already_resolved"
NOT_ALLOWED = "not_allowed"  # another payer's exception: the actor's grants do not cover it
NOT_FOUND = "not_found"  # no exception with this id in the run
OUTCOMES = (RESOLVED, ALREADY_RESOLVED, NOT_ALLOWED, NOT_FOUND)
MAX_IDS = 1000


@dataclass(frozen=True)
class BulkItem:
    """What happened to one exception of a bulk resolution."""

    id: int
    code: str
    outcome: str


@dataclass
class BulkResolveResult:
    """Per-item outcomes of a bulk resolution and the run as it stands afterwards."""

    run: BillingRun
    items: list[BulkItem] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """How many items had each outcome (every outcome listed, zeros included)."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for item in self.items:
            counts[item.outcome] += 1
        return counts


def _refuse_if_superseded(run: BillingRun) -> None:
    if run.status == BillingRun.Status.SUPERSEDED:
        newer = replacing_run(run)
        by = f" by run {newer.pk}" if newer else ""
        raise Conflict(
            f"Run {run.pk} was superseded{by}: its open exceptions are closed by supersession "
            "and need no resolution.",
            code="closed_by_supersession",
            details={"run": run.pk, "replaced_by": newer.pk if newer else None},
        )


def _resolve_one(actor: Actor, exception_id: int, note: str, payload: dict | None = None):
    """OPEN -> RESOLVED with an audit entry, and one less open exception on the run."""
    exc = transition_apply(
        actor=actor,
        model=RunException,
        pk=exception_id,
        name="resolve",
        scope=S.BILLING_EXCEPTION_RESOLVE,
        reason=note,
        reason_required=True,
        action="RUN_EXCEPTION_RESOLVED",
        payload=payload,
        kwargs={"by": actor.user, "resolution": note},
    )
    BillingRun.objects.filter(pk=exc.run_id).update(open_exceptions=F("open_exceptions") - 1)
    return exc


def _reevaluate_run(actor: Actor, run_id: int) -> None:
    """COMPLETED_WITH_EXCEPTIONS -> COMPLETED once nothing is left open."""
    run = BillingRun.objects.get(pk=run_id)
    if run.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS and run.no_open_exceptions():
        transition_apply(
            actor=actor,
            model=BillingRun,
            pk=run.pk,
            name="exceptions_resolved",
            scope=S.BILLING_EXCEPTION_RESOLVE,
            action="RUN_EXCEPTIONS_RESOLVED",
        )


def run_exception_resolve(*, actor: Actor, exception_id: int, resolution: str) -> RunException:
    """Resolve with a required note; the run is COMPLETED once nothing is left open."""
    exc = exception_get(actor, exception_id)  # 404 for another tenant's or a payer not granted
    _refuse_if_superseded(exc.run)
    with transaction.atomic():
        exc = _resolve_one(actor, exception_id, (resolution or "").strip())
        _reevaluate_run(actor, exc.run_id)
    return exc


def _note_required(resolution: str) -> str:
    note = (resolution or "").strip()
    if not note:
        raise DomainError(
            "resolution: write a note saying what was done; it is required.",
            code="required",
            details={"field": "resolution"},
        )
    return note


def _targets(
    actor: Actor, run: BillingRun, code: str, ids: list[int] | None
) -> tuple[list[tuple[int, str]], list[BulkItem]]:
    """(id, code) of the exceptions to resolve, and the items settled without trying."""
    if code:
        rows = list(
            exception_list(actor, run, status=RunException.Status.OPEN, code=code)
            .order_by("id")
            .values_list("id", "code")
        )
        if not rows:
            raise DomainError(
                f"code: run {run.pk} has no open exception with code {code}.",
                details={"field": "code"},
            )
        return rows, []
    wanted = list(dict.fromkeys(ids or []))
    if not wanted:
        raise DomainError("ids: choose at least one exception.", details={"field": "ids"})
    if len(wanted) > MAX_IDS:
        raise DomainError(f"ids: at most {MAX_IDS} exceptions at once.", details={"field": "ids"})
    known = {
        pk: (c, status)
        for pk, c, status in RunException.objects.filter(
            tenant=actor.tenant, run=run, pk__in=wanted
        ).values_list("id", "code", "status")
    }
    visible = set(exception_list(actor, run).filter(pk__in=wanted).values_list("id", flat=True))
    rows, settled = [], []
    for pk in wanted:
        if pk not in known:
            settled.append(BulkItem(pk, "", NOT_FOUND))
        elif pk not in visible:
            settled.append(BulkItem(pk, known[pk][0], NOT_ALLOWED))
        elif known[pk][1] != RunException.Status.OPEN:
            settled.append(BulkItem(pk, known[pk][0], ALREADY_RESOLVED))
        else:
            rows.append((pk, known[pk][0]))
    return rows, settled


def run_exceptions_resolve(
    *,
    actor: Actor,
    run_id: int,
    resolution: str,
    code: str = "",
    ids: list[int] | None = None,
) -> BulkResolveResult:
    """Resolve a run's open exceptions of one code, or a chosen set, with one required note.

    Each exception goes through the same transition as a single resolution (one audit entry
    each); the run's status is re-evaluated once, at the end. Items outside the actor's payer
    grants are reported as not allowed, never touched.
    """
    actor.require(S.BILLING_EXCEPTION_RESOLVE)
    note = _note_required(resolution)
    code = (code or "").strip().upper()
    if code and ids:
        raise DomainError(
            "code: give either an exception code or a list of ids, not both.",
            details={"field": "code"},
        )
    run = run_get(actor, run_id)
    _refuse_if_superseded(run)
    rows, settled = _targets(actor, run, code, ids)
    outcome: dict[int, BulkItem] = {item.id: item for item in settled}
    payload = {"bulk": code or "selection"}
    with transaction.atomic():
        # Lock every target in id order before the first audit entry takes the chain head: a
        # single resolution locks its exception, then the head, so the two never wait in a cycle.
        codes = dict(rows)
        locked = dict(
            RunException.objects.select_for_update()
            .filter(pk__in=codes)
            .order_by("id")
            .values_list("id", "status")
        )
        rows = []
        for pk in sorted(codes):
            if locked.get(pk) == RunException.Status.OPEN:
                rows.append((pk, codes[pk]))
            else:  # resolved by someone else since we looked
                outcome[pk] = BulkItem(pk, codes[pk], ALREADY_RESOLVED)
        for pk, exc_code in rows:
            _resolve_one(actor, pk, note, payload)
            outcome[pk] = BulkItem(pk, exc_code, RESOLVED)
        _reevaluate_run(actor, run.pk)
    state_reload(run)
    order = sorted(codes) if code else list(dict.fromkeys(ids or []))
    result = BulkResolveResult(run=run, items=[outcome[pk] for pk in order])
    log.info(
        "run exceptions resolved in bulk",
        extra={"run": run.pk, "status": run.status, **result.counts},
    )
    return result


def exception_export(
    *, actor: Actor, run: BillingRun, status: str = "", code: str = ""
) -> QuerySet[RunException]:
    """The exceptions a list shows (visible payers, filters), for a CSV; the download is audited."""
    actor.require(S.BILLING_RUN_VIEW)
    record_phi_access(actor, PHI_EXPORT, run, export="exceptions", status=status, code=code)
    return exception_list(actor, run, status=status, code=code).order_by("id")
