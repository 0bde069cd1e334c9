"""The wallet ledger: the only code that moves a balance, always with a row under a row lock."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from wallets.events import low_balance_emit
from wallets.models import Wallet, WalletDefinition, WalletTransaction

CENT = Decimal("0.01")
TOPUP_MAX = Decimal("1000000.00")
# what a balance column holds (14 digits, 2 decimals): past it a credit is refused, not a 500
BALANCE_MAX = Decimal("999999999999.99")
REFERENCE_MAX = 120
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)


def parse_money(value, *, field: str, minimum: Decimal | None = Decimal("0"), strict=False):
    """A Decimal with at most 2 decimals from a Decimal, int or text; DomainError naming `field`.

    `strict` refuses the minimum itself (amount > minimum instead of >= minimum)."""
    bound = "" if minimum is None else (f" > {minimum}" if strict else f" >= {minimum}")
    expected = f"{field}: expected an amount{bound} with at most 2 decimals"
    if isinstance(value, bool) or value is None:
        raise DomainError(expected, code="invalid_amount", details={"field": field})
    if isinstance(value, float):
        value = str(value)
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(expected, code="invalid_amount", details={"field": field}) from None
    # the size check first: quantizing 1e999999 would raise instead of refusing
    if not amount.is_finite() or abs(amount) >= Decimal("1e12") or amount != amount.quantize(CENT):
        raise DomainError(expected, code="invalid_amount", details={"field": field})
    if minimum is not None and (amount <= minimum if strict else amount < minimum):
        raise DomainError(expected, code="invalid_amount", details={"field": field})
    return amount.quantize(CENT)


def parse_currency(value, *, field: str = "currency") -> str:
    """A 3-letter upper-case currency code."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise DomainError(f"{field}: expected a 3-letter code", details={"field": field})
    return value


def wallet_lock(*, tenant_id: int, wallet_id: int) -> Wallet:
    """The wallet row locked for update (call inside atomic()); NotFound across tenants."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("wallet_lock must be called inside transaction.atomic()")
    wallet = (
        Wallet.objects.select_for_update(of=("self",))
        .filter(tenant_id=tenant_id, pk=wallet_id)
        .first()
    )
    if wallet is None:
        raise NotFound(f"wallet {wallet_id}: not found", details={"wallet": wallet_id})
    return wallet


def _check_manual_debit(wallet: Wallet) -> None:
    """A manual debit needs MANUAL among the active wallet definition's debit causes (none
    active: every cause debits)."""
    definition = WalletDefinition.active_for(wallet.tenant_id)
    if definition is not None and not definition.lists(WalletDefinition.Cause.MANUAL):
        raise DomainError(
            f"cause: MANUAL is not a debit cause of the active wallet definition {definition.code}",
            code="cause_not_allowed",
            details={"field": "cause", "wallet_definition": definition.code},
        )


def wallet_post(
    *,
    wallet: Wallet,
    amount: Decimal,
    cause: str,
    user=None,
    run=None,
    service=None,
    item=None,
    reference: str = "",
) -> WalletTransaction:
    """Write one ledger row and move the (locked) wallet's balance by the signed amount."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("wallet_post must be called inside transaction.atomic() with the lock")
    amount = parse_money(amount, field="amount", minimum=None)
    if amount == 0:
        raise DomainError("amount: expected a non-zero amount", details={"field": "amount"})
    if cause not in WalletTransaction.Cause.values:
        raise DomainError(
            f"cause: expected one of {', '.join(WalletTransaction.Cause.values)}",
            details={"field": "cause"},
        )
    if amount < 0 and cause == WalletTransaction.Cause.MANUAL:
        _check_manual_debit(wallet)
    balance = wallet.balance + amount
    if balance > BALANCE_MAX:
        raise DomainError(
            f"amount: the balance of wallet {wallet.pk} would pass {BALANCE_MAX}",
            code="balance_limit",
            details={"wallet": wallet.pk, "field": "amount"},
        )
    if balance < 0:
        raise DomainError(
            f"amount: a debit of {-amount} exceeds the balance {wallet.balance} "
            f"of wallet {wallet.pk}",
            code="insufficient_funds",
            details={"wallet": wallet.pk, "balance": str(wallet.balance), "amount": str(amount)},
        )
    now = timezone.now()
    before = wallet.balance
    wallet.balance = balance
    wallet.changed_at = now
    wallet.save(update_fields=["balance", "changed_at"])
    low_balance_emit(changes=[(wallet, before)])
    return WalletTransaction.objects.create(
        tenant_id=wallet.tenant_id,
        wallet=wallet,
        kind=WalletTransaction.Kind.CREDIT if amount > 0 else WalletTransaction.Kind.DEBIT,
        amount=amount,
        balance_after=balance,
        cause=cause,
        reference=(reference or "")[:REFERENCE_MAX],
        run=run,
        service=service,
        item=item,
        created_by=user,
        created_at=now,
    )


def _reference(reference) -> str:
    text = reference.strip() if isinstance(reference, str) else ""
    if not text:
        raise DomainError("reference: expected a text (required)", details={"field": "reference"})
    if len(text) > REFERENCE_MAX:
        raise DomainError(
            f"reference: expected at most {REFERENCE_MAX} characters",
            details={"field": "reference"},
        )
    return text


