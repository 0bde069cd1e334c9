"""The denial status reference route (issue 14): before any `denials/<pk>/` pattern."""

from django.urls import path

from denials import views_denial_ref as v

urlpatterns = [
    path(
        "denials/status-reference/",
        v.denial_status_reference,
        name="denial-status-reference",
    ),
]
