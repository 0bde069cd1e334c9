"""jobs screens routes (issue 13): job health and the reconciliation dashboard."""

from django.urls import path

from denials import views_jobs as v

urlpatterns: list = [
    path("jobs/", v.job_health, name="jobs"),
    path("jobs/run/", v.job_run, name="jobs-run"),
    path("reconciliation/", v.reconciliation, name="reconciliation"),
    path("reconciliation.csv", v.reconciliation_csv, name="reconciliation-csv"),
]
