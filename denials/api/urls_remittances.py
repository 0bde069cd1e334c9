"""remittances API routes (issue 13)."""

from django.urls import path

from denials.api import views_receivables as v

urlpatterns: list = [
    path("remittances", v.RemittanceListView.as_view(), name="api-remittances"),
    path("remittances/<int:pk>", v.RemittanceDetailView.as_view(), name="api-remittance"),
]
