"""Pricing API (issue 18): tax classes, price plans, discounts, bundles, wallet definitions.

Thin views over wallets.services.pricing (rules, validation, audit) and
wallets.selectors_pricing (tenant-filtered reads). Reads need `wallets.view`; writes
`wallets.run.trigger` (checked again in the services). POST on a collection upserts by code:
201 when it created the row, 200 when it updated it.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.views import TenantAPIView, TenantListAPIView
from wallets import selectors_pricing as reads
from wallets.api import serializers_pricing as ser
from wallets.api.common import OldestFirst, query_filters
from wallets.services import pricing

VIEW, WRITE = S.WALLETS_VIEW, S.WALLETS_RUN_TRIGGER


def _http(outcome: str | None) -> int:
    """201 when the upsert created the row (the service says so), else 200."""
    return status.HTTP_201_CREATED if outcome == pricing.CREATED else status.HTTP_200_OK


def _dicts(rows) -> list[dict] | None:
    return None if rows is None else [dict(r) for r in rows]


# --- tax classes -------------------------------------------------------------------------------


class TaxClassListCreateView(OldestFirst, TenantListAPIView):
    """Tax classes with their VAT rates, in id order; POST adds or updates one by code."""

    required_scopes = {"GET": VIEW, "POST": WRITE}
    serializer_class = ser.TaxClassOut
    filter_backends: list = []

    def get_queryset(self):
        return reads.tax_class_list(actor=self.actor)

    @extend_schema(operation_id="prepaid_tax_classes_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="prepaid_tax_classes_upsert",
        request=ser.TaxClassIn,
        responses={200: ser.TaxClassOut, 201: ser.TaxClassOut},
    )
    def post(self, request):
        v = ser.validated(ser.TaxClassIn, request.data)
        tc, outcome = pricing.tax_class_apply(
            actor=self.actor, code=v["code"], name=v["name"], rates=_dicts(v.get("rates"))
        )
        tc = reads.tax_class_get(actor=self.actor, pk=tc.pk)
        return Response(ser.TaxClassOut(tc).data, status=_http(outcome))


class TaxClassDetailView(TenantAPIView):
    """A tax class and its VAT rates."""

    required_scopes = {"GET": VIEW}

    @extend_schema(operation_id="prepaid_tax_classes_retrieve", responses=ser.TaxClassOut)
    def get(self, request, pk: int):
        return Response(ser.TaxClassOut(reads.tax_class_get(actor=self.actor, pk=pk)).data)


# --- price plans -------------------------------------------------------------------------------


class PricePlanListCreateView(OldestFirst, TenantListAPIView):
    """Price plans with their rates (filter `product` code), in id order; POST adds or updates
    one by code."""

    required_scopes = {"GET": VIEW, "POST": WRITE}
    serializer_class = ser.PricePlanOut
    filter_backends: list = []

    def get_queryset(self):
        f = query_filters(self.request, ser.PricePlanFilterIn)
        return reads.price_plan_list(actor=self.actor, product=f.get("product", ""))

    @extend_schema(operation_id="prepaid_price_plans_list", parameters=[ser.PricePlanFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="prepaid_price_plans_upsert",
        request=ser.PricePlanIn,
        responses={200: ser.PricePlanOut, 201: ser.PricePlanOut},
    )
    def post(self, request):
        v = ser.validated(ser.PricePlanIn, request.data)
        plan, outcome = pricing.price_plan_apply(
            actor=self.actor,
            code=v["code"],
            product=v["product"],
            bundle=v["bundle"],
            name=v["name"],
            rates=_dicts(v.get("rates")),
        )
        plan = reads.price_plan_get(actor=self.actor, pk=plan.pk)
        return Response(ser.PricePlanOut(plan).data, status=_http(outcome))


class PricePlanDetailView(TenantAPIView):
    """A price plan and its rates."""

    required_scopes = {"GET": VIEW}

    @extend_schema(operation_id="prepaid_price_plans_retrieve", responses=ser.PricePlanOut)
    def get(self, request, pk: int):
        return Response(ser.PricePlanOut(reads.price_plan_get(actor=self.actor, pk=pk)).data)


class PricePlanRateCreateView(TenantAPIView):
    """Add a rate to a price plan (or change the one from that day): 201 with the plan. What
    was already rated keeps its price."""

    required_scopes = {"POST": WRITE}

    @extend_schema(
        operation_id="prepaid_price_plans_rates_create",
        request=ser.PlanRateIn,
        responses={201: ser.PricePlanOut},
    )
    def post(self, request, pk: int):
        v = ser.validated(ser.PlanRateIn, request.data)
        plan = reads.price_plan_get(actor=self.actor, pk=pk)
        pricing.price_plan_rate_add(actor=self.actor, plan=plan, rate=v)
        plan = reads.price_plan_get(actor=self.actor, pk=pk)
        return Response(ser.PricePlanOut(plan).data, status=status.HTTP_201_CREATED)


# --- discounts ---------------------------------------------------------------------------------


class DiscountListCreateView(OldestFirst, TenantListAPIView):
    """Discounts (filter `product` code, `service` id, `automatic`), in id order; POST adds or
    updates one by code."""

    required_scopes = {"GET": VIEW, "POST": WRITE}
    serializer_class = ser.DiscountOut
    filter_backends: list = []

    def get_queryset(self):
        f = query_filters(self.request, ser.DiscountFilterIn)
        return reads.discount_list(
            actor=self.actor,
            product=f.get("product", ""),
            service_id=f.get("service"),
            automatic=f.get("automatic"),
        )

    @extend_schema(operation_id="prepaid_discounts_list", parameters=[ser.DiscountFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="prepaid_discounts_upsert",
        request=ser.DiscountIn,
        responses={200: ser.DiscountOut, 201: ser.DiscountOut},
    )
    def post(self, request):
        v = ser.validated(ser.DiscountIn, request.data)
        found, outcome = pricing.discount_apply(actor=self.actor, **v)
        found = reads.discount_get(actor=self.actor, pk=found.pk)
        return Response(ser.DiscountOut(found).data, status=_http(outcome))


class DiscountDetailView(TenantAPIView):
    """A discount; PATCH {effective_to, reason} ends it (audited)."""

    required_scopes = {"GET": VIEW, "PATCH": WRITE}
    patch_is_partial = False  # both fields are needed to end a discount

    @extend_schema(operation_id="prepaid_discounts_retrieve", responses=ser.DiscountOut)
    def get(self, request, pk: int):
        return Response(ser.DiscountOut(reads.discount_get(actor=self.actor, pk=pk)).data)

    @extend_schema(
        operation_id="prepaid_discounts_end",
        request=ser.DiscountEndIn,
        responses=ser.DiscountOut,
    )
    def patch(self, request, pk: int):
        v = ser.validated(ser.DiscountEndIn, request.data)
        found = reads.discount_get(actor=self.actor, pk=pk)
        pricing.discount_end(
            actor=self.actor, discount=found, effective_to=v["effective_to"], reason=v["reason"]
        )
        return Response(ser.DiscountOut(reads.discount_get(actor=self.actor, pk=pk)).data)


# --- bundles -----------------------------------------------------------------------------------

PRODUCT_KEY = OpenApiParameter(
    "key",
    str,
    OpenApiParameter.PATH,
    description="the product's code, or its id when no product has that code",
)


class BundleListView(OldestFirst, TenantListAPIView):
    """Bundle products (bundle pricing set) with their components, in id order."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.BundleOut
    filter_backends: list = []

    def get_queryset(self):
        return reads.bundle_list(actor=self.actor)

    @extend_schema(operation_id="prepaid_bundles_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BundleDetailView(TenantAPIView):
    """A product's bundle pricing and components; PUT sets both (a product becomes a bundle,
    changes its pricing model, or, with "" and no components, stops being one)."""

    required_scopes = {"GET": VIEW, "PUT": WRITE}

    @extend_schema(
        operation_id="prepaid_bundles_retrieve", parameters=[PRODUCT_KEY], responses=ser.BundleOut
    )
    def get(self, request, key: str):
        return Response(ser.BundleOut(reads.product_pricing_get(actor=self.actor, key=key)).data)

    @extend_schema(
        operation_id="prepaid_bundles_update",
        parameters=[PRODUCT_KEY],
        request=ser.BundleIn,
        responses=ser.BundleOut,
    )
    def put(self, request, key: str):
        v = ser.validated(ser.BundleIn, request.data)
        product = reads.product_pricing_get(actor=self.actor, key=key)
        pricing.product_pricing_update(
            actor=self.actor,
            product=product.code,
            bundle_pricing=v["bundle_pricing"],
            components=list(v["components"]),
        )
        product = reads.product_pricing_get(actor=self.actor, key=product.code)
        return Response(ser.BundleOut(product).data)


class ProductPricingView(TenantAPIView):
    """A product's pricing: VAT class, bundle pricing with components, early-cancellation
    penalty; PATCH changes the VAT class and the penalty (only the fields sent)."""

    required_scopes = {"GET": VIEW, "PATCH": WRITE}

    @extend_schema(
        operation_id="prepaid_products_retrieve", parameters=[PRODUCT_KEY], responses=ser.BundleOut
    )
    def get(self, request, key: str):
        return Response(ser.BundleOut(reads.product_pricing_get(actor=self.actor, key=key)).data)

    @extend_schema(
        operation_id="prepaid_products_partial_update",
        parameters=[PRODUCT_KEY],
        request=ser.ProductPricingIn,
        responses=ser.BundleOut,
    )
    def patch(self, request, key: str):
        v = ser.validated(ser.ProductPricingIn, request.data)
        product = reads.product_pricing_get(actor=self.actor, key=key)
        pricing.product_pricing_update(actor=self.actor, product=product.code, **v)
        product = reads.product_pricing_get(actor=self.actor, key=product.code)
        return Response(ser.BundleOut(product).data)


# --- wallet definitions ------------------------------------------------------------------------


class WalletDefinitionListCreateView(OldestFirst, TenantListAPIView):
    """Wallet definitions (which causes may debit a wallet), in id order; POST adds or updates
    one by code (active: true makes it the tenant's one active definition)."""

    required_scopes = {"GET": VIEW, "POST": WRITE}
    serializer_class = ser.WalletDefinitionOut
    filter_backends: list = []

    def get_queryset(self):
        return reads.wallet_definition_list(actor=self.actor)

    @extend_schema(operation_id="prepaid_wallet_definitions_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="prepaid_wallet_definitions_upsert",
        request=ser.WalletDefinitionIn,
        responses={200: ser.WalletDefinitionOut, 201: ser.WalletDefinitionOut},
    )
    def post(self, request):
        v = ser.validated(ser.WalletDefinitionIn, request.data)
        wd, outcome = pricing.wallet_definition_apply(
            actor=self.actor,
            code=v["code"],
            name=v["name"],
            debit_causes=list(v["debit_causes"]),
            active=v.get("active"),
        )
        wd = reads.wallet_definition_get(actor=self.actor, pk=wd.pk)
        return Response(ser.WalletDefinitionOut(wd).data, status=_http(outcome))


class WalletDefinitionDetailView(TenantAPIView):
    """A wallet definition; PATCH changes its name, causes or activates/deactivates it."""

    required_scopes = {"GET": VIEW, "PATCH": WRITE}

    @extend_schema(
        operation_id="prepaid_wallet_definitions_retrieve", responses=ser.WalletDefinitionOut
    )
    def get(self, request, pk: int):
        wd = reads.wallet_definition_get(actor=self.actor, pk=pk)
        return Response(ser.WalletDefinitionOut(wd).data)

    @extend_schema(
        operation_id="prepaid_wallet_definitions_partial_update",
        request=ser.WalletDefinitionUpdateIn,
        responses=ser.WalletDefinitionOut,
    )
    def patch(self, request, pk: int):
        v = ser.validated(ser.WalletDefinitionUpdateIn, request.data)
        wd = reads.wallet_definition_get(actor=self.actor, pk=pk)
        pricing.wallet_definition_upsert(
            actor=self.actor,
            code=wd.code,
            name=v.get("name", ""),  # "" and None: the service keeps name and state
            debit_causes=list(v.get("debit_causes", wd.debit_causes)),
            active=v.get("active"),
        )
        wd = reads.wallet_definition_get(actor=self.actor, pk=pk)
        return Response(ser.WalletDefinitionOut(wd).data)
