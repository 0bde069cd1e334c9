"""Partner writes: subscriptions, services, their state periods and usage records (audited)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from core.months import MonthError, parse_date
from wallets.models import (
    Product,
    ServiceStatePeriod,
    Subscription,
    SubscriptionService,
    UsageRecord,
    Wallet,
)
from wallets.services.ledger import parse_money

EXTERNAL_ID_MAX = 80
PRODUCT_MAX = 60
PERIOD_DAYS_MAX = 3660  # the API's schema bound too (one limit for every entry point)


def as_date(value, *, field: str, optional: bool = False) -> date | None:
    """A date from a date or `YYYY-MM-DD` text; DomainError naming the field."""
    if value is None and optional:
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        value = value.isoformat()  # the same accepted years as text (admin forms, callers)
    try:
        return parse_date(value)
    except MonthError as exc:
        raise DomainError(f"{field}: {exc}", details={"field": field}) from None


def as_text(value, *, field: str, limit: int, required: bool = True) -> str:
    """A stripped text up to `limit` characters."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        need = "a non-empty text" if required else "a text"
        raise DomainError(f"{field}: expected {need} up to {limit} characters")
    return value.strip()


def as_period_days(value, *, field: str = "period_days") -> int:
    """A whole number of days from 1 to PERIOD_DAYS_MAX."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= PERIOD_DAYS_MAX:
        raise DomainError(
            f"{field}: expected a whole number from 1 to {PERIOD_DAYS_MAX}",
            details={"field": field},
        )
    return value


def as_choice(value, choices, *, field: str) -> str:
    """One of the model's choice values."""
    if value not in choices:
        raise DomainError(f"{field}: expected one of {', '.join(choices)}")
    return value


def lock_wallets(*, tenant_id: int, account_ids) -> list[Wallet]:
    """Lock the accounts' wallet rows in id order (inside atomic()).

    Every catalog write takes these locks FIRST and only then locks its service or usage row:
    a prepaid run chunk locks an account's wallets and then updates its services and usage, so
    the opposite order would deadlock against a run on PostgreSQL.
    """
    return list(
        Wallet.objects.select_for_update(of=("self",))
        .filter(tenant_id=tenant_id, account_id__in=set(account_ids))
        .order_by("id")
    )


def touch_wallets(*, tenant_id: int, account_id: int) -> None:
    """Mark the account's wallets changed now (CHANGED estimation picks them up); the caller
    has locked them with lock_wallets first."""
    Wallet.objects.filter(tenant_id=tenant_id, account_id=account_id).update(
        changed_at=timezone.now()
    )


def _account(actor: Actor, number) -> object:
    from invoicing.models import Account

    number = as_text(number, field="account_number", limit=40)
    account = Account.objects.filter(tenant=actor.tenant, number=number).first()
    if account is None:
        raise DomainError(f"account_number: no account numbered '{number}'", code="unknown_account")
    return account


def product_for(*, tenant, code: str) -> Product:
    """The tenant's product by code, created when new."""
    return Product.objects.get_or_create(tenant=tenant, code=code)[0]


