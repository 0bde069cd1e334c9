"""Auto-correction screen routes (issue 14): the denial detail's run and force-retry forms."""

from django.urls import path

from denials import views_corrections as v

urlpatterns: list = [
    path("denials/<int:pk>/corrections/run/", v.correction_run_view, name="correction-run"),
    path(
        "denials/<int:pk>/corrections/force-retry/",
        v.correction_force_retry_view,
        name="correction-force-retry",
    ),
]
