"""Pricing writes (issue 18): tax classes, price plans, discounts, product pricing (VAT class,
flexible bundles, early-cancellation penalty), wallet definitions and service binding ends.

Every write needs S.WALLETS_RUN_TRIGGER (like the catalog writes), validates first with a
DomainError naming the field, runs in one transaction and writes one audit entry; a write that
changes nothing writes no entry (so re-loading a file leaves the audit trail alone).

Writes that touch ONE service (an ad hoc discount, a binding end) lock the account's wallets
first and then the service row: the prepaid run's lock order (catalog.lock_wallets).
Product-wide writes (plans, automatic discounts, VAT, bundles) take no wallet lock: a run reads
them once when it starts a chunk, and what is already rated keeps its amounts.

Each public function returns the row; the `*_apply` twins also say whether the row was
"created", "updated" or left alone (None), which the file loader counts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from wallets import rating
from wallets.models import (
    BundleComponent,
    Discount,
    PricePlan,
    PricePlanRate,
    Product,
    SubscriptionService,
    TaxClass,
    TaxRate,
    WalletDefinition,
)
from wallets.services import catalog as C
from wallets.services.ledger import parse_money

CODE_MAX = 60
NAME_MAX = 200
EXTERNAL_ID_MAX = 80
PCT_STEP = Decimal("0.0001")
HUNDRED = rating.HUNDRED
FLEXIBLE = rating.FLEXIBLE
CAUSES = tuple(WalletDefinition.Cause.values)

CREATED, UPDATED = "created", "updated"


# -- parsing ---------------------------------------------------------------------------------


def as_code(value, *, field: str = "code") -> str:
    return C.as_text(value, field=field, limit=CODE_MAX)


def as_name(value, *, field: str = "name") -> str:
    return C.as_text(value, field=field, limit=NAME_MAX, required=False)


def as_percent(value, *, field: str, zero: bool = True) -> Decimal:
    """A percent with at most 4 decimals: 0..100 (`zero`) or 0 < v <= 100."""
    bound = "from 0 to 100" if zero else "above 0 and at most 100"
    expected = DomainError(
        f"{field}: expected a percent {bound} with at most 4 decimals", details={"field": field}
    )
    if isinstance(value, bool) or value is None:
        raise expected
    if isinstance(value, float):
        value = str(value)
    try:
        pct = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise expected from None
    if not pct.is_finite() or abs(pct) > 1000 or pct != pct.quantize(PCT_STEP):
        raise expected
    if pct > HUNDRED or pct < 0 or (not zero and pct == 0):
        raise expected
    return pct.quantize(PCT_STEP)


def _list(value, *, field: str) -> list:
    if not isinstance(value, list | tuple):
        raise DomainError(f"{field}: expected a list", details={"field": field})
    return list(value)


def _obj(value, *, field: str, keys: set[str]) -> dict:
    if not isinstance(value, dict):
        raise DomainError(f"{field}: expected an object", details={"field": field})
    for extra in sorted(set(value) - keys, key=str):
        raise DomainError(
            f"{field}.{extra}: unknown field (expected {', '.join(sorted(keys))})",
            details={"field": f"{field}.{extra}"},
        )
    return value


def _dated(rows: list[dict], *, field: str) -> None:
    """Refuse two rows with the same effective_from."""
    seen: dict[date, int] = {}
    for i, row in enumerate(rows):
        day = row["effective_from"]
        if day in seen:
            raise DomainError(
                f"{field}[{i}].effective_from: {day} is also {field}[{seen[day]}]",
                details={"field": f"{field}[{i}].effective_from"},
            )
        seen[day] = i


def parse_tax_rates(raw, *, field: str = "rates") -> list[dict]:
    out = []
    for i, item in enumerate(_list(raw, field=field)):
        where = f"{field}[{i}]"
        item = _obj(item, field=where, keys={"effective_from", "rate"})
        out.append(
            {
                "effective_from": C.as_date(
                    item.get("effective_from"), field=f"{where}.effective_from"
                ),
                "rate": as_percent(item.get("rate"), field=f"{where}.rate"),
            }
        )
    _dated(out, field=field)
    return out


def parse_plan_rates(raw, *, field: str = "rates") -> list[dict]:
    out = []
    keys = {"effective_from", "price_per_period", "period_days"}
    for i, item in enumerate(_list(raw, field=field)):
        where = f"{field}[{i}]"
        item = _obj(item, field=where, keys=keys)
        out.append(
            {
                "effective_from": C.as_date(
                    item.get("effective_from"), field=f"{where}.effective_from"
                ),
                "price_per_period": parse_money(
                    item.get("price_per_period"), field=f"{where}.price_per_period"
                ),
                "period_days": C.as_period_days(
                    item.get("period_days"), field=f"{where}.period_days"
                ),
            }
        )
    _dated(out, field=field)
    return out


def _product(actor: Actor, code, *, field: str) -> Product:
    code = as_code(code, field=field)
    product = Product.objects.filter(tenant=actor.tenant, code=code).first()
    if product is None:
        raise DomainError(f"{field}: no product '{code}'", details={"field": field})
    return product


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# -- tax classes -----------------------------------------------------------------------------


def _create(model, label: str, **fields):
    """A new row by code; a row created meanwhile by another writer (unique code) is a 409."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError:
        raise Conflict(f"code: {label} '{fields['code']}' was created meanwhile") from None


