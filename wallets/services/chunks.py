"""Chunk execution of a prepaid run: per account, one transaction with its wallet row locked.

(PREPAID_ACCOUNTS_PER_TRANSACTION > 1 puts that many accounts in one transaction, their wallets
locked in id order: the same rows with fewer round trips; an unexpected error then rolls back the
whole batch, which the chunk's retry rates again.)

Everything a rating depends on (state periods, how far each service is rated, which usage is
posted, the balance, charges not yet billed) is read under the accounts' wallet locks (the
partner API locks the wallets before it changes a service, a period or usage), so a second run
over the same accounts, or a chunk executed again after a crash, finds the periods already
rated and debits nothing twice. The unique constraint on a service item's (service, identity)
is the last guard.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from core.actors import Actor
from core.audit import audit_record_many
from core.bulk import fetch_rows, insert_rows, update_rows
from core.exceptions import DomainError
from core.node import worker_label
from wallets import rating
from wallets.events import low_balance_emit
from wallets.models import (
    PrepaidBillingRun,
    PrepaidRunChunk,
    PrepaidRunError,
    RatedItem,
    ServiceStatePeriod,
    SubscriptionService,
    UsageRecord,
    Wallet,
    WalletTransaction,
)
from wallets.services.pricing_facts import load_pricing

log = logging.getLogger("healthbill.wallets")
Status = PrepaidBillingRun.Status
ZERO = Decimal("0.00")
USAGE_SIGN = {"TO_BE_BILLED": 1, "TO_BE_CREDITED": -1}


def _services_qs(run: PrepaidBillingRun, account_ids):
    qs = SubscriptionService.objects.filter(
        tenant_id=run.tenant_id, subscription__account_id__in=account_ids
    )
    if run.subscriptions:
        qs = qs.filter(subscription__external_id__in=run.subscriptions)
    return qs


def _load_periods(run: PrepaidBillingRun, account_ids) -> dict[int, tuple]:
    """State periods of the batch's services, set-based (read under the wallet locks)."""
    periods: dict[int, list] = defaultdict(list)
    rows = fetch_rows(
        ServiceStatePeriod.objects.filter(
            service__in=_services_qs(run, account_ids).values("id")
        ).values_list("service_id", "state", "start", "end")
    )
    for service_id, state, start, end in sorted(rows, key=lambda r: (r[0], r[2])):
        periods[service_id].append(rating.StatePeriod(state=state, start=start, end=end))
    return {k: tuple(v) for k, v in periods.items()}


def _not_billed(account_ids) -> dict[int, Decimal]:
    """Charges of each account rated but not billed yet (they hold back `available`; the ones a
    run carries into its debit plan are given back by `_rate_account`)."""
    return dict(
        RatedItem.objects.filter(
            account_id__in=account_ids, state=RatedItem.State.NOT_BILLED, amount__gt=0
        )
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )


