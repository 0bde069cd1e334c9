"""Denial work queue and detail routes (issue 14 item 7)."""

from django.urls import path

from denials import views_denial_detail as detail
from denials import views_denials as v

urlpatterns = [
    path("denials/", v.denial_queue, name="denials"),
    path("denials/export.csv", v.denial_queue_csv, name="denials-csv"),
    path("denials/bulk/", v.denial_bulk, name="denials-bulk"),
    path("denials/<int:pk>/", detail.denial_detail, name="denial"),
    path("denials/<int:pk>/assign-me/", v.denial_assign_me, name="denial-assign-me"),
    path(
        "denials/<int:pk>/<slug:action>/",
        detail.denial_action,
        name="denial-action",
    ),
]