def tax_class_upsert(*, actor: Actor, code, name="", rates=None) -> TaxClass:
    """Create or change a tax class; `rates` add or replace rates by effective_from (rates not
    listed stay). An empty name leaves the name as it is."""
    return tax_class_apply(actor=actor, code=code, name=name, rates=rates)[0]


def tax_class_apply(*, actor: Actor, code, name="", rates=None) -> tuple[TaxClass, str | None]:
    actor.require(S.WALLETS_RUN_TRIGGER)
    code = as_code(code)
    name = as_name(name)
    wanted = None if rates is None else parse_tax_rates(rates)
    with transaction.atomic():
        tc = TaxClass.objects.select_for_update().filter(tenant=actor.tenant, code=code).first()
        status = None
        payload: dict = {"code": code}
        if tc is None:
            tc = _create(TaxClass, "tax class", tenant=actor.tenant, code=code, name=name)
            status = CREATED
            payload["name"] = name
        elif name and tc.name != name:
            payload["name"] = {"from": tc.name, "to": name}
            tc.name = name
            tc.save(update_fields=["name"])
            status = UPDATED
        changes = _upsert_rates(
            actor,
            TaxRate,
            {"tax_class": tc},
            wanted or [],
            fields=("rate",),
        )
        if changes:
            payload["rates"] = changes
            status = status or UPDATED
        if status:
            audit_record(
                tenant=actor.tenant,
                actor=actor,
                action="TaxClass.create" if status == CREATED else "TaxClass.update",
                obj=tc,
                payload=payload,
            )
    return tc, status


def _upsert_rates(actor: Actor, model, owner: dict, wanted: list[dict], *, fields) -> list:
    """Add or change dated rows of `owner`; [[effective_from, {field: [from, to]}]] changed."""
    have = {r.effective_from: r for r in model.objects.filter(**owner)}
    changes = []
    for row in wanted:
        day = row["effective_from"]
        old = have.get(day)
        if old is None:
            model.objects.create(tenant=actor.tenant, **owner, **row)
            changes.append([day.isoformat(), {f: [None, str(row[f])] for f in fields}])
            continue
        diff = {f: [str(getattr(old, f)), str(row[f])] for f in fields if getattr(old, f) != row[f]}
        if diff:
            for f in diff:
                setattr(old, f, row[f])
            old.save(update_fields=list(diff))
            changes.append([day.isoformat(), diff])
    return changes


# -- price plans -----------------------------------------------------------------------------


def price_plan_upsert(
    *, actor: Actor, code, product: str, bundle: str | None = None, name="", rates=None
) -> PricePlan:
    """Create or change a price plan of a product (standalone, or inside one flexible bundle the
    product is a component of); `rates` add or replace rates by effective_from."""
    return price_plan_apply(
        actor=actor, code=code, product=product, bundle=bundle, name=name, rates=rates
    )[0]


