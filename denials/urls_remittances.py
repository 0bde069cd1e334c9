"""remittances screens routes (issue 13)."""

from django.urls import path

from denials import views_remittances as v

urlpatterns: list = [
    path("remittances/", v.remittance_list, name="remittances"),
    path("remittances.csv", v.remittance_list_csv, name="remittances-csv"),
    path("remittances/<int:pk>/", v.remittance_detail, name="remittance"),
]
