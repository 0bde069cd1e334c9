"""Root URL map: staff screens, Django admin, and the REST API under /api/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("core.api.urls")),
    path("api/", include("ingestion.api.urls")),
    path("api/billing/", include("billing.api.urls")),
    path("api/invoicing/", include("invoicing.api.urls")),
    path("api/", include("denials.api.urls")),
    path("api/", include("wallets.api.urls")),
    path("ingestion/", include("ingestion.urls")),
    path("billing/", include("billing.urls")),
    path("invoicing/", include("invoicing.urls")),
    path("claims/", include("denials.urls")),
    path("wallets/", include("wallets.urls")),
    path("", include("core.urls")),
]
