"""Roster and decisions CSV: streamed in constant memory; downloads are audited."""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator
from decimal import Decimal

from django.core.files.base import File

from billing.models import BillingRun, Decision, RunException
from core import csvsafe
from core import scopes as S
from core.actors import Actor
from core.exceptions import Conflict
from core.phi_reads import PHI_EXPORT, record_phi_access

ROSTER_COLUMNS = [
    "member_id",
    "first_name",
    "last_name",
    "payer",
    "month",
    "decision_class",
    "billable_days",
    "tier",
    "amount",
]
DECISION_COLUMNS = [
    "member_id",
    "payer_code",
    "month",
    "decision_class",
    "billable_days",
    "amount",
    "tier",
    "rule_version",
]


def _lines(header: list[str], rows, footer=()) -> Iterator[str]:
    buf = io.StringIO()
    writer = csvsafe.writer(buf, lineterminator="\n")
    writer.writerow(header)
    batch = 0
    for row in rows:
        writer.writerow(row)
        batch += 1
        if batch == 1000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
            batch = 0
    for line in footer:
        writer.writerow(line)
    yield buf.getvalue()


def _decisions(run: BillingRun, payer_ids: list[int] | None):
    qs = Decision.objects.filter(run=run)
    if payer_ids is not None:
        qs = qs.filter(payer_id__in=payer_ids)
    return qs.order_by("payer__code", "member__external_id", "month")


def roster_lines(run: BillingRun, payer_ids: list[int] | None = None) -> Iterator[str]:
    """One row per billable decision, then totals and the count of unresolved exceptions."""
    total = {"rows": 0, "amount": Decimal("0.00")}
    rows = (
        _decisions(run, payer_ids)
        .filter(billable=True)
        .values_list(
            "member__external_id",
            "member__first_name",
            "member__last_name",
            "payer__code",
            "month",
            "decision_class",
            "billable_days",
            "tier",
            "amount",
        )
        .iterator(chunk_size=2000)
    )

    def counted():
        for row in rows:
            total["rows"] += 1
            total["amount"] += row[8]
            yield row

    def footer():
        open_exc = RunException.objects.filter(run=run, status=RunException.Status.OPEN)
        if payer_ids is not None:
            open_exc = open_exc.filter(payer_id__in=payer_ids)
        yield ["# rows", total["rows"]]
        yield ["# total_amount", f"{total['amount']:.2f}"]
        yield ["# unresolved_exceptions", open_exc.count()]

    yield from _lines(ROSTER_COLUMNS, counted(), _Lazy(footer))


class _Lazy:
    """Iterates a generator function only when reached (after the rows were counted)."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def __iter__(self):
        return iter(self.fn())


SIMULATION_MARKER = "# SIMULATION - not billable, not a roster"


def decisions_lines(run: BillingRun, payer_ids: list[int] | None = None) -> Iterator[str]:
    """Every decision of the run, one row each; a simulation's file says so on its first line."""
    rows = (
        _decisions(run, payer_ids)
        .values_list(
            "member__external_id",
            "payer__code",
            "month",
            "decision_class",
            "billable_days",
            "amount",
            "tier",
            "rule_version__version",
        )
        .iterator(chunk_size=2000)
    )
    if run.mode == BillingRun.Mode.SIMULATION:
        yield SIMULATION_MARKER + "\n"
    yield from _lines(DECISION_COLUMNS, rows)


def export_filename(run: BillingRun, kind: str) -> str:
    """The download's file name; a simulation's cannot be mistaken for a production file."""
    if run.mode == BillingRun.Mode.SIMULATION:
        return f"simulation-run-{run.pk}-{run.month:%Y-%m}-{kind}.csv"
    return f"{kind}-run{run.pk}-{run.month:%Y-%m}-v{run.version}.csv"


def spool(lines: Iterator[str]) -> tuple[tempfile.SpooledTemporaryFile, str]:
    """Lines written to a temporary file (in memory only while small), with their sha256.

    The caller closes the file (use it as a context manager).
    """
    digest = hashlib.sha256()
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (returned)
    for chunk in lines:
        data = chunk.encode()
        digest.update(data)
        spooled.write(data)
    spooled.seek(0)
    return spooled, digest.hexdigest()


def roster_write(*, run: BillingRun) -> None:
    """Freeze the roster of a completed production run as a file next to the run (streamed)."""
    spooled, _ = spool(roster_lines(run))
    with spooled:
        run.roster.save(
            f"roster-run{run.pk}-{run.month:%Y-%m}-v{run.version}.csv", File(spooled), save=False
        )
    BillingRun.objects.filter(pk=run.pk).update(roster=run.roster.name)


def export_lines(*, actor: Actor, run: BillingRun, kind: str) -> Iterator[str]:
    """An export of a run for the actor's visible payers; the download is audited."""
    from billing.selectors import visible_payers

    actor.require(S.BILLING_RUN_VIEW)
    if run.status in (BillingRun.Status.QUEUED, BillingRun.Status.RUNNING):
        raise Conflict(f"Run #{run.pk} is {run.status}; exports are ready when it has finished.")
    if kind == "roster" and run.mode == BillingRun.Mode.SIMULATION:
        raise Conflict(
            f"Run #{run.pk} is a simulation: a simulation has no roster (nothing was billed). "
            "Download its simulation results (decisions CSV, not billable) instead.",
            code="simulation_has_no_roster",
        )
    payer_ids = None if actor.system else list(visible_payers(actor).values_list("id", flat=True))
    record_phi_access(actor, PHI_EXPORT, run, export=kind)
    return roster_lines(run, payer_ids) if kind == "roster" else decisions_lines(run, payer_ids)