def price_plan_apply(
    *, actor: Actor, code, product: str, bundle: str | None = None, name="", rates=None
) -> tuple[PricePlan, str | None]:
    actor.require(S.WALLETS_RUN_TRIGGER)
    code = as_code(code)
    name = as_name(name)
    wanted = None if rates is None else parse_plan_rates(rates)
    prod = _product(actor, product, field="product")
    bundle_row = None
    if bundle is not None:
        bundle_row = _product(actor, bundle, field="bundle")
        if bundle_row.bundle_pricing not in FLEXIBLE:
            raise DomainError(
                f"bundle: product '{bundle_row.code}' is not a flexible bundle "
                f"(expected bundle_pricing {', '.join(FLEXIBLE)})",
                details={"field": "bundle"},
            )
        if not BundleComponent.objects.filter(bundle=bundle_row, component=prod).exists():
            raise DomainError(
                f"product: '{prod.code}' is not a component of bundle '{bundle_row.code}'",
                details={"field": "product"},
            )
    with transaction.atomic():
        plan = PricePlan.objects.select_for_update().filter(tenant=actor.tenant, code=code).first()
        status = None
        payload: dict = {"code": code, "product": prod.code, "bundle": bundle}
        if plan is None:
            if not wanted:
                raise DomainError(
                    "rates: a new price plan needs at least one rate", details={"field": "rates"}
                )
            other = (
                PricePlan.objects.filter(tenant=actor.tenant, product=prod, bundle=bundle_row)
                .values_list("code", flat=True)
                .first()
            )
            if other is not None:
                where = f"inside bundle '{bundle}'" if bundle else "standalone"
                raise Conflict(
                    f"product: '{prod.code}' already has the {where} price plan '{other}'",
                    details={"field": "product"},
                )
            plan = _create(
                PricePlan,
                "price plan",
                tenant=actor.tenant,
                code=code,
                name=name,
                product=prod,
                bundle=bundle_row,
            )
            status = CREATED
            payload["name"] = name
        else:
            if plan.product_id != prod.pk or plan.bundle_id != (bundle_row and bundle_row.pk):
                raise DomainError(
                    f"product: price plan '{code}' belongs to product '{plan.product.code}'"
                    + (f" in bundle '{plan.bundle.code}'" if plan.bundle_id else "")
                    + "; its product and bundle cannot change",
                    details={"field": "product"},
                )
            if name and plan.name != name:
                payload["name"] = {"from": plan.name, "to": name}
                plan.name = name
                plan.save(update_fields=["name"])
                status = UPDATED
        changes = _upsert_rates(
            actor,
            PricePlanRate,
            {"plan": plan},
            wanted or [],
            fields=("price_per_period", "period_days"),
        )
        if changes:
            payload["rates"] = changes
            status = status or UPDATED
        if status:
            audit_record(
                tenant=actor.tenant,
                actor=actor,
                action="PricePlan.create" if status == CREATED else "PricePlan.update",
                obj=plan,
                payload=payload,
            )
    return plan, status


# -- discounts -------------------------------------------------------------------------------


def price_plan_rate_add(*, actor: Actor, plan: PricePlan, rate: dict) -> PricePlan:
    """Add (or, on the same effective_from, replace) one rate of an existing plan; what was
    already rated keeps its price."""
    return price_plan_upsert(
        actor=actor,
        code=plan.code,
        product=plan.product.code,
        bundle=plan.bundle.code if plan.bundle_id else None,
        rates=[dict(rate)],
    )


def discount_upsert(
    *,
    actor: Actor,
    code,
    kind,
    value,
    effective_from,
    effective_to=None,
    period_days=None,
    product: str | None = None,
    service: str | None = None,
    name="",
) -> Discount:
    """Create or change a discount: automatic (a product's code) or ad hoc (a service's
    external id). PERCENT: 0 < value <= 100; FIXED: value > 0 per `period_days` (null = the
    rate's period). Its product or service cannot change."""
    return discount_apply(
        actor=actor,
        code=code,
        kind=kind,
        value=value,
        effective_from=effective_from,
        effective_to=effective_to,
        period_days=period_days,
        product=product,
        service=service,
        name=name,
    )[0]


