"""Override report screen routes (issue 14 item 6)."""

from django.urls import path

from denials import views_override_report as v

urlpatterns: list = [
    path("overrides/report/", v.override_report, name="override-report"),
    path("overrides/report.csv", v.override_report_csv, name="override-report-csv"),
]
