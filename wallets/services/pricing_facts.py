"""The database side of pricing (issue 18): a batch of services' `rating.Pricing`, set-based.

`load_pricing` reads, in a handful of queries per batch whatever the number of services, the
products (tax class, bundle pricing, penalty), the flexible bundles' components, the price plan
rates (standalone, and each component's rates for its bundle), the automatic discounts of the
products, the ad hoc discounts of the services, the tax classes' VAT rates and the penalties
already charged. The run calls it under the accounts' wallet locks, like the state periods.

Product keys are `str(product id)` (a component item's `Item.component`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from django.db.models import Q

from core.bulk import fetch_rows
from wallets import rating
from wallets.models import (
    BundleComponent,
    Discount,
    PricePlanRate,
    Product,
    TaxRate,
)

DISCOUNT_COLUMNS = (
    "code",
    "name",
    "kind",
    "value",
    "effective_from",
    "effective_to",
    "period_days",
    "product_id",
    "service_id",
)


def load_pricing(
    tenant_id: int,
    service_rows: Iterable[tuple[int, int, date | None]],
    *,
    account_ids: Sequence[int],
    penalties: Mapping[int, Iterable[date]] | None = None,
) -> dict[int, rating.Pricing]:
    """Each service's pricing, from rows (service id, product id, binding_end).

    A product without a standalone plan has no rates (the service's own price applies); a
    component's rates are its plan for this bundle if there is one, else its standalone plan.
    `account_ids` (the services' accounts) finds the ad hoc discounts by account: a short IN
    list instead of one entry per service. `penalties` (service id -> cancellation dates
    already penalised) is what the run read with its carried items; estimates need none."""
    rows = list(service_rows)
    if not rows:
        return {}
    service_ids = [r[0] for r in rows]
    product_ids = sorted({r[1] for r in rows})

    products = {
        pid: (tax_class_id, bundle_pricing or "", penalty_kind or "", penalty_amount)
        for pid, tax_class_id, bundle_pricing, penalty_kind, penalty_amount in fetch_rows(
            Product.objects.filter(tenant_id=tenant_id, pk__in=product_ids).values_list(
                "id", "tax_class_id", "bundle_pricing", "penalty_kind", "penalty_amount"
            )
        )
    }
    bundles = [pid for pid, p in products.items() if p[1] in rating.COMPONENT_MODELS]
    components: dict[int, list[int]] = defaultdict(list)
    if bundles:
        for bundle_id, component_id, tax_class_id in fetch_rows(
            BundleComponent.objects.filter(tenant_id=tenant_id, bundle_id__in=bundles)
            .order_by("bundle_id", "component_id")
            .values_list("bundle_id", "component_id", "component__tax_class_id")
        ):
            components[bundle_id].append(component_id)
            products.setdefault(component_id, (tax_class_id, "", "", None))
    all_products = sorted(products)

    # rates: (product, bundle or None) -> rates ordered by effective_from
    rates: dict[tuple[int, int | None], list[rating.Rate]] = defaultdict(list)
    for product_id, bundle_id, day, price, days in fetch_rows(
        PricePlanRate.objects.filter(tenant_id=tenant_id, plan__product_id__in=all_products)
        .filter(Q(plan__bundle__isnull=True) | Q(plan__bundle_id__in=bundles))
        .order_by("plan__product_id", "effective_from")
        .values_list(
            "plan__product_id",
            "plan__bundle_id",
            "effective_from",
            "price_per_period",
            "period_days",
        )
    ):
        rates[(product_id, bundle_id)].append(rating.Rate(day, price, days))

    automatic: dict[int, list[rating.DiscountFacts]] = defaultdict(list)
    ad_hoc: dict[int, list[rating.DiscountFacts]] = defaultdict(list)
    # the products' automatic discounts with the services' ad hoc ones: one query a batch
    wanted = set(service_ids)
    discount_rows = [
        r
        for r in fetch_rows(
            Discount.objects.filter(
                Q(product_id__in=all_products)
                | Q(service__subscription__account_id__in=list(account_ids)),
                tenant_id=tenant_id,
            ).values_list(*DISCOUNT_COLUMNS)
        )
        if r[-1] is None or r[-1] in wanted
    ]
    for code, name, kind, value, start, end, period, product_id, service_id in sorted(
        discount_rows, key=lambda r: r[0]
    ):
        facts = rating.DiscountFacts(
            code=code,
            name=name or code,
            kind=kind,
            value=value,
            effective_from=start,
            effective_to=end,
            period_days=period,
            automatic=product_id is not None,
        )
        if product_id is not None:
            automatic[product_id].append(facts)
        else:
            ad_hoc[service_id].append(facts)

    vat: dict[int, list[rating.VatRate]] = defaultdict(list)
    tax_classes = sorted({p[0] for p in products.values() if p[0] is not None})
    if tax_classes:
        for tax_class_id, day, rate in fetch_rows(
            TaxRate.objects.filter(tenant_id=tenant_id, tax_class_id__in=tax_classes)
            .order_by("tax_class_id", "effective_from")
            .values_list("tax_class_id", "effective_from", "rate")
        ):
            vat[tax_class_id].append(rating.VatRate(day, rate))

    charged: dict[int, set[date]] = defaultdict(set)
    for service_id, days in (penalties or {}).items():
        charged[service_id].update(days)

    def product_pricing(product_id: int, bundle_id: int | None = None) -> rating.ProductPricing:
        tax_class_id = products.get(product_id, (None,))[0]
        found = rates.get((product_id, bundle_id)) if bundle_id is not None else None
        return rating.ProductPricing(
            code=str(product_id),
            rates=tuple(found or rates.get((product_id, None), ())),
            discounts=tuple(automatic.get(product_id, ())),
            vat=tuple(vat.get(tax_class_id, ())) if tax_class_id is not None else (),
        )

    # one ProductPricing per product (and per component of a bundle), shared by its services
    mains = {pid: product_pricing(pid) for pid in product_ids}
    parts = {
        bundle_id: tuple(product_pricing(c, bundle_id) for c in comps)
        for bundle_id, comps in components.items()
    }
    out: dict[int, rating.Pricing] = {}
    for service_id, product_id, binding_end in rows:
        _, bundle_pricing, penalty_kind, penalty_amount = products.get(
            product_id, (None, "", "", None)
        )
        out[service_id] = rating.Pricing(
            product=mains[product_id],
            bundle_pricing=bundle_pricing,
            components=parts.get(product_id, ()),
            ad_hoc=tuple(ad_hoc.get(service_id, ())),
            binding_end=binding_end,
            penalty_kind=penalty_kind,
            penalty_amount=penalty_amount,
            penalties_charged=frozenset(charged.get(service_id, ())),
        )
    return out


def is_plain(pricing: rating.Pricing | None) -> bool:
    """Nothing beyond the service's own price: no plan, discount, VAT or component."""
    return pricing is None or (
        not pricing.product.rates
        and not pricing.product.discounts
        and not pricing.product.vat
        and not pricing.ad_hoc
        and pricing.bundle_pricing not in rating.COMPONENT_MODELS
    )