def subscription_create(*, actor: Actor, account_number: str, external_id: str) -> Subscription:
    """Add an account's subscription, known by its external id."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    external_id = as_text(external_id, field="external_id", limit=EXTERNAL_ID_MAX)
    account = _account(actor, account_number)
    taken = Conflict(f"external_id: subscription '{external_id}' already exists")
    with transaction.atomic():
        lock_wallets(tenant_id=actor.tenant.pk, account_ids=[account.pk])
        if Subscription.objects.filter(tenant=actor.tenant, external_id=external_id).exists():
            raise taken
        try:
            with transaction.atomic():  # a concurrent create of the same id: 409, not 500
                sub = Subscription.objects.create(
                    tenant=actor.tenant, account=account, external_id=external_id
                )
        except IntegrityError:
            raise taken from None
        touch_wallets(tenant_id=actor.tenant.pk, account_id=account.pk)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="Subscription.create",
            obj=sub,
            payload={"account": account.number, "external_id": external_id},
        )
    return sub


def subscription_update(
    *, actor: Actor, subscription_id: int, account_number: str | None = None
) -> Subscription:
    """Move a subscription (with its services) to another account of the tenant."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    with transaction.atomic():
        old_id = (
            Subscription.objects.filter(tenant=actor.tenant, pk=subscription_id)
            .values_list("account_id", flat=True)
            .first()
        )
        if old_id is None:
            raise NotFound(
                f"subscription {subscription_id}: not found",
                details={"subscription": subscription_id},
            )
        target = None if account_number is None else _account(actor, account_number)
        new_id = old_id if target is None else target.pk
        # the run's lock order: both accounts' wallets (id order), then the subscription row
        wallets = lock_wallets(tenant_id=actor.tenant.pk, account_ids=[old_id, new_id])
        sub = (
            Subscription.objects.select_for_update(of=("self",))
            .filter(tenant=actor.tenant, pk=subscription_id, account_id=old_id)
            .select_related("account")
            .first()
        )
        if sub is None:  # moved meanwhile: start again from its new account
            return subscription_update(
                actor=actor, subscription_id=subscription_id, account_number=account_number
            )
        if new_id == old_id:
            return sub
        if not any(w.account_id == new_id for w in wallets):
            raise Conflict(
                f"account_number: account '{target.number}' has no wallet; open one first",
                code="no_wallet",
                details={"account": target.number},
            )
        before = sub.account.number
        sub.account = target
        sub.save(update_fields=["account"])
        for account_id in sorted({old_id, new_id}):
            touch_wallets(tenant_id=actor.tenant.pk, account_id=account_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="Subscription.update",
            obj=sub,
            payload={"account": {"from": before, "to": target.number}},
        )
    return sub


def check_periods(periods: list[tuple[str, date, date | None]], *, field: str = "periods") -> None:
    """Refuse a period ending before it starts and two periods that overlap."""
    for i, (_, start, end) in enumerate(periods):
        if end is not None and end <= start:
            raise DomainError(f"{field}[{i}].end: expected a date after start ({start})")
    order = sorted(range(len(periods)), key=lambda i: periods[i][1])
    for a, b in zip(order, order[1:], strict=False):
        end_a = periods[a][2]
        if end_a is None or end_a > periods[b][1]:
            raise DomainError(f"{field}[{b}]: overlaps {field}[{a}]")


def periods_parse(raw, field: str = "periods") -> list[tuple[str, date, date | None]]:
    """(state, start, end) tuples from [{"state", "start", "end"}], checked for overlaps."""
    if not isinstance(raw, list | tuple):
        raise DomainError(f"{field}: expected a list")
    out = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict):
            raise DomainError(f"{field}[{i}]: expected an object")
        state = as_choice(
            p.get("state"), ServiceStatePeriod.State.values, field=f"{field}[{i}].state"
        )
        start = as_date(p.get("start"), field=f"{field}[{i}].start")
        end = as_date(p.get("end"), field=f"{field}[{i}].end", optional=True)
        out.append((state, start, end))
    check_periods(out, field=field)
    return out


