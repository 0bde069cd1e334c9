"""The project's URLs with a `billing:member` screen, for the comparison's member links (the
members screen is another area's; until it lands on a branch the comparison links no member)."""

from django.http import HttpResponse
from django.urls import include, path

from billing import urls as billing_urls
from config import urls as project_urls

_billing = [p for p in billing_urls.urlpatterns if getattr(p, "name", None) != "member"]
_billing.append(path("members/<int:pk>/", lambda request, pk: HttpResponse(), name="member"))

urlpatterns = [
    path("billing/", include((_billing, "billing"))),
    *[p for p in project_urls.urlpatterns if getattr(p, "app_name", None) != "billing"],
]
