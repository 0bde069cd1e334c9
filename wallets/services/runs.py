"""Prepaid billing runs (SPEC 7, Runs): trigger, start (planning into chunks), run inline, resume.

A run is planned into chunks of accounts (`wallets.services.chunks` rates and debits them, one
transaction per account) and completed by `wallets.services.finalize`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.db import transaction

from core import queue
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import DomainError
from core.transitions import transition_apply
from invoicing.models import Account
from wallets.models import PrepaidBillingRun, PrepaidRunChunk, Subscription, WalletDefinition
from wallets.services.chunks import prepaid_run_process_chunk
from wallets.services.finalize import prepaid_run_fail, prepaid_run_finalize

log = logging.getLogger("healthbill.wallets")
Status = PrepaidBillingRun.Status
MAX_INTERVAL_DAYS = 366


def _clean_list(values, field: str) -> list[str]:
    if isinstance(values, str):
        raise DomainError(f"{field}: expected a list of strings.")
    out = []
    for i, value in enumerate(values or ()):
        if not isinstance(value, str) or not value.strip():
            raise DomainError(f"{field}[{i}]: expected a non-empty string.")
        out.append(value.strip())
    return sorted(set(out))


def _check_filters(actor: Actor, accounts: list[str], subscriptions: list[str]) -> None:
    if accounts:
        found = dict(
            Account.objects.filter(tenant=actor.tenant, number__in=accounts).values_list(
                "number", "id"
            )
        )
        unknown = [n for n in accounts if n not in found]
        if unknown:
            raise DomainError(
                f"accounts: unknown account number(s) {', '.join(unknown)}.",
                details={"accounts": unknown},
            )
        with_wallet = set(
            Account.objects.filter(pk__in=found.values(), wallets__isnull=False).values_list(
                "number", flat=True
            )
        )
        bare = [n for n in accounts if n not in with_wallet]
        if bare:
            raise DomainError(
                f"accounts: account(s) {', '.join(bare)} have no wallet.",
                details={"accounts": bare},
            )
    if subscriptions:
        known = set(
            Subscription.objects.filter(
                tenant=actor.tenant, external_id__in=subscriptions
            ).values_list("external_id", flat=True)
        )
        unknown = [s for s in subscriptions if s not in known]
        if unknown:
            raise DomainError(
                f"subscriptions: unknown subscription id(s) {', '.join(unknown)}.",
                details={"subscriptions": unknown},
            )


def prepaid_run_trigger(
    *,
    actor: Actor,
    as_of: date,
    accounts: Sequence[str] = (),
    subscriptions: Sequence[str] = (),
    classifications: Sequence[str] = (),
    estimation: str = "SKIP",
    recurring_interval_days: int | None = None,
    enqueue: bool = True,
) -> PrepaidBillingRun:
    """Queue a prepaid run as of a date over all accounts with a wallet, or the filtered ones."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    if not isinstance(as_of, date):
        raise DomainError("as_of: expected a date (YYYY-MM-DD).")
    mode = str(estimation or "").strip().upper()
    if mode not in PrepaidBillingRun.Estimation.values:
        raise DomainError("estimation: expected SKIP, ALL or CHANGED.")
    if recurring_interval_days is not None and (
        isinstance(recurring_interval_days, bool)
        or not isinstance(recurring_interval_days, int)
        or not 1 <= recurring_interval_days <= MAX_INTERVAL_DAYS
    ):
        raise DomainError(
            f"recurring_interval_days: expected a whole number from 1 to {MAX_INTERVAL_DAYS}."
        )
    accounts = _clean_list(accounts, "accounts")
    subscriptions = _clean_list(subscriptions, "subscriptions")
    classifications = _clean_list(classifications, "classifications")
    _check_filters(actor, accounts, subscriptions)
    with transaction.atomic():
        run = PrepaidBillingRun.objects.create(
            tenant=actor.tenant,
            as_of=as_of,
            accounts=accounts,
            subscriptions=subscriptions,
            classifications=classifications,
            estimation=mode,
            recurring_interval_days=recurring_interval_days,
            triggered_by=actor.user,
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="PrepaidRun.trigger",
            obj=run,
            payload={
                "as_of": as_of,
                "accounts": accounts,
                "subscriptions": subscriptions,
                "classifications": classifications,
                "estimation": mode,
                "recurring_interval_days": recurring_interval_days,
            },
        )
        if enqueue:
            transaction.on_commit(lambda: queue.enqueue("wallets.tasks.prepaid_run_start", run.pk))
    log.info("prepaid run triggered", extra={"run": run.pk, "as_of": str(as_of)})
    return run