def service_create(
    *,
    actor: Actor,
    subscription_external_id: str,
    external_id: str,
    product: str,
    price_per_period: Decimal,
    period_days: int,
    rating: str,
    rated_up_to: date | None = None,
    periods: list[dict] = (),
) -> SubscriptionService:
    """Add a service (with its state periods) to a subscription."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    sub_id = as_text(subscription_external_id, field="subscription_external_id", limit=80)
    external_id = as_text(external_id, field="external_id", limit=EXTERNAL_ID_MAX)
    code = as_text(product, field="product", limit=PRODUCT_MAX)
    price = parse_money(price_per_period, field="price_per_period")
    days = as_period_days(period_days)
    rating = as_choice(rating, SubscriptionService.Rating.values, field="rating")
    rated = as_date(rated_up_to, field="rated_up_to", optional=True)
    spans = periods_parse(list(periods or []))
    sub = Subscription.objects.filter(tenant=actor.tenant, external_id=sub_id).first()
    if sub is None:
        raise DomainError(
            f"subscription_external_id: no subscription '{sub_id}'", code="unknown_subscription"
        )
    taken = Conflict(f"external_id: service '{external_id}' already exists")
    with transaction.atomic():
        lock_wallets(tenant_id=actor.tenant.pk, account_ids=[sub.account_id])
        if SubscriptionService.objects.filter(
            tenant=actor.tenant, external_id=external_id
        ).exists():
            raise taken
        product_row = product_for(tenant=actor.tenant, code=code)
        try:
            with transaction.atomic():  # a concurrent create of the same id: 409, not 500
                service = SubscriptionService.objects.create(
                    tenant=actor.tenant,
                    subscription=sub,
                    external_id=external_id,
                    product=product_row,
                    price_per_period=price,
                    period_days=days,
                    rating=rating,
                    rated_up_to=rated,
                )
        except IntegrityError:
            raise taken from None
        ServiceStatePeriod.objects.bulk_create(
            ServiceStatePeriod(tenant=actor.tenant, service=service, state=s, start=a, end=e)
            for s, a, e in spans
        )
        touch_wallets(tenant_id=actor.tenant.pk, account_id=sub.account_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="SubscriptionService.create",
            obj=service,
            payload={
                "subscription": sub_id,
                "external_id": external_id,
                "product": code,
                "price_per_period": str(price),
                "period_days": days,
                "rating": rating,
                "rated_up_to": rated.isoformat() if rated else None,
                "periods": [[s, a.isoformat(), e.isoformat() if e else None] for s, a, e in spans],
            },
        )
    return service


def _lock_service(actor: Actor, service_id) -> SubscriptionService:
    """Lock the account's wallets, then the service row (the prepaid run's lock order)."""
    account_id = (
        SubscriptionService.objects.filter(tenant=actor.tenant, pk=service_id)
        .values_list("subscription__account_id", flat=True)
        .first()
    )
    if account_id is None:
        raise NotFound(f"service {service_id}: not found", details={"service": service_id})
    lock_wallets(tenant_id=actor.tenant.pk, account_ids=[account_id])
    service = (
        SubscriptionService.objects.select_for_update(of=("self",))
        .filter(tenant=actor.tenant, pk=service_id, subscription__account_id=account_id)
        .select_related("subscription")
        .first()
    )
    if service is None:  # deleted or moved to another account meanwhile: retry once
        return _lock_service(actor, service_id)
    return service


def service_update(
    *, actor: Actor, service_id: int, price_per_period=None, period_days=None, product=None
) -> SubscriptionService:
    """Change a service's price, period or product; what is already rated keeps its price."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    changes: dict = {}
    if price_per_period is not None:
        changes["price_per_period"] = parse_money(price_per_period, field="price_per_period")
    if period_days is not None:
        changes["period_days"] = as_period_days(period_days)
    if product is not None:
        code = as_text(product, field="product", limit=PRODUCT_MAX)
        changes["product"] = product_for(tenant=actor.tenant, code=code)
    with transaction.atomic():
        service = _lock_service(actor, service_id)
        changed = [n for n, v in changes.items() if getattr(service, n) != v]
        if not changed:
            return service
        before = {n: str(getattr(service, n)) for n in changed}
        for name in changed:
            setattr(service, name, changes[name])
        service.updated_at = timezone.now()
        service.save(update_fields=[*changed, "updated_at"])
        touch_wallets(tenant_id=actor.tenant.pk, account_id=service.subscription.account_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="SubscriptionService.update",
            obj=service,
            payload={n: {"from": before[n], "to": str(changes[n])} for n in changed},
        )
    return service


