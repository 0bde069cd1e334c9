"""receivables API routes (issue 13)."""

from django.urls import path

from denials.api import views_receivables as v

urlpatterns: list = [
    path("receivables/queue", v.QueueListView.as_view(), name="api-receivables-queue"),
    path(
        "receivables/<int:pk>/force-match",
        v.ForceMatchView.as_view(),
        name="api-receivables-force-match",
    ),
    path("receivables/<int:pk>/unmatch", v.UnmatchView.as_view(), name="api-receivables-unmatch"),
]
