"""claims screens routes (issue 13): charges, claims list, claim detail."""

from django.urls import path, re_path

from denials import views_claims as v

urlpatterns = [
    path("", v.claim_list, name="claims"),
    path("export.csv", v.claim_list_csv, name="claims-csv"),
    path("charges/", v.charge_list, name="charges"),
    path("charges/export.csv", v.charge_list_csv, name="charges-csv"),
    path("charges/validate/", v.charges_validate_view, name="charges-validate"),
    path("charges/build/", v.claims_build_view, name="claims-build"),
    # claim numbers only (CLM-000001): the other areas' pages under /claims/ stay reachable
    re_path(r"^(?P<number>CLM-[0-9]{6,12})/$", v.claim_detail, name="claim"),
]
