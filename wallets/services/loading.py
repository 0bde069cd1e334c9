"""Load wallets, subscriptions, services and usage from a partner file: all or nothing, idempotent.

Every error is named by its path (`subscriptions[1].services[0].period_days: ...`) and all of
them are reported at once; nothing is written unless the whole file is valid. Re-loading the
same file changes nothing: wallets are matched by (account, currency), subscriptions and
services by external id, usage by external id or else by (service, amount, directive, date).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import DomainError
from wallets.models import (
    Product,
    ServiceStatePeriod,
    Subscription,
    SubscriptionService,
    UsageRecord,
    Wallet,
    WalletTransaction,
)
from wallets.services import catalog as C
from wallets.services import pricing as P
from wallets.services.ledger import (
    parse_currency,
    parse_money,
    wallet_lock,
    wallet_open,
    wallet_post,
    wallet_thresholds_update,
)

ZERO = Decimal("0")
WALLET_KEYS = {
    "account",
    "currency",
    "min_balance_threshold",
    "stop_service_threshold",
    "restrict_below_stop",
    "opening_balance",
}
SUBSCRIPTION_KEYS = {"external_id", "account", "services"}
SERVICE_KEYS = {
    "external_id",
    "product",
    "price_per_period",
    "period_days",
    "rating",
    "rated_up_to",
    "periods",
    "binding_end",
}
USAGE_KEYS = {"service", "amount", "directive", "billing_effective_date", "external_id"}
LOAD_REASON = "load_prepaid"


@dataclass
class _Plan:
    wallets: list[dict] = field(default_factory=list)
    subscriptions: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    usage: list[dict] = field(default_factory=list)
    pricing: dict = field(default_factory=dict)  # section -> entries (only the sections given)


class _Checker:
    """Collects every error of a file instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, message: str) -> None:
        self.errors.append(message)

    def value(self, parse: Callable, *args, **kwargs):
        """The parsed value, or None with the error recorded."""
        try:
            return parse(*args, **kwargs)
        except DomainError as exc:
            self.add(exc.message)
            return None

    def items(self, data: dict, key: str, path: str, keys: set[str]) -> list[tuple[str, dict]]:
        """The objects of a list field, each with its path; unknown fields are errors."""
        raw = data.get(key, [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            self.add(f"{path}: expected a list")
            return []
        out = []
        for i, item in enumerate(raw):
            where = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.add(f"{where}: expected an object")
                continue
            for extra in sorted(set(item) - keys, key=str):
                self.add(f"{where}.{extra}: unknown field (expected {', '.join(sorted(keys))})")
            out.append((where, item))
        return out


def _bool(value, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise DomainError(f"{field}: expected true or false")
    return value


def _required(item: dict, key: str, where: str, ck: _Checker) -> bool:
    if item.get(key) is None:
        ck.add(f"{where}.{key}: required")
        return False
    return True


def _validate(tenant, data) -> tuple[_Plan, list[str]]:
    from invoicing.models import Account

    ck, plan = _Checker(), _Plan()
    if not isinstance(data, dict):
        return plan, ["$: expected an object with wallets, subscriptions and usage"]
    sections = {"wallets", "subscriptions", "usage", *PRICING_SECTIONS}
    for extra in sorted(set(data) - sections, key=str):
        ck.add(f"{extra}: unknown field (expected {', '.join(sorted(sections))})")
    wallets = ck.items(data, "wallets", "wallets", WALLET_KEYS)
    subs = ck.items(data, "subscriptions", "subscriptions", SUBSCRIPTION_KEYS)
    usage = ck.items(data, "usage", "usage", USAGE_KEYS)

    numbers = {i.get("account") for _, i in wallets + subs if isinstance(i.get("account"), str)}
    accounts = {a.number: a for a in Account.objects.filter(tenant=tenant, number__in=numbers)}

    def account(item: dict, where: str):
        if not _required(item, "account", where, ck):
            return None
        number = item["account"]
        if not isinstance(number, str) or number not in accounts:
            ck.add(f"{where}.account: no account numbered '{number}' in this tenant")
            return None
        return accounts[number]

    seen_wallets: dict[tuple, str] = {}
    for where, item in wallets:
        acc = account(item, where)
        currency = ck.value(parse_currency, item.get("currency", "USD"), field=f"{where}.currency")
        entry = {"path": where, "account": acc, "currency": currency}
        for key in ("min_balance_threshold", "stop_service_threshold", "opening_balance"):
            entry[key] = ck.value(parse_money, item.get(key, ZERO), field=f"{where}.{key}")
        entry["restrict_below_stop"] = ck.value(
            _bool, item.get("restrict_below_stop", False), field=f"{where}.restrict_below_stop"
        )
        if acc is not None and currency is not None:
            key = (acc.number, currency)
            if key in seen_wallets:
                ck.add(
                    f"{where}: duplicate wallet of account '{acc.number}' in {currency} "
                    f"(also {seen_wallets[key]})"
                )
            seen_wallets.setdefault(key, where)
        plan.wallets.append(entry)

    sub_ids = {i.get("external_id") for _, i in subs if isinstance(i.get("external_id"), str)}
    existing_subs = {
        s.external_id: s
        for s in Subscription.objects.filter(tenant=tenant, external_id__in=sub_ids).select_related(
            "account"
        )
    }
    svc_ids = {
        s.get("external_id")
        for _, i in subs
        for s in (i.get("services") if isinstance(i.get("services"), list) else [])
        if isinstance(s, dict) and isinstance(s.get("external_id"), str)
    } | {u.get("service") for _, u in usage if isinstance(u.get("service"), str)}
    existing_svcs = {
        s.external_id: s
        for s in SubscriptionService.objects.filter(
            tenant=tenant, external_id__in=svc_ids
        ).select_related("subscription")
    }
    seen_subs: dict[str, str] = {}
    seen_svcs: dict[str, str] = {}
    for where, item in subs:
        acc = account(item, where)
        ext = ck.value(C.as_text, item.get("external_id"), field=f"{where}.external_id", limit=80)
        if ext is not None:
            if ext in seen_subs:
                ck.add(f"{where}.external_id: duplicate '{ext}' (also {seen_subs[ext]})")
            seen_subs.setdefault(ext, where)
            old = existing_subs.get(ext)
            if old is not None and acc is not None and old.account_id != acc.pk:
                ck.add(
                    f"{where}.account: subscription '{ext}' belongs to account "
                    f"'{old.account.number}'"
                )
        plan.subscriptions.append({"path": where, "account": acc, "external_id": ext})
        for s_where, svc in ck.items(item, "services", f"{where}.services", SERVICE_KEYS):
            plan.services.append(_service(ck, s_where, svc, ext, existing_svcs, seen_svcs))

    seen_usage: dict[str, str] = {}
    for where, item in usage:
        entry = {"path": where}
        ref = item.get("service")
        known = isinstance(ref, str) and (ref in seen_svcs or ref in existing_svcs)
        if _required(item, "service", where, ck) and not known:
            ck.add(f"{where}.service: no service '{ref}' in the file or this tenant")
        entry["service"] = ref
        if _required(item, "amount", where, ck):
            entry["amount"] = ck.value(
                parse_money, item["amount"], field=f"{where}.amount", strict=True
            )
        if _required(item, "directive", where, ck):
            entry["directive"] = ck.value(
                C.as_choice,
                item["directive"],
                UsageRecord.Directive.values,
                field=f"{where}.directive",
            )
        if _required(item, "billing_effective_date", where, ck):
            entry["billing_effective_date"] = ck.value(
                C.as_date, item["billing_effective_date"], field=f"{where}.billing_effective_date"
            )
        ext = ck.value(
            C.as_text,
            item.get("external_id"),
            field=f"{where}.external_id",
            limit=80,
            required=False,
        )
        if ext:
            if ext in seen_usage:
                ck.add(f"{where}.external_id: duplicate '{ext}' (also {seen_usage[ext]})")
            seen_usage.setdefault(ext, where)
        entry["external_id"] = ext or ""
        plan.usage.append(entry)
    _check_existing_usage(tenant, plan, ck)
    _validate_pricing(tenant, data, plan, ck)
    return plan, ck.errors


def _service(ck: _Checker, where: str, item: dict, sub_ext, existing: dict, seen: dict) -> dict:
    ext = ck.value(C.as_text, item.get("external_id"), field=f"{where}.external_id", limit=80)
    entry: dict = {"path": where, "subscription": sub_ext, "external_id": ext}
    entry["product"] = ck.value(C.as_text, item.get("product"), field=f"{where}.product", limit=60)
    entry["price_per_period"] = ck.value(
        parse_money, item.get("price_per_period"), field=f"{where}.price_per_period"
    )
    entry["period_days"] = ck.value(
        C.as_period_days, item.get("period_days"), field=f"{where}.period_days"
    )
    entry["rating"] = ck.value(
        C.as_choice, item.get("rating"), SubscriptionService.Rating.values, field=f"{where}.rating"
    )
    entry["rated_up_to"] = ck.value(
        C.as_date, item.get("rated_up_to"), field=f"{where}.rated_up_to", optional=True
    )
    raw = item.get("periods", [])
    entry["periods"] = ck.value(C.periods_parse, [] if raw is None else raw, f"{where}.periods")
    if "binding_end" in item:  # absent: left as it is; null: cleared
        entry["binding_end"] = ck.value(
            C.as_date, item["binding_end"], field=f"{where}.binding_end", optional=True
        )
    if ext is not None:
        if ext in seen:
            ck.add(f"{where}.external_id: duplicate '{ext}' (also {seen[ext]})")
        seen.setdefault(ext, where)
        old = existing.get(ext)
        if old is not None:
            if sub_ext is not None and old.subscription.external_id != sub_ext:
                ck.add(
                    f"{where}.external_id: service '{ext}' belongs to subscription "
                    f"'{old.subscription.external_id}'"
                )
            if entry["rating"] is not None and old.rating != entry["rating"]:
                ck.add(f"{where}.rating: service '{ext}' is {old.rating}; the rating cannot change")
    return entry


def _check_existing_usage(tenant, plan: _Plan, ck: _Checker) -> None:
    refs = [u["external_id"] for u in plan.usage if u["external_id"]]
    existing = {
        u.external_id: u
        for u in UsageRecord.objects.filter(tenant=tenant, external_id__in=refs).select_related(
            "service"
        )
    }
    for entry in plan.usage:
        old = existing.get(entry["external_id"]) if entry["external_id"] else None
        entry["existing"] = old
        if old is None:
            continue
        if old.service.external_id != entry["service"]:
            ck.add(
                f"{entry['path']}.external_id: usage '{old.external_id}' belongs to service "
                f"'{old.service.external_id}'"
            )
        elif old.state != UsageRecord.State.POSTED and _usage_differs(old, entry):
            ck.add(
                f"{entry['path']}: usage '{old.external_id}' is already {old.state} and "
                "cannot change"
            )


def _usage_differs(old: UsageRecord, entry: dict) -> bool:
    return (old.amount, old.directive, old.billing_effective_date) != (
        entry.get("amount"),
        entry.get("directive"),
        entry.get("billing_effective_date"),
    )


def prepaid_load(*, actor: Actor, data: dict) -> dict:
    """Validate a whole prepaid file, then write it in one transaction; counters of what it did."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    plan, errors = _validate(actor.tenant, data)
    if errors:
        head = "; ".join(errors[:20]) + ("; ..." if len(errors) > 20 else "")
        raise DomainError(
            f"{len(errors)} error(s), nothing was loaded: {head}",
            code="invalid_file",
            details={"errors": errors},
        )
    created = Counter(
        dict.fromkeys(("products", "wallets", "subscriptions", "services", "usage"), 0)
    )
    created["opening_credits"] = 0
    updated = Counter(dict.fromkeys(("wallets", "services", "periods", "usage"), 0))
    for section in PRICING_SECTIONS:  # counters for the pricing sections the file has
        if section in plan.pricing:
            created[section] = updated[section] = 0
    if "products" in plan.pricing:
        updated["products"] = 0
    with transaction.atomic():
        _load_wallets(actor, plan, created, updated)
        _load_pricing(actor, plan, created, updated)
        _load_catalog(actor, plan, created, updated)
        _load_usage(actor, plan, created, updated)
        _load_discounts(actor, plan, created, updated)
        _load_wallet_definition(actor, plan, created, updated)
    sizes = {
        section: len(entries) if isinstance(entries, list) else int(entries is not None)
        for section, entries in plan.pricing.items()
    }
    return {
        "wallets": len(plan.wallets),
        "subscriptions": len(plan.subscriptions),
        "services": len(plan.services),
        "usage": len(plan.usage),
        **sizes,
        "created": dict(created),
        "updated": dict(updated),
    }


def _load_wallets(actor: Actor, plan: _Plan, created: Counter, updated: Counter) -> None:
    for entry in plan.wallets:
        acc = entry["account"]
        wallet = Wallet.objects.filter(account=acc, currency=entry["currency"]).first()
        if wallet is None:
            wallet_open(
                actor=actor,
                account=acc,
                currency=entry["currency"],
                min_balance_threshold=entry["min_balance_threshold"],
                stop_service_threshold=entry["stop_service_threshold"],
                restrict_below_stop=entry["restrict_below_stop"],
                opening_balance=entry["opening_balance"],
            )
            created["wallets"] += 1
            created["opening_credits"] += int(entry["opening_balance"] > 0)
            continue
        names = ("min_balance_threshold", "stop_service_threshold", "restrict_below_stop")
        if any(getattr(wallet, n) != entry[n] for n in names):
            wallet_thresholds_update(
                actor=actor, wallet_id=wallet.pk, reason=LOAD_REASON, **{n: entry[n] for n in names}
            )
            updated["wallets"] += 1
        has_opening = wallet.transactions.filter(
            cause=WalletTransaction.Cause.OPENING_BALANCE
        ).exists()
        if entry["opening_balance"] > 0 and not has_opening:
            locked = wallet_lock(tenant_id=actor.tenant.pk, wallet_id=wallet.pk)
            tx = wallet_post(
                wallet=locked,
                amount=entry["opening_balance"],
                cause=WalletTransaction.Cause.OPENING_BALANCE,
                user=actor.user,
                reference="opening balance",
            )
            audit_record(
                tenant=actor.tenant,
                actor=actor,
                action="Wallet.opening_balance",
                obj=locked,
                reason=LOAD_REASON,
                payload={"transaction": tx.pk, "amount": str(tx.amount)},
            )
            created["opening_credits"] += 1


def _load_catalog(actor: Actor, plan: _Plan, created: Counter, updated: Counter) -> None:
    tenant = actor.tenant
    codes = {e["product"] for e in plan.services}
    known = set(
        Product.objects.filter(tenant=tenant, code__in=codes).values_list("code", flat=True)
    )
    created["products"] += len(codes - known)
    for entry in plan.subscriptions:
        if not Subscription.objects.filter(
            tenant=tenant, external_id=entry["external_id"]
        ).exists():
            C.subscription_create(
                actor=actor,
                account_number=entry["account"].number,
                external_id=entry["external_id"],
            )
            created["subscriptions"] += 1
    for entry in plan.services:
        spans = entry["periods"]
        service = SubscriptionService.objects.filter(
            tenant=tenant, external_id=entry["external_id"]
        ).first()
        if service is None:
            service = C.service_create(
                actor=actor,
                subscription_external_id=entry["subscription"],
                external_id=entry["external_id"],
                product=entry["product"],
                price_per_period=entry["price_per_period"],
                period_days=entry["period_days"],
                rating=entry["rating"],
                rated_up_to=entry["rated_up_to"],
                periods=[{"state": s, "start": a, "end": e} for s, a, e in spans],
            )
            created["services"] += 1
            if entry.get("binding_end") is not None:
                _at(
                    entry["path"],
                    P.service_binding_apply,
                    actor=actor,
                    service=service,
                    binding_end=entry["binding_end"],
                )
            continue
        # rated_up_to of a known service is the runs' business: a re-load never rewinds it
        before = (service.price_per_period, service.period_days, service.product_id)
        service = C.service_update(
            actor=actor,
            service_id=service.pk,
            price_per_period=entry["price_per_period"],
            period_days=entry["period_days"],
            product=entry["product"],
        )
        rebound = "binding_end" in entry and (
            _at(
                entry["path"],
                P.service_binding_apply,
                actor=actor,
                service=service,
                binding_end=entry["binding_end"],
            )[1]
            is not None
        )
        if rebound or (
            (service.price_per_period, service.period_days, service.product_id) != before
        ):
            updated["services"] += 1
        if _periods_replace(actor, service, spans):
            updated["periods"] += 1


def _periods_replace(actor: Actor, service: SubscriptionService, spans: list) -> bool:
    current = [(p.state, p.start, p.end) for p in service.periods.order_by("start", "id")]
    if current == sorted(spans, key=lambda s: s[1]):
        return False
    service.periods.all().delete()
    ServiceStatePeriod.objects.bulk_create(
        ServiceStatePeriod(tenant=actor.tenant, service=service, state=s, start=a, end=e)
        for s, a, e in spans
    )
    service.updated_at = timezone.now()
    service.save(update_fields=["updated_at"])
    C.touch_wallets(tenant_id=actor.tenant.pk, account_id=service.subscription.account_id)
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="SubscriptionService.periods_replace",
        obj=service,
        reason=LOAD_REASON,
        payload={
            "from": [[s, a.isoformat(), e.isoformat() if e else None] for s, a, e in current],
            "to": [[s, a.isoformat(), e.isoformat() if e else None] for s, a, e in spans],
        },
    )
    return True


def _load_usage(actor: Actor, plan: _Plan, created: Counter, updated: Counter) -> None:
    tenant = actor.tenant
    services = {
        s.external_id: s
        for s in SubscriptionService.objects.filter(
            tenant=tenant, external_id__in={e["service"] for e in plan.usage}
        )
    }
    wanted: Counter = Counter()
    for entry in plan.usage:
        service = services[entry["service"]]
        fields = {
            "amount": entry["amount"],
            "directive": entry["directive"],
            "billing_effective_date": entry["billing_effective_date"],
        }
        old = entry["existing"]
        if entry["external_id"] and old is None:
            C.usage_create(
                actor=actor, service_id=service.pk, external_id=entry["external_id"], **fields
            )
            created["usage"] += 1
        elif old is not None:
            if _usage_differs(old, entry):
                C.usage_update(actor=actor, usage_id=old.pk, **fields)
                updated["usage"] += 1
        else:
            wanted[(service.pk, *fields.values())] += 1
    for (service_id, amount, directive, day), count in wanted.items():
        have = UsageRecord.objects.filter(
            tenant=tenant,
            service_id=service_id,
            external_id="",
            amount=amount,
            directive=directive,
            billing_effective_date=day,
        ).count()
        for _ in range(count - have):
            C.usage_create(
                actor=actor,
                service_id=service_id,
                amount=amount,
                directive=directive,
                billing_effective_date=day,
            )
            created["usage"] += 1


# -- pricing sections (issue 18) -------------------------------------------------------------

PRICING_SECTIONS = (
    "tax_classes",
    "products",
    "bundles",
    "price_plans",
    "discounts",
    "wallet_definition",
)
TAX_CLASS_KEYS = {"code", "name", "rates"}
PRODUCT_KEYS = {"code", "tax_class", "penalty_kind", "penalty_amount"}
BUNDLE_KEYS = {"product", "bundle_pricing", "components"}
PLAN_KEYS = {"code", "name", "product", "bundle", "rates"}
DISCOUNT_KEYS = {
    "code",
    "name",
    "kind",
    "value",
    "period_days",
    "effective_from",
    "effective_to",
    "product",
    "service",
}
DEFINITION_KEYS = {"code", "name", "debit_causes", "active"}


def _under(where: str, parse: Callable, *args, **kwargs):
    """Call a pricing parser whose messages name bare fields; name them under `where`."""
    try:
        return parse(*args, **kwargs)
    except DomainError as exc:
        raise DomainError(f"{where}.{exc.message}") from None


def _at(where: str, write: Callable, **kwargs):
    """A pricing write of the entry at `where`; a refusal names the entry's path (and, raised
    inside the load's transaction, stores nothing)."""
    try:
        return write(**kwargs)
    except DomainError as exc:
        if exc.code == "permission_denied":
            raise
        message = f"{where}.{exc.message}"
        raise DomainError(
            f"1 error(s), nothing was loaded: {message}",
            code="invalid_file",
            details={"errors": [message]},
        ) from None


def _dupes(ck: _Checker, entries: list[dict], key: str, what: str) -> None:
    seen: dict = {}
    for e in entries:
        value = e.get(key)
        if value is None:
            continue
        if value in seen:
            ck.add(f"{e['path']}.{key}: duplicate {what} '{value}' (also {seen[value]})")
        seen.setdefault(value, e["path"])


def _validate_pricing(tenant, data, plan: _Plan, ck: _Checker) -> None:
    from wallets.models import BundleComponent, TaxClass

    if not isinstance(data, dict):
        return
    given = [s for s in PRICING_SECTIONS if s in data]
    for section in given:
        if section != "wallet_definition":
            plan.pricing[section] = []

    def code(item, key, where, *, required=True):
        if item.get(key) is None and not required:
            return None
        return ck.value(P.as_code, item.get(key), field=f"{where}.{key}")

    # tax classes
    for where, item in ck.items(data, "tax_classes", "tax_classes", TAX_CLASS_KEYS):
        entry = {"path": where, "code": code(item, "code", where)}
        entry["name"] = ck.value(P.as_name, item.get("name", ""), field=f"{where}.name")
        raw = item.get("rates")
        entry["rates"] = (
            None if raw is None else ck.value(P.parse_tax_rates, raw, field=f"{where}.rates")
        )
        plan.pricing["tax_classes"].append(entry)
    tax_codes = {e["code"] for e in plan.pricing.get("tax_classes", [])} | set(
        TaxClass.objects.filter(tenant=tenant).values_list("code", flat=True)
    )

    # products: VAT class and penalty
    for where, item in ck.items(data, "products", "products", PRODUCT_KEYS):
        entry = {"path": where, "code": code(item, "code", where)}
        if "tax_class" in item:
            entry["tax_class"] = code(item, "tax_class", where, required=False)
            if entry["tax_class"] is not None and entry["tax_class"] not in tax_codes:
                ck.add(
                    f"{where}.tax_class: no tax class '{entry['tax_class']}' in the file or "
                    "this tenant"
                )
        if "penalty_kind" in item:
            entry["penalty_kind"] = ck.value(
                C.as_choice,
                "" if item["penalty_kind"] is None else item["penalty_kind"],
                Product.PenaltyKind.values,
                field=f"{where}.penalty_kind",
            )
        if "penalty_amount" in item:
            entry["penalty_amount"] = (
                None
                if item["penalty_amount"] is None
                else ck.value(parse_money, item["penalty_amount"], field=f"{where}.penalty_amount")
            )
        if entry.get("penalty_kind") == "FIXED" and entry.get("penalty_amount") is None:
            ck.add(f"{where}.penalty_amount: a FIXED penalty needs an amount >= 0")
        plan.pricing["products"].append(entry)

    # bundles
    for where, item in ck.items(data, "bundles", "bundles", BUNDLE_KEYS):
        entry = {"path": where, "product": code(item, "product", where)}
        entry["bundle_pricing"] = ck.value(
            C.as_choice,
            item.get("bundle_pricing"),
            [v for v in Product.BundlePricing.values if v],
            field=f"{where}.bundle_pricing",
        )
        comps = item.get("components", [])
        if not isinstance(comps, list):
            ck.add(f"{where}.components: expected a list of product codes")
            comps = []
        entry["components"] = [
            ck.value(P.as_code, c, field=f"{where}.components[{i}]") for i, c in enumerate(comps)
        ]
        plan.pricing["bundles"].append(entry)

    # price plans
    for where, item in ck.items(data, "price_plans", "price_plans", PLAN_KEYS):
        entry = {"path": where, "code": code(item, "code", where)}
        entry["name"] = ck.value(P.as_name, item.get("name", ""), field=f"{where}.name")
        entry["product"] = code(item, "product", where)
        entry["bundle"] = code(item, "bundle", where, required=False)
        raw = item.get("rates")
        entry["rates"] = (
            None if raw is None else ck.value(P.parse_plan_rates, raw, field=f"{where}.rates")
        )
        plan.pricing["price_plans"].append(entry)

    # discounts
    for where, item in ck.items(data, "discounts", "discounts", DISCOUNT_KEYS):
        entry = {"path": where, "code": code(item, "code", where)}
        entry["name"] = ck.value(P.as_name, item.get("name", ""), field=f"{where}.name")
        present = [_required(item, k, where, ck) for k in ("kind", "value", "effective_from")]
        entry["fields"] = None
        if all(present):
            entry["fields"] = ck.value(
                _under,
                where,
                P._discount_fields,
                item["kind"],
                item["value"],
                item["effective_from"],
                item.get("effective_to"),
                item.get("period_days"),
            )
        entry["product"] = code(item, "product", where, required=False)
        entry["service"] = (
            None
            if item.get("service") is None
            else ck.value(
                C.as_text, item["service"], limit=P.EXTERNAL_ID_MAX, field=f"{where}.service"
            )
        )
        if (item.get("product") is None) == (item.get("service") is None):
            ck.add(
                f"{where}.product: expected a product code (automatic discount) or a service "
                "(ad hoc discount), not both or neither"
            )
        plan.pricing["discounts"].append(entry)

    # wallet definition
    if "wallet_definition" in data:
        raw = data["wallet_definition"]
        entry = None
        if raw is not None:
            where = "wallet_definition"
            if not isinstance(raw, dict):
                ck.add(f"{where}: expected an object")
            else:
                for extra in sorted(set(raw) - DEFINITION_KEYS, key=str):
                    ck.add(
                        f"{where}.{extra}: unknown field "
                        f"(expected {', '.join(sorted(DEFINITION_KEYS))})"
                    )
                _required(raw, "debit_causes", where, ck)
                entry = {
                    "path": where,
                    "code": code(raw, "code", where),
                    "name": ck.value(P.as_name, raw.get("name", ""), field=f"{where}.name"),
                    "debit_causes": ck.value(
                        P.parse_causes, raw.get("debit_causes", []), field=f"{where}.debit_causes"
                    ),
                    "active": ck.value(_bool, raw.get("active", True), field=f"{where}.active"),
                }
        plan.pricing["wallet_definition"] = entry

    pricing = plan.pricing
    for section, key, what in (
        ("tax_classes", "code", "tax class"),
        ("products", "code", "product"),
        ("bundles", "product", "bundle"),
        ("price_plans", "code", "price plan"),
        ("discounts", "code", "discount"),
    ):
        _dupes(ck, pricing.get(section, []), key, what)

    # cross references: products named anywhere must be known (in the file or this tenant)
    db_products = {
        p.code: p for p in Product.objects.filter(tenant=tenant).only("code", "bundle_pricing")
    }
    known = (
        set(db_products)
        | {e["code"] for e in pricing.get("products", [])}
        | {e["product"] for e in pricing.get("bundles", [])}
        | {e["product"] for e in plan.services}
    )
    bundles = {
        code_: set(
            BundleComponent.objects.filter(bundle=p).values_list("component__code", flat=True)
        )
        for code_, p in db_products.items()
        if p.bundle_pricing
    }
    flexible = {c for c, p in db_products.items() if p.bundle_pricing in P.FLEXIBLE}
    for e in pricing.get("bundles", []):
        if e["product"] is not None:
            bundles[e["product"]] = set(e["components"])
            flexible.discard(e["product"])
            if e["bundle_pricing"] in P.FLEXIBLE:
                flexible.add(e["product"])
    for e in pricing.get("bundles", []):
        for i, c in enumerate(e["components"]):
            where = f"{e['path']}.components[{i}]"
            if c is None:
                continue
            if c not in known:
                ck.add(f"{where}: no product '{c}' in the file or this tenant")
            elif c == e["product"]:
                ck.add(f"{where}: a bundle cannot be its own component")
            elif c in bundles:
                ck.add(f"{where}: '{c}' is itself a bundle; a component cannot be a bundle")
    for e in pricing.get("price_plans", []):
        if e["product"] is not None and e["product"] not in known:
            ck.add(f"{e['path']}.product: no product '{e['product']}' in the file or this tenant")
        bundle = e["bundle"]
        if bundle is not None:
            if bundle not in flexible:
                ck.add(f"{e['path']}.bundle: '{bundle}' is not a flexible bundle")
            elif e["product"] not in bundles.get(bundle, set()):
                ck.add(
                    f"{e['path']}.product: '{e['product']}' is not a component of bundle '{bundle}'"
                )
    services = {e["external_id"] for e in plan.services} | set(
        SubscriptionService.objects.filter(
            tenant=tenant,
            external_id__in={e["service"] for e in pricing.get("discounts", [])},
        ).values_list("external_id", flat=True)
    )
    for e in pricing.get("discounts", []):
        if e["product"] is not None and e["product"] not in known:
            ck.add(f"{e['path']}.product: no product '{e['product']}' in the file or this tenant")
        if e["service"] is not None and e["service"] not in services:
            ck.add(f"{e['path']}.service: no service '{e['service']}' in the file or this tenant")


def _count(status, section: str, created: Counter, updated: Counter) -> None:
    if status == P.CREATED:
        created[section] += 1
    elif status == P.UPDATED:
        updated[section] += 1


def _load_pricing(actor: Actor, plan: _Plan, created: Counter, updated: Counter) -> None:
    """Tax classes, products' pricing, bundles, then price plans (before the services)."""
    pricing = plan.pricing
    for e in pricing.get("tax_classes", []):
        tc, status = _at(
            e["path"],
            P.tax_class_apply,
            actor=actor,
            code=e["code"],
            name=e["name"],
            rates=e["rates"],
        )
        _count(status, "tax_classes", created, updated)
    for e in pricing.get("products", []):
        kwargs = {k: e[k] for k in ("tax_class", "penalty_kind", "penalty_amount") if k in e}
        _, status = _at(
            e["path"], P.product_pricing_apply, actor=actor, product=e["code"], **kwargs
        )
        _count(status, "products", created, updated)
    # products only named by bundles, plans and discounts exist before they are used
    named = {c for e in pricing.get("bundles", []) for c in [e["product"], *e["components"]]}
    named |= {e["product"] for e in pricing.get("price_plans", [])}
    named |= {e["product"] for e in pricing.get("discounts", []) if e["product"]}
    have = set(
        Product.objects.filter(tenant=actor.tenant, code__in=named).values_list("code", flat=True)
    )
    for code in sorted(named - have):
        C.product_for(tenant=actor.tenant, code=code)
        created["products"] += 1
    for e in pricing.get("bundles", []):
        was = Product.objects.get(tenant=actor.tenant, code=e["product"]).bundle_pricing
        _, status = _at(
            e["path"],
            P.product_pricing_apply,
            actor=actor,
            product=e["product"],
            bundle_pricing=e["bundle_pricing"],
            components=e["components"],
        )
        if status:
            _count(P.UPDATED if was else P.CREATED, "bundles", created, updated)
    for e in pricing.get("price_plans", []):
        _, status = _at(
            e["path"],
            P.price_plan_apply,
            actor=actor,
            code=e["code"],
            product=e["product"],
            bundle=e["bundle"],
            name=e["name"],
            rates=e["rates"],
        )
        _count(status, "price_plans", created, updated)


def _load_discounts(actor: Actor, plan: _Plan, created: Counter, updated: Counter) -> None:
    for e in plan.pricing.get("discounts", []):
        _, status = _at(
            e["path"],
            P.discount_apply,
            actor=actor,
            code=e["code"],
            name=e["name"],
            product=e["product"],
            service=e["service"],
            **e["fields"],
        )
        _count(status, "discounts", created, updated)


def _load_wallet_definition(actor: Actor, plan: _Plan, created: Counter, updated: Counter):
    e = plan.pricing.get("wallet_definition")
    if e is None:
        return
    _, status = _at(
        e["path"],
        P.wallet_definition_apply,
        actor=actor,
        code=e["code"],
        name=e["name"],
        debit_causes=e["debit_causes"],
        active=e["active"],
    )
    _count(status, "wallet_definition", created, updated)
