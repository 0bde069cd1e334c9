"""Core's API routes; other apps' routes are included here as they arrive."""

from django.urls import path

from core.api import invitations, views

urlpatterns = [
    path("me", views.MeView.as_view(), name="api-me"),
    path("audit/verify", views.AuditVerifyView.as_view(), name="api-audit-verify"),
    path("audit/entries", views.AuditEntryListView.as_view(), name="api-audit-entries"),
    path("tokens", views.ApiTokenListCreateView.as_view(), name="api-tokens"),
    path("tokens/<int:pk>/revoke", views.ApiTokenRevokeView.as_view(), name="api-token-revoke"),
    path(
        "override-requests", views.OverrideRequestListView.as_view(), name="api-override-requests"
    ),
    path(
        "override-requests/<int:pk>/approve",
        views.OverrideRequestDecideView.as_view(decision="approve"),
        name="api-override-approve",
    ),
    path(
        "override-requests/<int:pk>/reject",
        views.OverrideRequestDecideView.as_view(decision="reject"),
        name="api-override-reject",
    ),
    path("tenant/policy", views.TenantPolicyView.as_view(), name="api-tenant-policy"),
    path("tenant/members", views.MemberListView.as_view(), name="api-members"),
    path("tenant/members/<int:pk>/role", views.MemberRoleView.as_view(), name="api-member-role"),
    path(
        "tenant/members/<int:pk>/unlock",
        views.MemberUnlockView.as_view(),
        name="api-member-unlock",
    ),
    path(
        "tenant/invitations",
        invitations.InvitationListCreateView.as_view(),
        name="api-invitations",
    ),
    path(
        "tenant/invitations/<int:pk>/revoke",
        invitations.InvitationRevokeView.as_view(),
        name="api-invitation-revoke",
    ),
]

# staff notifications (issue 19): your inbox, mark read, preferences
from core.api.urls_notifications import urlpatterns as _notifications  # noqa: E402

urlpatterns += _notifications

# --- events feed, webhook endpoints and deliveries (issue 19) ---------------------------------
from core.api import views_events as ev  # noqa: E402

urlpatterns += [
    path("events", ev.EventListView.as_view(), name="api-events"),
    path("events/types", ev.EventTypeListView.as_view(), name="api-event-types"),
    path("events/<int:sequence>", ev.EventDetailView.as_view(), name="api-event"),
    path(
        "webhooks/endpoints",
        ev.WebhookEndpointListCreateView.as_view(),
        name="api-webhook-endpoints",
    ),
    path(
        "webhooks/endpoints/<int:pk>",
        ev.WebhookEndpointDetailView.as_view(),
        name="api-webhook-endpoint",
    ),
    path(
        "webhooks/endpoints/<int:pk>/rotate-secret",
        ev.WebhookSecretRotateView.as_view(),
        name="api-webhook-rotate-secret",
    ),
    path(
        "webhooks/endpoints/<int:pk>/enable",
        ev.WebhookEnableView.as_view(),
        name="api-webhook-enable",
    ),
    path(
        "webhooks/endpoints/<int:pk>/disable",
        ev.WebhookDisableView.as_view(),
        name="api-webhook-disable",
    ),
    path("webhooks/endpoints/<int:pk>/test", ev.WebhookTestView.as_view(), name="api-webhook-test"),
    path(
        "webhooks/endpoints/<int:pk>/deliveries",
        ev.WebhookDeliveryListView.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/deliveries/<int:pk>",
        ev.WebhookDeliveryDetailView.as_view(),
        name="api-webhook-delivery",
    ),
    path(
        "webhooks/deliveries/<int:pk>/replay",
        ev.WebhookDeliveryReplayView.as_view(),
        name="api-webhook-delivery-replay",
    ),
]
