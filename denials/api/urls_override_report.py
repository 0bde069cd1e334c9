"""Override report API routes (issue 14 item 6)."""

from django.urls import path

from denials.api.views_override_report import OverrideReportCsvView, OverrideReportView

urlpatterns: list = [
    path("reports/overrides", OverrideReportView.as_view(), name="api-report-overrides"),
    path("reports/overrides.csv", OverrideReportCsvView.as_view(), name="api-report-overrides-csv"),
]
