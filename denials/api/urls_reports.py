"""reports API routes of the receivables screens part (issue 13)."""

from django.urls import path

from denials.api.reports_rec import ForcedMatchReportView

urlpatterns: list = [
    path(
        "reports/forced-matches",
        ForcedMatchReportView.as_view(),
        name="api-report-forced-matches",
    ),
]
