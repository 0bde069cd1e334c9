"""Reads for wallets, their ledger, subscriptions, services and usage: tenant-filtered."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError, NotFound
from wallets.models import (
    RatedItem,
    ServiceStatePeriod,
    Subscription,
    SubscriptionService,
    UsageRecord,
    Wallet,
    WalletTransaction,
)

RUN_OUT_DAYS = 7


def _low_filter() -> Q:
    soon = timezone.localdate() + timedelta(days=RUN_OUT_DAYS)
    return (
        Q(balance__lte=0)
        | Q(balance__lt=F("stop_service_threshold"))
        | Q(balance__lt=F("min_balance_threshold"))
        | Q(estimated_consumption_date__isnull=False, estimated_consumption_date__lte=soon)
    )


def wallet_state(wallet: Wallet, today: date) -> str:
    """'empty' at zero; 'low' below a threshold or running out within RUN_OUT_DAYS; else
    'healthy': the same rule as the low filter, for one wallet (badges, dashboard panel)."""
    if wallet.balance <= 0:
        return "empty"
    if wallet.balance < max(wallet.min_balance_threshold, wallet.stop_service_threshold):
        return "low"
    runout = wallet.estimated_consumption_date
    if runout is not None and runout <= today + timedelta(days=RUN_OUT_DAYS):
        return "low"
    return "healthy"


def wallet_list(*, actor: Actor, account: str = "", low: bool = False) -> QuerySet[Wallet]:
    """The tenant's wallets, optionally of one account number and/or only the low ones."""
    actor.require(S.WALLETS_VIEW)
    qs = Wallet.objects.filter(tenant=actor.tenant).select_related("account")
    if account:
        qs = qs.filter(account__number__iexact=account.strip())
    if low:
        qs = qs.filter(_low_filter())
    return _with_pending_charges(qs).order_by("account__number", "currency", "id")