def _discount_fields(kind, value, effective_from, effective_to, period_days) -> dict:
    kind = C.as_choice(kind, Discount.Kind.values, field="kind")
    if kind == Discount.Kind.PERCENT:
        value = as_percent(value, field="value", zero=False)
        if value != value.quantize(Decimal("0.01")):
            raise DomainError(
                "value: expected a percent above 0 and at most 100 with at most 2 decimals",
                details={"field": "value"},
            )
        if period_days is not None:
            raise DomainError(
                "period_days: only a FIXED discount has a period", details={"field": "period_days"}
            )
    else:
        value = parse_money(value, field="value", strict=True)
        if period_days is not None:
            period_days = C.as_period_days(period_days)
    start = C.as_date(effective_from, field="effective_from")
    end = C.as_date(effective_to, field="effective_to", optional=True)
    if end is not None and end <= start:
        raise DomainError(
            f"effective_to: expected a date after effective_from ({start})",
            details={"field": "effective_to"},
        )
    return {
        "kind": kind,
        "value": value.quantize(Decimal("0.01")),
        "effective_from": start,
        "effective_to": end,
        "period_days": period_days,
    }


def discount_apply(
    *,
    actor: Actor,
    code,
    kind,
    value,
    effective_from,
    effective_to=None,
    period_days=None,
    product: str | None = None,
    service: str | None = None,
    name="",
) -> tuple[Discount, str | None]:
    actor.require(S.WALLETS_RUN_TRIGGER)
    code = as_code(code)
    name = as_name(name)
    fields = _discount_fields(kind, value, effective_from, effective_to, period_days)
    if (product is None) == (service is None):
        raise DomainError(
            "product: expected a product code (automatic discount) or a service external id "
            "(ad hoc discount), not both or neither",
            details={"field": "product"},
        )
    prod = None if product is None else _product(actor, product, field="product")
    svc_id = None
    if service is not None:
        ext = C.as_text(service, field="service", limit=EXTERNAL_ID_MAX)
        svc_id = (
            SubscriptionService.objects.filter(tenant=actor.tenant, external_id=ext)
            .values_list("pk", flat=True)
            .first()
        )
        if svc_id is None:
            raise DomainError(f"service: no service '{ext}'", details={"field": "service"})
    with transaction.atomic():
        svc = None
        if svc_id is not None:  # the run's lock order: wallets, then the service row
            svc = C._lock_service(actor, svc_id)
        row = Discount.objects.select_for_update().filter(tenant=actor.tenant, code=code).first()
        target = {"product": prod.code} if prod else {"service": svc.external_id}
        if row is None:
            row = _create(
                Discount,
                "discount",
                tenant=actor.tenant,
                code=code,
                name=name,
                product=prod,
                service=svc,
                **fields,
            )
            status = CREATED
            payload = {"code": code, "name": name, **target, **_discount_payload(row)}
        else:
            if row.product_id != (prod and prod.pk) or row.service_id != (svc and svc.pk):
                was = (
                    f"product '{row.product.code}'"
                    if row.product_id
                    else f"service '{row.service.external_id}'"
                )
                raise DomainError(
                    f"{'product' if prod else 'service'}: discount '{code}' belongs to {was}; "
                    "it cannot move",
                    details={"field": "product" if prod else "service"},
                )
            if name:
                fields["name"] = name
            changed = [n for n, v in fields.items() if getattr(row, n) != v]
            if not changed:
                return row, None
            payload = {
                "code": code,
                **target,
                **{
                    n: {"from": _s(getattr(row, n)), "to": _s(v)}
                    for n, v in fields.items()
                    if n in changed
                },
            }
            for n in changed:
                setattr(row, n, fields[n])
            row.save(update_fields=changed)
            status = UPDATED
        if svc is not None:
            C.touch_wallets(tenant_id=actor.tenant.pk, account_id=svc.subscription.account_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="Discount.create" if status == CREATED else "Discount.update",
            obj=row,
            payload=payload,
        )
    return row, status