def _load_carried(run, service_ids, debit_causes):
    """NOT_BILLED items of earlier runs of these services whose cause may debit now, as rating
    items (`existing_id` set): the debit plan bills them with the service's new items; and, from
    the same query, the penalties already charged (service id -> cancellation dates)."""
    carried: dict[int, list[rating.Item]] = defaultdict(list)
    charged: dict[int, set] = defaultdict(set)
    if not service_ids:
        return carried, charged
    held = Q(state=RatedItem.State.NOT_BILLED) & ~Q(run_id=run.pk)
    if debit_causes is not None:
        causes = set(debit_causes)
        if rating.USAGE not in causes:
            held &= Q(amount__lt=0) | ~Q(kind=RatedItem.Kind.USAGE)
        if rating.PREPAID_BILLING not in causes:
            held &= Q(amount__lt=0) | Q(kind=RatedItem.Kind.USAGE)
    qs = (
        RatedItem.objects.filter(service_id__in=service_ids)
        .filter(held | Q(kind=RatedItem.Kind.PENALTY))
        .order_by("service_id", "start", "id")
    )
    for row in qs:
        if row.kind == RatedItem.Kind.PENALTY:
            charged[row.service_id].add(row.start)
        if row.state != RatedItem.State.NOT_BILLED or row.run_id == run.pk:
            continue
        item = rating.Item(
            service_id=row.service_id,
            kind=row.kind,
            start=row.start,
            end=row.end,
            active_days=row.active_days,
            amount=row.amount,
            price_per_period=row.price_per_period,
            period_days=row.period_days,
            usage_id=row.usage_id,
            net=row.net,
            discount=row.discount,
            vat_rate=row.vat_rate,
            vat=row.vat,
            discounts=tuple(
                rating.AppliedDiscount(
                    d["code"], d["name"], d["kind"], Decimal(d["value"]), Decimal(d["amount"])
                )
                for d in row.discounts or ()
            ),
            component=str(row.component_id) if row.component_id else None,
            rate_from=row.rate_from,
            reasons=tuple(row.reasons or ()),
            existing_id=row.pk,
        )
        if rating.may_debit(item, debit_causes):
            carried[row.service_id].append(item)
    return carried, charged


def _pick_wallet(wallets: list[Wallet]) -> Wallet | None:
    """The wallet that pays an account's services: its only one, else the default currency's."""
    if len(wallets) == 1:
        return wallets[0]
    default = getattr(settings, "PREPAID_DEFAULT_CURRENCY", "USD")
    return next((w for w in wallets if w.currency == default), None)


class _Account:
    """What one account's transaction wrote, for the counters and its audit entry."""

    def __init__(self) -> None:
        self.items: list[RatedItem] = []
        self.debits: list[Decimal] = []
        self.updates: list[SubscriptionService] = []
        self.advanced: list[SubscriptionService] = []  # rated_up_to only (nothing billable)
        self.billed: list[bool] = []  # one per item: BILLED now, else kept NOT_BILLED
        self.usage_rated: list[int] = []
        self.errors: list[PrepaidRunError] = []
        self.invalid = 0
        self.wallet: Wallet | None = None

    @property
    def debited(self) -> Decimal:
        return sum((d for d in self.debits if d > 0), ZERO)

    @property
    def credited(self) -> Decimal:
        return -sum((d for d in self.debits if d < 0), ZERO)


def _rate_account(run, account_id, wallet, services, facts, now, acc: _Account) -> None:
    """Rate the account's services, plan its wallet's debits, and keep what to write in `acc`."""
    ratings = []
    for svc_id, product_id, price, days, mode, rated_up_to, _binding_end, ext in services:
        service = rating.ServiceFacts(
            id=svc_id,
            product=str(product_id),
            price_per_period=price,
            period_days=days,
            rating=mode,
            rated_up_to=rated_up_to,
            periods=facts.periods.get(svc_id, ()),
            pricing=facts.pricing.get(svc_id),
        )
        try:
            rated = rating.rate_service(service, facts.usage.get(svc_id, ()), run.as_of)
        except (ValueError, ArithmeticError, DomainError) as exc:
            acc.errors.append(_error(run, account_id, svc_id, "rating_failed", ext, exc))
            continue
        carried = facts.carried.get(svc_id)
        if carried:
            rated = dataclasses.replace(rated, items=(*rated.items, *carried))
        ratings.append(rated)
    wallet_facts = rating.WalletFacts(
        balance=wallet.balance,
        available=wallet.available,  # the plan releases a carried charge's hold when it bills it
        min_balance_threshold=wallet.min_balance_threshold,
        stop_service_threshold=wallet.stop_service_threshold,
        restrict_below_stop=wallet.restrict_below_stop,
    )
    plan = rating.debit_plan(wallet_facts, ratings, facts.debit_causes)
    for outcome in plan.outcomes:
        if outcome.state is None:
            if outcome.items:
                # rated, nothing may debit: the items are kept NOT_BILLED, the service rated on
                acc.advanced.append(
                    SubscriptionService(pk=outcome.service_id, rated_up_to=outcome.rated_up_to)
                )
                _keep_items(acc, outcome)
            continue
        svc = SubscriptionService(
            pk=outcome.service_id,
            prepayment_state=outcome.state,
            prepayment_checked_at=now,
            rated_up_to=outcome.rated_up_to,
        )
        acc.updates.append(svc)
        if outcome.state == SubscriptionService.PrepaymentState.INVALID:
            acc.invalid += 1
            continue
        _keep_items(acc, outcome)