def _with_pending_charges(qs: QuerySet[Wallet]) -> QuerySet[Wallet]:
    """Annotate each wallet with its account's NOT_BILLED charges (one query for a whole page)."""
    pending = (
        RatedItem.objects.filter(
            account_id=OuterRef("account_id"), state=RatedItem.State.NOT_BILLED, amount__gt=0
        )
        .order_by()
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return qs.annotate(pending_charges=Subquery(pending))


def wallet_get(*, actor: Actor, pk: int) -> Wallet:
    """One wallet of the tenant; NotFound otherwise (another tenant's ids look the same)."""
    actor.require(S.WALLETS_VIEW)
    wallet = Wallet.objects.filter(tenant=actor.tenant, pk=pk).select_related("account").first()
    if wallet is None:
        raise NotFound(f"wallet {pk}: not found", details={"wallet": pk})
    return wallet


def wallet_for_account(*, actor: Actor, account_number: str, currency: str | None = None) -> Wallet:
    """The wallet of an account number (the currency is needed only when it has several)."""
    actor.require(S.WALLETS_VIEW)
    qs = Wallet.objects.filter(tenant=actor.tenant, account__number=account_number)
    currency = (currency or "").strip().upper()  # codes are stored upper-case: "usd" is USD
    if currency:
        qs = qs.filter(currency=currency)
    wallets = list(qs.select_related("account")[:2])
    if not wallets:
        what = f" in {currency}" if currency else ""
        raise NotFound(
            f"account: no wallet{what} for account '{account_number}'",
            details={"account": account_number},
        )
    if len(wallets) > 1:
        raise DomainError(
            f"currency: account '{account_number}' has several wallets; name the currency",
            code="currency_required",
        )
    return wallets[0]


def wallet_available(wallet: Wallet) -> Decimal:
    """The balance minus the amounts of the account's NOT_BILLED charge items."""
    if hasattr(wallet, "pending_charges"):  # annotated by wallet_list
        return wallet.balance - (wallet.pending_charges or Decimal("0"))
    pending = RatedItem.objects.filter(
        account_id=wallet.account_id,
        state=RatedItem.State.NOT_BILLED,
        amount__gt=0,
    ).aggregate(total=Sum("amount"))["total"]
    return wallet.balance - (pending or Decimal("0"))


def transaction_list(*, actor: Actor, wallet_id: int) -> QuerySet[WalletTransaction]:
    """A wallet's ledger rows, newest first."""
    wallet = wallet_get(actor=actor, pk=wallet_id)
    return (
        WalletTransaction.objects.filter(tenant=actor.tenant, wallet=wallet)
        .select_related("service", "created_by")
        .order_by("-id")
    )


def service_list(
    *, actor: Actor, account_id: int | None = None, subscription_id: int | None = None
) -> QuerySet[SubscriptionService]:
    """The tenant's services (with product, subscription, account and periods), in id order."""
    actor.require(S.WALLETS_VIEW)
    qs = SubscriptionService.objects.filter(tenant=actor.tenant)
    if account_id is not None:
        qs = qs.filter(subscription__account_id=account_id)
    if subscription_id is not None:
        qs = qs.filter(subscription_id=subscription_id)
    return (
        qs.select_related("product", "subscription", "subscription__account")
        .prefetch_related(
            Prefetch("periods", queryset=ServiceStatePeriod.objects.order_by("start", "id"))
        )
        .order_by("id")
    )


def service_get(*, actor: Actor, pk: int) -> SubscriptionService:
    """One service of the tenant; NotFound otherwise."""
    service = service_list(actor=actor).filter(pk=pk).first()
    if service is None:
        raise NotFound(f"service {pk}: not found", details={"service": pk})
    return service


def subscription_list(*, actor: Actor, account: str = "") -> QuerySet[Subscription]:
    """The tenant's subscriptions, optionally of one account number."""
    actor.require(S.WALLETS_VIEW)
    qs = Subscription.objects.filter(tenant=actor.tenant).select_related("account")
    if account:
        qs = qs.filter(account__number__iexact=account.strip())
    return qs.order_by("id")


def subscription_get(*, actor: Actor, pk: int) -> Subscription:
    """One subscription of the tenant; NotFound otherwise."""
    sub = subscription_list(actor=actor).filter(pk=pk).first()
    if sub is None:
        raise NotFound(f"subscription {pk}: not found", details={"subscription": pk})
    return sub


def usage_list(
    *, actor: Actor, service_id: int | None = None, state: str = ""
) -> QuerySet[UsageRecord]:
    """The tenant's usage records, optionally of one service and/or in one state."""
    actor.require(S.WALLETS_VIEW)
    qs = UsageRecord.objects.filter(tenant=actor.tenant).select_related("service")
    if service_id is not None:
        qs = qs.filter(service_id=service_id)
    if state:
        if state not in UsageRecord.State.values:
            raise DomainError(f"state: expected one of {', '.join(UsageRecord.State.values)}")
        qs = qs.filter(state=state)
    return qs.order_by("id")


def usage_get(*, actor: Actor, pk: int) -> UsageRecord:
    """One usage record of the tenant; NotFound otherwise."""
    record = usage_list(actor=actor).filter(pk=pk).first()
    if record is None:
        raise NotFound(f"usage record {pk}: not found", details={"usage": pk})
    return record


def rated_item_list(*, actor: Actor, account_id: int) -> QuerySet[RatedItem]:
    """An account's rated items, the newest run first (then by service and date), with the
    service and bundle component the screens show."""
    actor.require(S.WALLETS_VIEW)
    return (
        RatedItem.objects.filter(tenant=actor.tenant, account_id=account_id)
        .select_related("account", "service", "component", "run")
        .order_by("-run_id", "account_id", "service_id", "start", "id")
    )


def low_balance_wallets(*, actor: Actor, limit: int = 10) -> list[Wallet]:
    """Wallets under a threshold or running out within 7 days, lowest balance first."""
    actor.require(S.WALLETS_VIEW)
    qs = (
        Wallet.objects.filter(tenant=actor.tenant)
        .filter(_low_filter())
        .select_related("account")
        .order_by("balance", "id")
    )
    return list(qs[: max(int(limit), 0)])


def balance_history(*, wallet: Wallet) -> list[tuple[datetime, Decimal]]:
    """The wallet's balance after each ledger row, oldest first (the burn-down chart)."""
    return list(
        WalletTransaction.objects.filter(wallet=wallet)
        .order_by("id")
        .values_list("created_at", "balance_after")
    )