def run_account_ids(run: PrepaidBillingRun) -> list[int]:
    """Ids of the accounts a run covers (with a wallet, matching its filters), ascending."""
    qs = Account.objects.filter(tenant_id=run.tenant_id, wallets__isnull=False)
    if run.accounts:
        qs = qs.filter(number__in=run.accounts)
    if run.classifications:
        qs = qs.filter(classification__in=run.classifications)
    if run.subscriptions:
        qs = qs.filter(subscriptions__external_id__in=run.subscriptions)
    return list(qs.order_by("id").values_list("id", flat=True).distinct())


def prepaid_run_start(*, run_id: int) -> list[int]:
    """DRAFT -> IDENTIFICATION_AND_RATING: plan chunks of accounts; ids of the pending chunks."""
    with transaction.atomic():
        run = (
            PrepaidBillingRun.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=run_id)
        )
        if run.status == Status.IDENTIFICATION_AND_RATING:
            return list(run.chunks.filter(done=False).values_list("id", flat=True))
        if run.status != Status.DRAFT:
            return []
        transition_apply(
            actor=Actor.system_for(run.tenant),
            model=PrepaidBillingRun,
            pk=run_id,
            name="start",
            scope=S.WALLETS_RUN_TRIGGER,
            action="PrepaidRun.start",
        )
        size = max(1, int(getattr(settings, "PREPAID_CHUNK_ACCOUNTS", 500)))
        ids = run_account_ids(run)
        PrepaidRunChunk.objects.bulk_create(
            PrepaidRunChunk(run=run, index=i, account_ids=ids[start : start + size])
            for i, start in enumerate(range(0, len(ids), size))
        )
        chunks = (len(ids) + size - 1) // size
        # the causes that may debit are fixed for the whole run (a definition changed meanwhile
        # applies to the next run); no active definition: both null, every cause debits
        definition = WalletDefinition.active_for(run.tenant_id)
        PrepaidBillingRun.objects.filter(pk=run_id).update(
            accounts_total=len(ids),
            chunks_total=chunks,
            wallet_definition=definition,
            debit_causes=sorted(definition.debit_causes) if definition else None,
        )
        return list(run.chunks.order_by("index").values_list("id", flat=True))


def prepaid_run_execute(*, run_id: int) -> PrepaidBillingRun:
    """Start, rate every chunk and finalise in this process (the command's --sync, tests)."""
    try:
        for chunk_id in prepaid_run_start(run_id=run_id):
            prepaid_run_process_chunk(chunk_id=chunk_id)
    except Exception as exc:  # noqa: BLE001 - the run records it and stops
        log.exception("prepaid run failed", extra={"run": run_id})
        # a DomainError's message names fields and ids only; anything else by its kind (no PHI)
        what = exc.message if isinstance(exc, DomainError) else type(exc).__name__
        return prepaid_run_fail(run_id=run_id, error=f"unexpected error: {what}")
    return prepaid_run_finalize(run_id=run_id)


def prepaid_run_resume(*, run_id: int) -> int:
    """Queue the chunks of a running run that are not done (after a worker was lost)."""
    pending = list(
        PrepaidRunChunk.objects.filter(run_id=run_id, done=False).values_list("id", flat=True)
    )
    for chunk_id in pending:
        queue.enqueue("wallets.tasks.prepaid_run_chunk", chunk_id)
    if not pending:
        prepaid_run_finalize(run_id=run_id)
    return len(pending)