def _keep_items(acc: _Account, outcome: rating.ServiceOutcome) -> None:
    """An outcome's items, their debits and whether each is billed now.

    A carried item (`existing_id`) held again is left as it is: nothing to write for it."""
    for n, (item, debit) in enumerate(zip(outcome.items, outcome.debits, strict=True)):
        billed = outcome.is_billed(n)
        if item.existing_id is not None and not billed:
            continue
        acc.items.append(item)
        acc.debits.append(debit)
        acc.billed.append(billed)
        if item.usage_id is not None and item.existing_id is None:
            acc.usage_rated.append(item.usage_id)


class _Facts:
    """What the batch's ratings read under the wallet locks."""

    def __init__(self, *, periods, pricing, usage, carried, debit_causes) -> None:
        self.periods = periods
        self.pricing = pricing
        self.usage = usage
        self.carried = carried
        self.debit_causes = debit_causes


def _error(run, account_id, service_id, code, external_id, exc) -> PrepaidRunError:
    # DomainError and the pure rating's ValueError name fields and ids only (no PHI)
    if isinstance(exc, DomainError):
        message = exc.message
    elif isinstance(exc, ValueError):
        message = str(exc)
    else:
        message = type(exc).__name__
    return PrepaidRunError(
        run=run,
        account_id=account_id,
        service_id=service_id,
        code=code,
        message=f"service {external_id}: {message}"[:1000],
    )


ITEM_FIELDS = (
    "tenant",
    "run",
    "account",
    "service",
    "usage",
    "kind",
    "start",
    "end",
    "active_days",
    "price_per_period",
    "period_days",
    "amount",
    "sign",
    "debited",
    "state",
    "created_at",
    "component",
    "rate_from",
    "net",
    "discount",
    "vat_rate",
    "vat",
    "gross",
    "discounts",
    "reasons",
    "identity",
)
LEDGER_FIELDS = (
    "tenant",
    "wallet",
    "kind",
    "amount",
    "balance_after",
    "cause",
    "reference",
    "run",
    "service",
    "item",
    "created_at",
)


def _item_row(run, account_id, item, debit, billed, now) -> tuple:
    """A new rated item as a row of ITEM_FIELDS: BILLED (the wallet moved in the same
    transaction), or NOT_BILLED (its cause may not debit: debited 0, no ledger row)."""
    sign = RatedItem.Sign.NEGATIVE if item.amount < 0 else RatedItem.Sign.POSITIVE
    return (
        run.tenant_id,
        run.pk,
        account_id,
        item.service_id,
        item.usage_id,
        item.kind,
        item.start,
        item.end,
        item.active_days,
        item.price_per_period,
        item.period_days,
        item.amount,
        sign,
        debit if billed else ZERO,
        RatedItem.State.BILLED if billed else RatedItem.State.NOT_BILLED,
        now,
        int(item.component) if item.component else None,
        item.rate_from,
        item.net_amount,
        item.discount,
        item.vat_rate,
        item.vat,
        item.amount,
        [
            {
                "code": d.code,
                "name": d.name,
                "kind": d.kind,
                "value": str(d.value),
                "amount": str(d.amount),
            }
            for d in item.discounts
        ],
        list(item.reasons),
        item.identity,
    )


