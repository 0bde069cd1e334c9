"""Auto-correction API routes (issue 14 item 8)."""

from django.urls import path

from denials.api import views_corrections as v

urlpatterns: list = [
    path(
        "denials/<int:pk>/corrections",
        v.CorrectionListRunView.as_view(),
        name="api-denial-corrections",
    ),
    path(
        "denials/<int:pk>/corrections/force-retry",
        v.CorrectionForceRetryView.as_view(),
        name="api-denial-corrections-force-retry",
    ),
    path("corrections/handlers", v.HandlerListView.as_view(), name="api-correction-handlers"),
]