def wallet_topup(
    *, actor: Actor, wallet_id: int, amount: Decimal, reference: str
) -> WalletTransaction:
    """Credit a wallet (scope wallets.topup), audited as Wallet.topup."""
    actor.require(S.WALLETS_TOPUP)
    amount = parse_money(amount, field="amount", minimum=Decimal("0"), strict=True)
    if amount > TOPUP_MAX:
        raise DomainError(
            f"amount: expected at most {TOPUP_MAX:,} per top-up",
            code="invalid_amount",
            details={"field": "amount"},
        )
    reference = _reference(reference)
    with transaction.atomic():
        wallet = wallet_lock(tenant_id=actor.tenant.pk, wallet_id=wallet_id)
        tx = wallet_post(
            wallet=wallet,
            amount=amount,
            cause=WalletTransaction.Cause.TOP_UP,
            user=actor.user,
            reference=reference,
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="Wallet.topup",
            obj=wallet,
            reason=reference,
            payload={
                "transaction": tx.pk,
                "amount": str(amount),
                "currency": wallet.currency,
                "balance": str(wallet.balance),
            },
        )
    return tx


def _threshold(value, field: str) -> Decimal:
    return parse_money(value, field=field, minimum=Decimal("0"))


def wallet_open(
    *,
    actor: Actor,
    account,
    currency: str = "USD",
    min_balance_threshold=0,
    stop_service_threshold=0,
    restrict_below_stop=False,
    opening_balance=0,
) -> Wallet:
    """Open an account's wallet in a currency, with its opening balance as a CREDIT row."""
    from invoicing.models import Account

    actor.require(S.WALLETS_RUN_TRIGGER)
    if isinstance(account, str):
        found = Account.objects.filter(tenant=actor.tenant, number=account).first()
        if found is None:
            raise DomainError(f"account: no account numbered '{account}'", code="unknown_account")
        account = found
    elif getattr(account, "tenant_id", None) != actor.tenant.pk:
        raise NotFound("account: not found", details={"field": "account"})
    currency = parse_currency(currency)
    low = _threshold(min_balance_threshold, "min_balance_threshold")
    stop = _threshold(stop_service_threshold, "stop_service_threshold")
    opening = parse_money(opening_balance, field="opening_balance", minimum=Decimal("0"))
    if not isinstance(restrict_below_stop, bool):
        raise DomainError("restrict_below_stop: expected true or false")
    with transaction.atomic():
        if Wallet.objects.filter(account=account, currency=currency).exists():
            raise Conflict(
                f"currency: account {account.number} already has a {currency} wallet",
                code="wallet_exists",
            )
        wallet = Wallet.objects.create(
            tenant=actor.tenant,
            account=account,
            currency=currency,
            min_balance_threshold=low,
            stop_service_threshold=stop,
            restrict_below_stop=restrict_below_stop,
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="Wallet.open",
            obj=wallet,
            payload={
                "account": account.number,
                "currency": currency,
                "min_balance_threshold": str(low),
                "stop_service_threshold": str(stop),
                "restrict_below_stop": restrict_below_stop,
                "opening_balance": str(opening),
            },
        )
        if opening > 0:
            wallet = wallet_lock(tenant_id=actor.tenant.pk, wallet_id=wallet.pk)
            wallet_post(
                wallet=wallet,
                amount=opening,
                cause=WalletTransaction.Cause.OPENING_BALANCE,
                user=actor.user,
                reference="opening balance",
            )
    return wallet


def wallet_thresholds_update(
    *,
    actor: Actor,
    wallet_id: int,
    min_balance_threshold=None,
    stop_service_threshold=None,
    restrict_below_stop=None,
    reason: str,
) -> Wallet:
    """Change a wallet's thresholds (scope wallets.run.trigger), audited with a reason."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    if not (reason or "").strip():
        raise DomainError("reason: expected a text (required)", code="reason_required")
    changes: dict = {}
    if min_balance_threshold is not None:
        changes["min_balance_threshold"] = _threshold(
            min_balance_threshold, "min_balance_threshold"
        )
    if stop_service_threshold is not None:
        changes["stop_service_threshold"] = _threshold(
            stop_service_threshold, "stop_service_threshold"
        )
    if restrict_below_stop is not None:
        if not isinstance(restrict_below_stop, bool):
            raise DomainError("restrict_below_stop: expected true or false")
        changes["restrict_below_stop"] = restrict_below_stop
    with transaction.atomic():
        wallet = wallet_lock(tenant_id=actor.tenant.pk, wallet_id=wallet_id)
        before = {name: getattr(wallet, name) for name in changes}
        changed = [name for name, value in changes.items() if before[name] != value]
        if not changed:
            return wallet
        for name in changed:
            setattr(wallet, name, changes[name])
        wallet.save(update_fields=changed)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="Wallet.thresholds_update",
            obj=wallet,
            reason=reason,
            reason_required=True,
            payload={n: {"from": str(before[n]), "to": str(changes[n])} for n in changed},
        )
    return wallet