def _insert_items(run, rows: list[tuple]) -> list[int]:
    """Insert the item rows; their ids, in order.

    On PostgreSQL the ids are drawn from the table's sequence first and the rows go in with COPY
    (no model instances, no RETURNING); elsewhere `bulk_create` returns them."""
    if connection.vendor != "postgresql":
        objs = [
            RatedItem(
                **{
                    RatedItem._meta.get_field(f).attname: v
                    for f, v in zip(ITEM_FIELDS, r, strict=True)
                }
            )
            for r in rows
        ]
        RatedItem.objects.bulk_create(objs)
        return [o.pk for o in objs]
    table = RatedItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
    insert_rows(RatedItem, ("id", *ITEM_FIELDS), ([i, *r] for i, r in zip(ids, rows, strict=True)))
    return ids


@contextmanager
def _async_commits():
    """On PostgreSQL, the chunk's commits do not wait for their WAL flush (setting
    PREPAID_ASYNC_COMMIT, default off): a crash can lose the last moments of work, never half of
    an account's transaction, and WAL order is kept, so a lost account belongs to a chunk whose
    done mark (written after it) is lost too, and the chunk rates it again. Any later synchronous
    commit (the task's result) flushes them. One disk flush per account cost ~7 ms here."""
    on = connection.vendor == "postgresql" and getattr(settings, "PREPAID_ASYNC_COMMIT", False)
    if on and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
    else:
        yield


def _process_accounts(run, account_ids) -> dict:
    """Rate and debit accounts in one transaction under their wallet locks; what it wrote.

    One account per transaction unless PREPAID_ACCOUNTS_PER_TRANSACTION says more (the wallets
    are then locked together, in id order): the same rows, fewer round trips."""
    now = timezone.now()
    accounts: dict[int, _Account] = {}
    with transaction.atomic():
        wallets: dict[int, list[Wallet]] = defaultdict(list)
        for w in (
            Wallet.objects.select_for_update()
            .filter(tenant_id=run.tenant_id, account_id__in=account_ids)
            .order_by("id")
        ):
            wallets[w.account_id].append(w)
        periods = _load_periods(run, account_ids)
        not_billed = _not_billed(account_ids)
        services: dict[int, list] = defaultdict(list)
        for account_id, *row in fetch_rows(
            _services_qs(run, account_ids)
            .order_by("id")
            .values_list(
                "subscription__account_id",
                "id",
                "product_id",
                "price_per_period",
                "period_days",
                "rating",
                "rated_up_to",
                "binding_end",
                "external_id",
            )
        ):
            services[account_id].append(tuple(row))
        rows = [row for account_rows in services.values() for row in account_rows]
        service_ids = [row[0] for row in rows]
        debit_causes = None if run.debit_causes is None else frozenset(run.debit_causes)
        carried, charged = _load_carried(run, service_ids, debit_causes)
        facts = _Facts(
            periods=periods,
            pricing=load_pricing(
                run.tenant_id,
                [(r[0], r[1], r[6]) for r in rows],
                penalties=charged,
                account_ids=list(services),
            ),
            usage=_load_usage(run, service_ids),
            carried=carried,
            debit_causes=debit_causes,
        )
        for account_id in sorted(services):
            acc = accounts[account_id] = _Account()
            acc.wallet = _pick_wallet(wallets.get(account_id, []))
            if acc.wallet is None:
                _no_wallet(run, account_id, len(wallets.get(account_id, [])), services, acc)
                continue
            acc.wallet.available = acc.wallet.balance - not_billed.get(account_id, ZERO)
            _rate_account(run, account_id, acc.wallet, services[account_id], facts, now, acc)
        _write(run, accounts, now)
    tally = {"items": 0, "debited": ZERO, "credited": ZERO, "invalid": 0, "errors": 0}
    for acc in accounts.values():
        tally["items"] += sum(1 for i in acc.items if i.existing_id is None)
        tally["debited"] += acc.debited
        tally["credited"] += acc.credited
        tally["invalid"] += acc.invalid
        tally["errors"] += len(acc.errors)
    return tally


