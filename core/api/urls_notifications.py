"""The inbox API (appended to core.api.urls)."""

from django.urls import path

from core.api import views_notifications as v

urlpatterns = [
    path("notifications", v.NotificationListView.as_view(), name="api-notifications"),
    path(
        "notifications/read-all",
        v.NotificationReadAllView.as_view(),
        name="api-notifications-read-all",
    ),
    path(
        "notifications/preferences",
        v.NotificationPreferencesView.as_view(),
        name="api-notification-preferences",
    ),
    path(
        "notifications/<int:pk>/read",
        v.NotificationReadView.as_view(),
        name="api-notification-read",
    ),
]
