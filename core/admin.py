"""Admin for core: tenants (guardian object permissions), members, tokens, read-only audit."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from guardian.admin import GuardedModelAdmin

from core import services
from core.actors import Actor
from core.admin_tenant import SameTenantMixin
from core.exceptions import DomainError
from core.models import (
    ApiToken,
    AuditChainHead,
    AuditEntry,
    Event,
    IdempotencyKey,
    Invitation,
    Notification,
    OverrideRequest,
    Tenant,
    TenantMembership,
    TenantPolicy,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WorkerHeartbeat,
)
from core.overrides import override_request_approve, override_request_reject


def admin_actor(request, tenant: Tenant) -> Actor:
    """The admin user acting in a tenant (superusers act as the system)."""
    if request.user.is_superuser:
        return Actor(tenant=tenant, user=request.user, system=True)
    return Actor(tenant=tenant, user=request.user)


class TenantFixedMixin(SameTenantMixin):
    """A row's tenant is chosen when the row is added, then read-only: changing it would move one
    tenant's data (and everything pointing at it) into another tenant. What the row points at
    must be of its tenant too (SameTenantMixin: core/admin_tenant.py)."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and "tenant" not in fields:
            fields.append("tenant")
        return fields


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services; the admin shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(GuardedModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.tenant_create(
            slug=obj.slug, name=obj.name, actor_label=request.user.username
        )
        obj.pk = created.pk


@admin.register(TenantPolicy)
class TenantPolicyAdmin(admin.ModelAdmin):
    list_display = ["tenant", "dual_control_scopes", "override_request_ttl_hours", "updated_at"]
    readonly_fields = ["tenant"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        try:
            services.tenant_policy_update(
                actor=admin_actor(request, obj.tenant), dual_control_scopes=obj.dual_control_scopes
            )
        except DomainError as exc:
            messages.error(request, exc.message)


@admin.register(TenantMembership)
class TenantMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["tenant", "role"]
    search_fields = ["user__username"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "tenant"] if obj else []

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request, obj.tenant)
        try:
            if change:
                services.membership_set_role(actor=actor, membership_id=obj.pk, role=obj.role)
            else:
                created = services.membership_add(actor=actor, user=obj.user, role=obj.role)
                obj.pk = created.pk
        except DomainError as exc:
            messages.error(request, exc.message)

    def delete_model(self, request, obj):
        services.membership_remove(actor=admin_actor(request, obj.tenant), membership_id=obj.pk)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "seq", "at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["tenant", "action"]
    search_fields = ["object_id", "actor_label", "action"]


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "seq", "hash"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "prefix",
        "tenant",
        "user",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["tenant"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            services.api_token_revoke(actor=admin_actor(request, token.tenant), token_id=token.pk)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["owner", "key", "status", "response_status", "created_at"]


@admin.register(OverrideRequest)
class OverrideRequestAdmin(ReadOnlyAdmin):
    """Read-only rows; approving and rejecting are actions through core.overrides' services, so
    the admin refuses self-approval, expired requests and missing scopes like every entry point."""

    list_display = ["pk", "tenant", "action", "status", "requested_by", "decided_by", "expires_at"]
    list_filter = ["tenant", "status", "action"]
    actions = ["approve", "reject"]

    @admin.action(description="Approve the selected override requests (carries them out)")
    def approve(self, request, queryset):
        return self._decide(request, queryset, "approve")

    @admin.action(description="Reject the selected override requests (a note is required)")
    def reject(self, request, queryset):
        return self._decide(request, queryset, "reject")

    def _decide(self, request, queryset, decision: str):
        # a note is asked first (Django's delete-confirmation pattern): rejecting needs one
        if "apply" not in request.POST:
            return TemplateResponse(
                request,
                "admin/core/overriderequest/decide.html",
                {
                    **self.admin_site.each_context(request),
                    "title": f"{decision.title()} override requests",
                    "decision": decision,
                    "requests": queryset.select_related("requested_by"),
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        note = request.POST.get("note", "")
        decide = override_request_approve if decision == "approve" else override_request_reject
        for pk, tenant_id in queryset.values_list("pk", "tenant_id"):
            actor = admin_actor(request, Tenant.objects.get(pk=tenant_id))
            try:
                decide(actor=actor, request_id=pk, note=note)
            except DomainError as exc:
                self.message_user(request, f"Request {pk}: {exc.message}", messages.ERROR)
            else:
                done = "approved and carried out" if decision == "approve" else "rejected"
                self.message_user(request, f"Request {pk} {done}.", messages.SUCCESS)
        return None


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "tenant", "email", "role", "state", "invited_by", "expires_at"]
    list_filter = ["tenant", "role"]
    exclude = ["token_hash"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "seen_at", "pid"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The outbox: written only with the change it reports (core.events)."""

    list_display = ["sequence", "tenant", "type", "object_type", "object_id", "occurred_at"]
    list_filter = ["tenant", "type"]
    search_fields = ["object_id", "type"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """Managed on the webhooks screen and API (the secret is never shown here)."""

    list_display = ["pk", "tenant", "url", "active", "disabled_reason", "created_at"]
    list_filter = ["tenant", "active"]
    exclude = ["secret", "previous_secret", "lease_token"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["number", "at", "status_code", "duration_ms", "error", "succeeded"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "endpoint", "event_type", "kind", "status", "attempts", "created_at"]
    list_filter = ["tenant", "status", "kind"]
    raw_id_fields = ["endpoint", "event", "requested_by"]
    inlines = [WebhookAttemptInline]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "tenant", "user", "kind", "title", "created_at", "read_at"]
    list_filter = ["tenant", "kind"]
    raw_id_fields = ["user", "event"]