def _load_usage(run, service_ids) -> dict[int, list]:
    usage: dict[int, list] = defaultdict(list)
    if not service_ids:
        return usage
    for u_id, svc_id, amount, directive, day in fetch_rows(
        UsageRecord.objects.filter(
            service__in=service_ids,
            state=UsageRecord.State.POSTED,
            directive__in=list(USAGE_SIGN),
            billing_effective_date__lte=run.as_of,
        )
        .order_by("service_id", "billing_effective_date", "id")
        .values_list("id", "service_id", "amount", "directive", "billing_effective_date")
    ):
        usage[svc_id].append(rating.UsageFacts(u_id, svc_id, amount, directive, day))
    return usage


def _no_wallet(run, account_id, count, services, acc: _Account) -> None:
    default = getattr(settings, "PREPAID_DEFAULT_CURRENCY", "USD")
    problem = DomainError(
        f"account has {count} wallets and none in {default}; no wallet pays this service"
    )
    for svc_id, *_, ext in services[account_id]:
        acc.errors.append(_error(run, account_id, svc_id, "no_wallet", ext, problem))


def _ledger_rows(*, wallet: Wallet, run, entries, ids, now) -> list[tuple]:
    """One ledger row per (item, debit) on the locked wallet; moves `wallet.balance` in memory.

    What `ledger.wallet_post` does for one amount, for the items of one account at once: the
    kind follows the sign (a debit > 0 is a DEBIT row), each row carries the balance after it,
    and the balance never goes below zero.
    """
    balance, rows = wallet.balance, []
    for item, debit in entries:
        amount = -debit
        balance += amount
        if balance < 0:
            raise DomainError(
                f"wallet {wallet.pk}: a debit of {debit} would take the balance below zero.",
                code="insufficient_funds",
            )
        cause = item.cause  # the wallet definition's cause: USAGE or PREPAID_BILLING
        kind = WalletTransaction.Kind.CREDIT if amount > 0 else WalletTransaction.Kind.DEBIT
        item_id = item.existing_id or ids[(item.service_id, item.identity)]
        rows.append(
            (
                run.tenant_id,
                wallet.pk,
                kind,
                amount,
                balance,
                cause,
                f"prepaid run {run.pk}",
                run.pk,
                item.service_id,
                item_id,
                now,
            )
        )
    wallet.balance = balance
    return rows


def _audit_entry(run, account_id, acc: _Account) -> dict:
    wallet = acc.wallet
    return {
        "action": "PrepaidRun.account",
        "object_type": "invoicing.Account",
        "object_id": account_id,
        "payload": {
            "run": run.pk,
            "wallet": wallet.pk if wallet else None,
            "services_rated": sum(
                1
                for u in acc.updates
                if u.prepayment_state == SubscriptionService.PrepaymentState.VALID
            ),
            "services_invalid": acc.invalid,
            "items": len(acc.items),
            "debited": acc.debited,
            "credited": acc.credited,
            "errors": len(acc.errors),
            "balance_after": wallet.balance - acc.debited + acc.credited if wallet else None,
        },
    }


