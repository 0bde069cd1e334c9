"""Staff screens of core, plus sign-in, password reset and invitations."""

from django.contrib.auth import views as auth_views
from django.urls import path

from core import views, views_lists, views_people, views_webhooks

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views_people.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views_people.password_reset, name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("invitations/<str:token>/", views_people.invitation_accept_view, name="invitation-accept"),
    path("tenant/switch/", views.tenant_switch, name="tenant-switch"),
    path("tenant/members/", views_people.members, name="members"),
    path("audit/", views_lists.audit_list, name="audit"),
    path("audit/export.csv", views_lists.audit_export, name="audit-export"),
    path("audit/verify/", views_lists.audit_verify, name="audit-verify"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("approvals/overrides/", views_lists.override_queue, name="override-queue"),
    path(
        "approvals/overrides/export.csv",
        views_lists.override_queue_export,
        name="override-queue-export",
    ),
]

# webhook endpoints and their delivery log (tenant.manage)
W = "settings/webhooks/<int:pk>/"
urlpatterns += [
    path("settings/webhooks/", views_webhooks.webhook_list, name="webhooks"),
    path("settings/webhooks/<int:pk>/", views_webhooks.webhook_detail, name="webhook-detail"),
    path(W + "log/", views_webhooks.webhook_log, name="webhook-log"),
    path(W + "test/", views_webhooks.webhook_test, name="webhook-test"),
    path(W + "rotate/", views_webhooks.webhook_rotate, name="webhook-rotate"),
    path(W + "active/", views_webhooks.webhook_set_active, name="webhook-active"),
    path(W + "delete/", views_webhooks.webhook_delete, name="webhook-delete"),
    path(W + "replay/", views_webhooks.webhook_replay_since, name="webhook-replay-since"),
    path(
        W + "deliveries/<int:delivery_pk>/replay/",
        views_webhooks.webhook_replay,
        name="webhook-replay",
    ),
]

# staff notifications (issue 19): the inbox and its preferences
from core.urls_notifications import urlpatterns as _notifications  # noqa: E402

urlpatterns += _notifications