def service_period_add(
    *, actor: Actor, service_id: int, state: str, start: date, end: date | None = None
) -> ServiceStatePeriod:
    """Add a state period; the open one is closed at `start`; overlaps are refused."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    state = as_choice(state, ServiceStatePeriod.State.values, field="state")
    start = as_date(start, field="start")
    end = as_date(end, field="end", optional=True)
    if end is not None and end <= start:
        raise DomainError(f"end: expected a date after start ({start})")
    with transaction.atomic():
        service = _lock_service(actor, service_id)
        existing = list(service.periods.order_by("start", "id"))
        open_period = next((p for p in existing if p.end is None), None)
        closing = open_period is not None and open_period.start < start
        for p in existing:
            p_end = start if (closing and p is open_period) else p.end
            if p.start < (end or date.max) and (p_end is None or p_end > start):
                span = f"[{p.start}, {p_end or 'open'})"
                raise Conflict(
                    f"start: [{start}, {end or 'open'}) overlaps the {p.state} period {span}",
                    code="period_overlap",
                )
        if closing:
            open_period.end = start
            open_period.save(update_fields=["end"])
        period = ServiceStatePeriod.objects.create(
            tenant=actor.tenant, service=service, state=state, start=start, end=end
        )
        service.updated_at = timezone.now()
        service.save(update_fields=["updated_at"])
        touch_wallets(tenant_id=actor.tenant.pk, account_id=service.subscription.account_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="SubscriptionService.period_add",
            obj=service,
            payload={
                "state": state,
                "start": start.isoformat(),
                "end": end.isoformat() if end else None,
                "closed": open_period.pk if closing else None,
            },
        )
    return period


def usage_create(
    *,
    actor: Actor,
    service_id: int,
    amount: Decimal,
    directive: str,
    billing_effective_date: date,
    external_id: str = "",
) -> UsageRecord:
    """Post a usage record against a service (rated once by the next run)."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    amount = parse_money(amount, field="amount", minimum=Decimal("0"), strict=True)
    directive = as_choice(directive, UsageRecord.Directive.values, field="directive")
    day = as_date(billing_effective_date, field="billing_effective_date")
    external_id = as_text(external_id, field="external_id", limit=EXTERNAL_ID_MAX, required=False)
    with transaction.atomic():
        service = _lock_service(actor, service_id)
        if (
            external_id
            and UsageRecord.objects.filter(tenant=actor.tenant, external_id=external_id).exists()
        ):
            raise Conflict(f"external_id: usage record '{external_id}' already exists")
        try:
            with transaction.atomic():
                record = UsageRecord.objects.create(
                    tenant=actor.tenant,
                    service=service,
                    external_id=external_id,
                    amount=amount,
                    directive=directive,
                    billing_effective_date=day,
                )
        except IntegrityError:
            raise Conflict(f"external_id: usage record '{external_id}' already exists") from None
        touch_wallets(tenant_id=actor.tenant.pk, account_id=service.subscription.account_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="UsageRecord.create",
            obj=record,
            payload={
                "service": service.external_id,
                "amount": str(amount),
                "directive": directive,
                "billing_effective_date": day.isoformat(),
                "external_id": external_id,
            },
        )
    return record


def _lock_usage(actor: Actor, usage_id) -> UsageRecord:
    """Lock the account's wallets, then the usage row (the prepaid run's lock order)."""
    account_id = (
        UsageRecord.objects.filter(tenant=actor.tenant, pk=usage_id)
        .values_list("service__subscription__account_id", flat=True)
        .first()
    )
    if account_id is None:
        raise NotFound(f"usage record {usage_id}: not found", details={"usage": usage_id})
    lock_wallets(tenant_id=actor.tenant.pk, account_ids=[account_id])
    record = (
        UsageRecord.objects.select_for_update(of=("self",))
        .filter(tenant=actor.tenant, pk=usage_id, service__subscription__account_id=account_id)
        .select_related("service__subscription")
        .first()
    )
    if record is None:  # its subscription moved to another account meanwhile: retry
        return _lock_usage(actor, usage_id)
    return record


def usage_update(
    *,
    actor: Actor,
    usage_id: int,
    directive: str | None = None,
    amount=None,
    billing_effective_date=None,
) -> UsageRecord:
    """Change a usage record while it is POSTED; a RATED one is refused (409)."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    changes: dict = {}
    if directive is not None:
        changes["directive"] = as_choice(directive, UsageRecord.Directive.values, field="directive")
    if amount is not None:
        changes["amount"] = parse_money(amount, field="amount", minimum=Decimal("0"), strict=True)
    if billing_effective_date is not None:
        changes["billing_effective_date"] = as_date(
            billing_effective_date, field="billing_effective_date"
        )
    with transaction.atomic():
        record = _lock_usage(actor, usage_id)
        if record.state != UsageRecord.State.POSTED:
            raise Conflict(
                f"usage record {usage_id}: it is {record.state}; only a POSTED record can change",
                code="usage_rated",
            )
        changed = [n for n, v in changes.items() if getattr(record, n) != v]
        if not changed:
            return record
        before = {n: str(getattr(record, n)) for n in changed}
        for name in changed:
            setattr(record, name, changes[name])
        record.save(update_fields=changed)
        touch_wallets(tenant_id=actor.tenant.pk, account_id=record.service.subscription.account_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="UsageRecord.update",
            obj=record,
            payload={n: {"from": before[n], "to": str(changes[n])} for n in changed},
        )
    return record
