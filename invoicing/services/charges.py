"""Charges from billing runs (issue 12, item 9): a completed production run's billed and
retroactive decisions become charges on the accounts their payers invoice.

Billing never imports invoicing: `invoicing.apps` registers `charges_from_billing_run` with
billing's run-completion hook, which calls it inside the transaction completing the run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat

from billing.engine import DecisionClass
from billing.models import BillingRun, Decision, Payer
from core.actors import Actor
from core.audit import audit_record
from invoicing.models import Account, BillableCharge

log = logging.getLogger("healthbill.invoicing")

BATCH = 5000
SOURCE = BillableCharge.Source.BILLING_RUN
DECISION_REF = "decision:"
REVERSAL_REF = "reversal:decision:"


def _charged_decisions(run_id: int) -> QuerySet[Decision]:
    """The decisions of a run that invoice something: billed ones and retroactive ones."""
    return Decision.objects.filter(run_id=run_id).filter(
        Q(billable=True)
        | Q(
            decision_class__in=[
                DecisionClass.BILLED_RETROACTIVE,
                DecisionClass.NOT_BILLED_RETROACTIVE,
            ]
        )
    )


def _refs(decisions: QuerySet[Decision], prefix: str) -> QuerySet:
    """The charges' source_ref of some decisions, as a subquery (no ids pulled into Python)."""
    return decisions.annotate(
        ref=Concat(Value(prefix), Cast("id", output_field=CharField()), output_field=CharField())
    ).values("ref")


def _existing(tenant_id: int, refs: QuerySet) -> set[str]:
    """The refs among `refs` that are already charges (a retried completion, a replay)."""
    return set(
        BillableCharge.objects.filter(
            tenant_id=tenant_id, source=SOURCE, source_ref__in=refs
        ).values_list("source_ref", flat=True)
    )


def payer_accounts(tenant_id: int, payer_ids) -> dict[int, int]:
    """The account each payer invoices: {payer_id: account_id}.

    When several accounts name one payer, the lowest account number takes the payer's charges
    (a decision must become one charge, not one per account); a warning says so.
    """
    found: dict[int, int] = {}
    extra: set[int] = set()
    for payer_id, account_id in (
        Account.objects.filter(tenant_id=tenant_id, payer_id__in=payer_ids)
        .order_by("payer_id", "number")
        .values_list("payer_id", "id")
    ):
        if payer_id in found:
            extra.add(payer_id)
        else:
            found[payer_id] = account_id
    if extra:
        log.warning(
            "several accounts invoice one payer; the lowest account number takes its charges",
            extra={"payers": sorted(extra)},
        )
    return found


def _signed(decision_class: str, amount: Decimal) -> Decimal:
    """A NOT_BILLED_RETROACTIVE decision takes money back: its charge is negative."""
    if decision_class == DecisionClass.NOT_BILLED_RETROACTIVE:
        return -abs(amount)
    return amount


def _batched(items: Iterator[BillableCharge]) -> Iterator[list[BillableCharge]]:
    batch: list[BillableCharge] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(charges: Iterator[BillableCharge]) -> int:
    """Insert in batches; a ref already there is skipped by the unique (tenant, source, ref)."""
    written = 0
    for batch in _batched(charges):
        BillableCharge.objects.bulk_create(batch, ignore_conflicts=True)
        written += len(batch)
    return written


def _decision_charges(run: BillingRun, accounts: dict[int, int]) -> Iterator[BillableCharge]:
    decisions = _charged_decisions(run.pk).filter(payer_id__in=list(accounts))
    done = _existing(run.tenant_id, _refs(decisions, DECISION_REF))
    codes = dict(Payer.objects.filter(pk__in=list(accounts)).values_list("id", "code"))
    rows = (
        decisions.order_by("id")
        .values_list("id", "payer_id", "month", "decision_class", "amount")
        .iterator(chunk_size=BATCH)
    )
    for pk, payer_id, month, cls, amount in rows:
        ref = f"{DECISION_REF}{pk}"
        if ref in done:
            continue
        yield BillableCharge(
            tenant_id=run.tenant_id,
            account_id=accounts[payer_id],
            charge_date=run.month,
            amount=_signed(cls, amount),
            description=(
                f"Billing run {run.pk} v{run.version} ({run.month:%Y-%m}): "
                f"{codes[payer_id]} {cls} for {month:%Y-%m}"
            ),
            source=SOURCE,
            source_ref=ref,
        )


def _reversal_charges(run: BillingRun) -> Iterator[BillableCharge]:
    """The run replaces the run it supersedes: every charge that run made is taken back."""
    replaced = Decision.objects.filter(run_id=run.supersedes_id)
    done = _existing(run.tenant_id, _refs(replaced, REVERSAL_REF))
    rows = (
        BillableCharge.objects.filter(
            tenant_id=run.tenant_id, source=SOURCE, source_ref__in=_refs(replaced, DECISION_REF)
        )
        .order_by("id")
        .values_list("account_id", "amount", "source_ref")
        .iterator(chunk_size=BATCH)
    )
    for account_id, amount, ref in rows:
        reversal = f"reversal:{ref}"
        if reversal in done:
            continue
        yield BillableCharge(
            tenant_id=run.tenant_id,
            account_id=account_id,
            charge_date=run.month,
            amount=-amount,
            description=(
                f"Reversal: billing run {run.supersedes_id} was replaced by billing run "
                f"{run.pk} v{run.version} ({run.month:%Y-%m})"
            ),
            source=SOURCE,
            source_ref=reversal,
        )


def charges_from_billing_run(run: BillingRun) -> dict[str, int]:
    """Turn a completed production run's billed and retroactive decisions into charges, once.

    One charge per decision of a payer an account invoices (`Account.payer`), source
    BILLING_RUN, source_ref `decision:<id>`; NOT_BILLED_RETROACTIVE decisions give negative
    charges. Exactly once: refs already charged are skipped (a retried completion, a replay) and
    the unique (tenant, source, source_ref) constraint stops a concurrent second writer.

    charge_date is the run's month, also for a retroactive decision about an earlier month:
    the money is owed (or returned) from the run that decided it, so it belongs on the next
    bill, not back-dated into a period whose bill may be posted and whose books may be closed;
    the month the decision is about is in the description.

    A run that supersedes another (a regeneration) replaces all of its decisions, so each charge
    the replaced run made gets a reversing charge (`reversal:decision:<id>`) next to the new
    ones; charges already on a bill are never edited. Set-based: a run may have 100,000
    decisions, read in batches, written with bulk inserts.
    """
    if run.mode != BillingRun.Mode.PRODUCTION:
        return {"charges": 0, "reversals": 0}
    payer_ids = list(run.run_payers.values_list("payer_id", flat=True))
    accounts = payer_accounts(run.tenant_id, payer_ids)
    reversals = _insert(_reversal_charges(run)) if run.supersedes_id else 0
    charges = _insert(_decision_charges(run, accounts)) if accounts else 0
    if charges or reversals:
        audit_record(
            tenant=run.tenant,
            actor=Actor.system_for(run.tenant),
            action="BillableCharge.from_run",
            obj=run,
            payload={"run": run.pk, "month": run.month, "charges": charges, "reversals": reversals},
        )
    log.info(
        "charges from billing run",
        extra={"run": run.pk, "charges": charges, "reversals": reversals},
    )
    return {"charges": charges, "reversals": reversals}
