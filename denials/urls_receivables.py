"""receivables screens routes (issue 13)."""

from django.urls import path

from denials import views_receivables as v

urlpatterns: list = [
    path("receivables/", v.queue, name="queue"),
    path("receivables/report/", v.forced_report, name="forced_report"),
    path("receivables/<int:pk>/force-match/", v.force_match, name="force_match"),
    path("receivables/<int:pk>/unmatch/", v.unmatch, name="unmatch"),
]