def _write(run, accounts: dict[int, _Account], now) -> None:
    changed = {
        a: acc
        for a, acc in accounts.items()
        if acc.items or acc.updates or acc.advanced or acc.errors
    }
    if not changed:
        return
    # The audit entries first: they lock the tenant's chain head before this transaction inserts
    # rows referencing the tenant, so two transactions committing at once cannot deadlock on it.
    audit_record_many(
        tenant=run.tenant,
        actor=Actor.system_for(run.tenant),
        entries=[_audit_entry(run, a, acc) for a, acc in sorted(changed.items())],
    )
    items, carried = [], []
    for a, acc in changed.items():
        for item, debit, billed in zip(acc.items, acc.debits, acc.billed, strict=True):
            if item.existing_id is None:
                items.append(_item_row(run, a, item, debit, billed, now))
            else:  # an earlier run's NOT_BILLED item billed now (only billed ones are kept)
                carried.append(
                    RatedItem(pk=item.existing_id, debited=debit, state=RatedItem.State.BILLED)
                )
    ids: dict[tuple, int] = {}
    if items:
        keys = [(r[3], r[-1]) for r in items]  # service, identity: unique
        ids = dict(zip(keys, _insert_items(run, items), strict=True))
    if carried:
        update_rows(RatedItem, carried, ["debited", "state"])
    ledger, touched, updates, advanced, usage, errors = [], [], [], [], [], []
    moved = []  # (wallet, balance before) for the low-balance events
    for acc in changed.values():
        paid = [(i, d) for i, d in zip(acc.items, acc.debits, strict=True) if d != 0]
        if paid:
            moved.append((acc.wallet, acc.wallet.balance))
            ledger += _ledger_rows(wallet=acc.wallet, run=run, entries=paid, ids=ids, now=now)
        if acc.wallet is not None and acc.updates:
            # a new balance or a service turned VALID/INVALID: CHANGED estimation looks again
            acc.wallet.changed_at = now
            touched.append(acc.wallet)
        updates += acc.updates
        advanced += acc.advanced
        usage += acc.usage_rated
        errors += acc.errors
    if ledger:
        insert_rows(WalletTransaction, LEDGER_FIELDS, ledger)
    if touched:
        update_rows(Wallet, touched, ["balance", "changed_at"])
    low_balance_emit(changes=moved, tenant=run.tenant)
    if updates:
        update_rows(
            SubscriptionService,
            updates,
            ["rated_up_to", "prepayment_state", "prepayment_checked_at"],
        )
    if advanced:
        update_rows(SubscriptionService, advanced, ["rated_up_to"])
    if usage:
        UsageRecord.objects.filter(pk__in=usage).update(state=UsageRecord.State.RATED)
    if errors:
        PrepaidRunError.objects.bulk_create(errors, ignore_conflicts=True)


def prepaid_run_process_chunk(*, chunk_id: int) -> int:
    """Rate and debit one chunk's accounts (one transaction each); returns accounts processed."""
    chunk = PrepaidRunChunk.objects.select_related("run__tenant").get(pk=chunk_id)
    run = chunk.run
    if chunk.done or run.status != Status.IDENTIFICATION_AND_RATING:
        return 0
    PrepaidRunChunk.objects.filter(pk=chunk.pk).update(attempts=F("attempts") + 1)
    ids = sorted(chunk.account_ids)
    tally = {"items": 0, "debited": ZERO, "credited": ZERO, "invalid": 0, "errors": 0}
    per = max(1, int(getattr(settings, "PREPAID_ACCOUNTS_PER_TRANSACTION", 100)))
    with _async_commits():
        for start in range(0, len(ids), per):
            batch = ids[start : start + per]
            for key, value in _process_accounts(run, batch).items():
                tally[key] += value
        # Counters move with the chunk's done mark (finalisation ties the money out from the
        # rows): an account re-run after a crash counts its still-INVALID services once.
        with transaction.atomic():
            marked = PrepaidRunChunk.objects.filter(pk=chunk.pk, done=False).update(
                done=True, done_at=timezone.now(), worker=worker_label()
            )
            if marked:
                PrepaidBillingRun.objects.filter(pk=run.pk).update(
                    chunks_done=F("chunks_done") + 1,
                    accounts_done=F("accounts_done") + len(ids),
                    rated_count=F("rated_count") + tally["items"],
                    debited_total=F("debited_total") + tally["debited"],
                    credited_total=F("credited_total") + tally["credited"],
                    invalid_count=F("invalid_count") + tally["invalid"],
                    errors_count=F("errors_count") + tally["errors"],
                )
    log.info("prepaid chunk done", extra={"run": run.pk, "chunk": chunk.index})
    return len(ids)
