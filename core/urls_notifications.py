"""Staff screens of the inbox (appended to core.urls)."""

from django.urls import path

from core import views_notifications as v

urlpatterns = [
    path("notifications/", v.notification_list, name="notifications"),
    path("notifications/read-all/", v.notification_read_all, name="notification-read-all"),
    path(
        "notifications/preferences/",
        v.notification_preferences,
        name="notification-preferences",
    ),
    path("notifications/<int:pk>/read/", v.notification_read, name="notification-read"),
]