def _s(value):
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def _discount_payload(row: Discount) -> dict:
    return {
        "kind": row.kind,
        "value": str(row.value),
        "period_days": row.period_days,
        "effective_from": _iso(row.effective_from),
        "effective_to": _iso(row.effective_to),
    }


def discount_end(*, actor: Actor, discount: Discount, effective_to, reason: str) -> Discount:
    """End a discount on `effective_to` (exclusive; after its start), with a reason."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    end = C.as_date(effective_to, field="effective_to")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise DomainError("reason: a reason is required to end a discount", code="reason_required")
    with transaction.atomic():
        if discount.service_id is not None:
            C._lock_service(actor, discount.service_id)
        row = (
            Discount.objects.select_for_update().filter(tenant=actor.tenant, pk=discount.pk).first()
        )
        if row is None:
            raise NotFound(f"discount {discount.pk}: not found", details={"discount": discount.pk})
        if end <= row.effective_from:
            raise DomainError(
                f"effective_to: expected a date after effective_from ({row.effective_from})",
                details={"field": "effective_to"},
            )
        if row.effective_to == end:
            return row
        before = row.effective_to
        row.effective_to = end
        row.save(update_fields=["effective_to"])
        if row.service_id is not None:
            C.touch_wallets(
                tenant_id=actor.tenant.pk, account_id=row.service.subscription.account_id
            )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="Discount.end",
            obj=row,
            reason=reason,
            payload={"code": row.code, "effective_to": {"from": _iso(before), "to": _iso(end)}},
        )
    return row


# -- product pricing -------------------------------------------------------------------------


def product_pricing_update(
    *,
    actor: Actor,
    product: str,
    tax_class=...,
    bundle_pricing=...,
    components: list[str] | None = None,
    penalty_kind=...,
    penalty_amount=...,
) -> Product:
    """Change a product's VAT class (code or None), bundle pricing and components (the list
    replaces them), and early-cancellation penalty; only the given keys change (`...` = leave).
    The product is created when new (as the catalog writes do)."""
    return product_pricing_apply(
        actor=actor,
        product=product,
        tax_class=tax_class,
        bundle_pricing=bundle_pricing,
        components=components,
        penalty_kind=penalty_kind,
        penalty_amount=penalty_amount,
    )[0]


def product_pricing_apply(
    *,
    actor: Actor,
    product: str,
    tax_class=...,
    bundle_pricing=...,
    components: list[str] | None = None,
    penalty_kind=...,
    penalty_amount=...,
) -> tuple[Product, str | None]:
    actor.require(S.WALLETS_RUN_TRIGGER)
    code = as_code(product, field="product")
    changes: dict = {}
    if tax_class is not ...:
        if tax_class is None:
            changes["tax_class"] = None
        else:
            tc_code = as_code(tax_class, field="tax_class")
            tc = TaxClass.objects.filter(tenant=actor.tenant, code=tc_code).first()
            if tc is None:
                raise DomainError(
                    f"tax_class: no tax class '{tc_code}'", details={"field": "tax_class"}
                )
            changes["tax_class"] = tc
    if bundle_pricing is not ...:
        changes["bundle_pricing"] = C.as_choice(
            "" if bundle_pricing is None else bundle_pricing,
            Product.BundlePricing.values,
            field="bundle_pricing",
        )
    if penalty_kind is not ...:
        changes["penalty_kind"] = C.as_choice(
            "" if penalty_kind is None else penalty_kind,
            Product.PenaltyKind.values,
            field="penalty_kind",
        )
    if penalty_amount is not ... and penalty_amount is not None:
        changes["penalty_amount"] = parse_money(penalty_amount, field="penalty_amount")
    elif penalty_amount is None:
        changes["penalty_amount"] = None
    wanted_codes = None
    if components is not None:
        wanted_codes = []
        for i, c in enumerate(_list(components, field="components")):
            c = as_code(c, field=f"components[{i}]")
            if c in wanted_codes:
                raise DomainError(
                    f"components[{i}]: '{c}' is listed twice",
                    details={"field": f"components[{i}]"},
                )
            wanted_codes.append(c)
    with transaction.atomic():
        row = Product.objects.select_for_update().filter(tenant=actor.tenant, code=code).first()
        status = None
        if row is None:
            row = C.product_for(tenant=actor.tenant, code=code)
            row = Product.objects.select_for_update().get(pk=row.pk)
            status = CREATED
        final = {n: changes.get(n, getattr(row, n)) for n in ("bundle_pricing", "penalty_kind")}
        final["penalty_amount"] = changes.get("penalty_amount", row.penalty_amount)
        if final["penalty_kind"] == "FIXED" and final["penalty_amount"] is None:
            raise DomainError(
                "penalty_amount: a FIXED penalty needs an amount >= 0",
                details={"field": "penalty_amount"},
            )
        if final["penalty_kind"] != "FIXED" and final["penalty_amount"] is not None:
            if "penalty_amount" in changes:
                raise DomainError(
                    "penalty_amount: only a FIXED penalty has an amount",
                    details={"field": "penalty_amount"},
                )
            changes["penalty_amount"] = None  # the kind changed away from FIXED
        current = list(
            BundleComponent.objects.filter(bundle=row)
            .order_by("component__code")
            .values_list("component__code", flat=True)
        )
        comps = None
        if wanted_codes is not None:
            comps = _components(actor, row, wanted_codes)
        after_codes = wanted_codes if wanted_codes is not None else current
        if final["bundle_pricing"] == "" and after_codes:
            raise DomainError(
                f"components: product '{code}' is not a bundle (bundle_pricing is empty); "
                "it cannot have components",
                details={"field": "components"},
            )
        if final["bundle_pricing"] != "":
            parent = (
                BundleComponent.objects.filter(component=row)
                .values_list("bundle__code", flat=True)
                .first()
            )
            if parent is not None:
                raise DomainError(
                    f"bundle_pricing: product '{code}' is a component of bundle '{parent}'; "
                    "a bundle cannot be a component",
                    details={"field": "bundle_pricing"},
                )
        changed = [n for n, v in changes.items() if getattr(row, n) != v]
        payload = {n: {"from": _p(getattr(row, n)), "to": _p(changes[n])} for n in changed}
        for n in changed:
            setattr(row, n, changes[n])
        if changed:
            row.save(update_fields=changed)
        if comps is not None and sorted(wanted_codes) != current:
            BundleComponent.objects.filter(bundle=row).exclude(component__in=comps).delete()
            have = set(
                BundleComponent.objects.filter(bundle=row).values_list("component_id", flat=True)
            )
            BundleComponent.objects.bulk_create(
                BundleComponent(tenant=actor.tenant, bundle=row, component=c)
                for c in comps
                if c.pk not in have
            )
            payload["components"] = {"from": current, "to": sorted(wanted_codes)}
        if payload or status:
            status = status or UPDATED
            audit_record(
                tenant=actor.tenant,
                actor=actor,
                action="Product.pricing_update",
                obj=row,
                payload={"product": code, **payload},
            )
    return row, status


def _p(value):
    if isinstance(value, TaxClass):
        return value.code
    return _s(value)


def _components(actor: Actor, bundle: Product, codes: list[str]) -> list[Product]:
    rows = {p.code: p for p in Product.objects.filter(tenant=actor.tenant, code__in=codes)}
    out = []
    for i, c in enumerate(codes):
        field = f"components[{i}]"
        p = rows.get(c)
        if p is None:
            raise DomainError(f"{field}: no product '{c}'", details={"field": field})
        if p.pk == bundle.pk:
            raise DomainError(
                f"{field}: a bundle cannot be its own component", details={"field": field}
            )
        if p.bundle_pricing:
            raise DomainError(
                f"{field}: '{c}' is itself a bundle; a component cannot be a bundle",
                details={"field": field},
            )
        out.append(p)
    return out


# -- wallet definitions ----------------------------------------------------------------------


def parse_causes(raw, *, field: str = "debit_causes") -> list[str]:
    out: list[str] = []
    for i, cause in enumerate(_list(raw, field=field)):
        cause = C.as_choice(cause, CAUSES, field=f"{field}[{i}]")
        if cause in out:
            raise DomainError(
                f"{field}[{i}]: '{cause}' is listed twice", details={"field": f"{field}[{i}]"}
            )
        out.append(cause)
    return out


def wallet_definition_upsert(
    *, actor: Actor, code, name="", debit_causes: list[str], active: bool | None = None
) -> WalletDefinition:
    """Create or change a wallet definition (the causes that may debit a wallet). `active`
    is the state wanted: True deactivates the tenant's other active definition (audited too);
    runs snapshot the active definition when they start."""
    return wallet_definition_apply(
        actor=actor, code=code, name=name, debit_causes=debit_causes, active=active
    )[0]


def wallet_definition_apply(
    *, actor: Actor, code, name="", debit_causes: list[str], active: bool | None = None
) -> tuple[WalletDefinition, str | None]:
    """`active` None: a new definition is inactive, an existing one keeps its state."""
    actor.require(S.WALLETS_RUN_TRIGGER)
    code = as_code(code)
    name = as_name(name)
    causes = [c for c in CAUSES if c in parse_causes(debit_causes)]  # canonical order
    if active is not None and not isinstance(active, bool):
        raise DomainError("active: expected true or false", details={"field": "active"})
    with transaction.atomic():
        # one lock for the tenant's definitions: two activations in turn, not a 500
        rows = {
            d.code: d
            for d in WalletDefinition.objects.select_for_update()
            .filter(tenant=actor.tenant)
            .order_by("id")
        }
        row = rows.get(code)
        if active is None:
            active = row.active if row is not None else False
        if active:
            for other in rows.values():
                if other.code != code and other.active:
                    other.active = False
                    other.save(update_fields=["active"])
                    audit_record(
                        tenant=actor.tenant,
                        actor=actor,
                        action="WalletDefinition.deactivate",
                        obj=other,
                        payload={"code": other.code, "replaced_by": code},
                    )
        if row is None:
            row = _create(
                WalletDefinition,
                "wallet definition",
                tenant=actor.tenant,
                code=code,
                name=name,
                debit_causes=causes,
                active=active,
            )
            audit_record(
                tenant=actor.tenant,
                actor=actor,
                action="WalletDefinition.create",
                obj=row,
                payload={"code": code, "name": name, "debit_causes": causes, "active": active},
            )
            return row, CREATED
        wanted = {"debit_causes": causes, "active": active}
        if name:
            wanted["name"] = name
        changed = [n for n, v in wanted.items() if getattr(row, n) != v]
        if not changed:
            return row, None
        payload = {n: {"from": getattr(row, n), "to": wanted[n]} for n in changed}
        for n in changed:
            setattr(row, n, wanted[n])
        try:
            with transaction.atomic():  # a definition created active meanwhile: 409, not 500
                row.save(update_fields=changed)
        except IntegrityError:
            raise Conflict(
                "active: another wallet definition was activated meanwhile; try again"
            ) from None
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WalletDefinition.update",
            obj=row,
            payload={"code": code, **payload},
        )
    return row, UPDATED


# -- binding end -----------------------------------------------------------------------------


def service_binding_update(
    *, actor: Actor, service: SubscriptionService, binding_end
) -> SubscriptionService:
    """Set (or clear, None) the day a service's minimum term ends (exclusive): a cancellation
    before it is charged the product's early-cancellation penalty."""
    return service_binding_apply(actor=actor, service=service, binding_end=binding_end)[0]


def service_binding_apply(
    *, actor: Actor, service: SubscriptionService, binding_end
) -> tuple[SubscriptionService, str | None]:
    actor.require(S.WALLETS_RUN_TRIGGER)
    end = C.as_date(binding_end, field="binding_end", optional=True)
    with transaction.atomic():
        row = C._lock_service(actor, service.pk)
        if row.binding_end == end:
            return row, None
        before = row.binding_end
        row.binding_end = end
        row.updated_at = timezone.now()
        row.save(update_fields=["binding_end", "updated_at"])
        C.touch_wallets(tenant_id=actor.tenant.pk, account_id=row.subscription.account_id)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="SubscriptionService.binding_update",
            obj=row,
            payload={
                "service": row.external_id,
                "binding_end": {"from": _iso(before), "to": _iso(end)},
            },
        )
    return row, UPDATED
