"""Reads of issue 18's pricing rows (tax classes, price plans, discounts, bundles, wallet
definitions) for the API and admin, filtered by the actor's tenant; `wallets.view` needed."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from wallets.models import (
    BundleComponent,
    Discount,
    PricePlan,
    PricePlanRate,
    Product,
    TaxClass,
    TaxRate,
    WalletDefinition,
)


def tax_class_list(*, actor: Actor) -> QuerySet[TaxClass]:
    """The tenant's tax classes with their rates (oldest first), in id order."""
    actor.require(S.WALLETS_VIEW)
    rates = TaxRate.objects.order_by("effective_from")
    return (
        TaxClass.objects.filter(tenant=actor.tenant)
        .prefetch_related(Prefetch("rates", queryset=rates))
        .order_by("id")
    )


def tax_class_get(*, actor: Actor, pk: int) -> TaxClass:
    """One tax class of the tenant; NotFound otherwise."""
    found = tax_class_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"tax class {pk}: not found", details={"tax_class": pk})
    return found


def price_plan_list(*, actor: Actor, product: str = "") -> QuerySet[PricePlan]:
    """The tenant's price plans (optionally of one product code) with their rates."""
    actor.require(S.WALLETS_VIEW)
    qs = PricePlan.objects.filter(tenant=actor.tenant)
    if product:
        qs = qs.filter(product__code=product.strip())
    rates = PricePlanRate.objects.order_by("effective_from")
    return (
        qs.select_related("product", "bundle")
        .prefetch_related(Prefetch("rates", queryset=rates))
        .order_by("id")
    )


def price_plan_get(*, actor: Actor, pk: int) -> PricePlan:
    """One price plan of the tenant; NotFound otherwise."""
    found = price_plan_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"price plan {pk}: not found", details={"price_plan": pk})
    return found


def discount_list(
    *,
    actor: Actor,
    product: str = "",
    service_id: int | None = None,
    automatic: bool | None = None,
) -> QuerySet[Discount]:
    """The tenant's discounts: of a product code, of a service id, automatic or ad hoc."""
    actor.require(S.WALLETS_VIEW)
    qs = Discount.objects.filter(tenant=actor.tenant)
    if product:
        qs = qs.filter(product__code=product.strip())
    if service_id is not None:
        qs = qs.filter(service_id=service_id)
    if automatic is not None:
        qs = qs.filter(product__isnull=not automatic)
    return qs.select_related("product", "service").order_by("id")


def discount_get(*, actor: Actor, pk: int) -> Discount:
    """One discount of the tenant; NotFound otherwise."""
    found = discount_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"discount {pk}: not found", details={"discount": pk})
    return found


def _with_components(qs: QuerySet[Product]) -> QuerySet[Product]:
    parts = BundleComponent.objects.select_related("component").order_by("component__code")
    return qs.select_related("tax_class").prefetch_related(Prefetch("components", queryset=parts))


def bundle_list(*, actor: Actor) -> QuerySet[Product]:
    """The tenant's bundle products (bundle pricing set) with their components, in id order."""
    actor.require(S.WALLETS_VIEW)
    qs = Product.objects.filter(tenant=actor.tenant).exclude(bundle_pricing="")
    return _with_components(qs).order_by("id")


def product_pricing_get(*, actor: Actor, key: str) -> Product:
    """One product of the tenant by code, else by id when `key` is digits; NotFound otherwise."""
    actor.require(S.WALLETS_VIEW)
    if len(key) > 60 or not key.isprintable():  # no such code (and nothing a database refuses)
        raise NotFound("product: not found", details={"product": key[:60]})
    qs = _with_components(Product.objects.filter(tenant=actor.tenant))
    found = qs.filter(code=key).first()
    if found is None and key.isascii() and key.isdigit() and len(key) < 19:
        found = qs.filter(pk=int(key)).first()
    if found is None:
        raise NotFound(f"product {key[:60]}: not found", details={"product": key[:60]})
    return found


def wallet_definition_list(*, actor: Actor) -> QuerySet[WalletDefinition]:
    """The tenant's wallet definitions (at most one active), in id order."""
    actor.require(S.WALLETS_VIEW)
    return WalletDefinition.objects.filter(tenant=actor.tenant).order_by("id")


def wallet_definition_get(*, actor: Actor, pk: int) -> WalletDefinition:
    """One wallet definition of the tenant; NotFound otherwise."""
    found = wallet_definition_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"wallet definition {pk}: not found", details={"wallet_definition": pk})
    return found
