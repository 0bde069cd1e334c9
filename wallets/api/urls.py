"""Wallets API routes (mounted under /api/): wallets, top-ups, catalog, prepaid runs, pricing."""

from django.urls import path

from wallets.api import views as v
from wallets.api import views_catalog as c
from wallets.api import views_pricing as p

urlpatterns = [
    path("wallets", v.WalletListView.as_view(), name="api-wallets"),
    path("wallets/<int:pk>", v.WalletDetailView.as_view(), name="api-wallet"),
    path(
        "wallets/<int:pk>/transactions",
        v.WalletTransactionListView.as_view(),
        name="api-wallet-transactions",
    ),
    path("wallets/<int:pk>/top-ups", v.WalletTopUpView.as_view(), name="api-wallet-top-ups"),
    path("wallets/<int:pk>/watch", v.WalletWatchView.as_view(), name="api-wallet-watch"),
    path("subscriptions", c.SubscriptionListCreateView.as_view(), name="api-subscriptions"),
    path("subscriptions/<int:pk>", c.SubscriptionDetailView.as_view(), name="api-subscription"),
    path("services", c.ServiceListCreateView.as_view(), name="api-services"),
    path("services/<int:pk>", c.ServiceDetailView.as_view(), name="api-service"),
    path(
        "services/<int:pk>/periods",
        c.ServicePeriodCreateView.as_view(),
        name="api-service-periods",
    ),
    path("usage", c.UsageListCreateView.as_view(), name="api-usage-list"),
    path("usage/<int:pk>", c.UsageDetailView.as_view(), name="api-usage"),
    path("prepaid-runs", v.PrepaidRunListCreateView.as_view(), name="api-prepaid-runs"),
    path("prepaid-runs/<int:pk>", v.PrepaidRunDetailView.as_view(), name="api-prepaid-run"),
    path(
        "prepaid-runs/<int:pk>/errors",
        v.PrepaidRunErrorListView.as_view(),
        name="api-prepaid-run-errors",
    ),
    path(
        "prepaid-runs/<int:pk>/items",
        v.PrepaidRunItemListView.as_view(),
        name="api-prepaid-run-items",
    ),
    path("tax-classes", p.TaxClassListCreateView.as_view(), name="api-tax-classes"),
    path("tax-classes/<int:pk>", p.TaxClassDetailView.as_view(), name="api-tax-class"),
    path("price-plans", p.PricePlanListCreateView.as_view(), name="api-price-plans"),
    path("price-plans/<int:pk>", p.PricePlanDetailView.as_view(), name="api-price-plan"),
    path(
        "price-plans/<int:pk>/rates",
        p.PricePlanRateCreateView.as_view(),
        name="api-price-plan-rates",
    ),
    path("discounts", p.DiscountListCreateView.as_view(), name="api-discounts"),
    path("discounts/<int:pk>", p.DiscountDetailView.as_view(), name="api-discount"),
    path("bundles", p.BundleListView.as_view(), name="api-bundles"),
    path("bundles/<str:key>", p.BundleDetailView.as_view(), name="api-bundle"),
    path("products/<str:key>", p.ProductPricingView.as_view(), name="api-product-pricing"),
    path(
        "wallet-definitions",
        p.WalletDefinitionListCreateView.as_view(),
        name="api-wallet-definitions",
    ),
    path(
        "wallet-definitions/<int:pk>",
        p.WalletDefinitionDetailView.as_view(),
        name="api-wallet-definition",
    ),
]
