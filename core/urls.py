"""Staff screens of core, plus sign-in."""

from django.contrib.auth import views as auth_views
from django.urls import path

from core import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenant/switch/", views.tenant_switch, name="tenant-switch"),
    path("tenant/members/", views.members, name="members"),
    path("audit/", views.audit_list, name="audit"),
    path("audit/verify/", views.audit_verify, name="audit-verify"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("approvals/overrides/", views.override_queue, name="override-queue"),
]
