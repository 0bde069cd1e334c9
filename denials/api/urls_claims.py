"""claims API routes (issue 13): charges, validation, claim build, claims."""

from django.urls import path, re_path

from denials.api import views_claims as v

urlpatterns = [
    path("charges", v.ChargeListView.as_view(), name="api-charges"),
    path("charges/validate", v.ChargesValidateView.as_view(), name="api-charges-validate"),
    path("claims/build", v.ClaimsBuildView.as_view(), name="api-claims-build"),
    path("claims", v.ClaimListView.as_view(), name="api-claims"),
    # claim numbers only (CLM-000001): other claims routes (/claims/837, ...) stay reachable
    re_path(r"^claims/(?P<number>CLM-[0-9]{6,12})$", v.ClaimDetailView.as_view(), name="api-claim"),
]
