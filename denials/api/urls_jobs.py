"""jobs API routes (issue 13): job runs, running the jobs, reconciliation and aging reports."""

from django.urls import path

from denials.api import views_jobs as v

urlpatterns: list = [
    path("jobs/runs", v.JobRunListView.as_view(), name="api-jobs-runs"),
    path("jobs/run", v.JobRunView.as_view(), name="api-jobs-run"),
    path("reports/reconciliation", v.ReconciliationView.as_view(), name="api-report-recon"),
    path("reports/aging", v.AgingView.as_view(), name="api-report-aging"),
]
