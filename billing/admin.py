"""Admin for billing facts."""

from django.contrib import admin, messages
from guardian.admin import GuardedModelAdmin

from billing.models import (
    BillingRun,
    Decision,
    EligibilityAssertion,
    Member,
    MemberMonthOverride,
    MonthClose,
    Payer,
    RuleVersion,
    RunException,
    ServiceDeliveryEvent,
)
from billing.services import rules, runs
from core.admin import TenantFixedMixin, admin_actor
from core.exceptions import DomainError


@admin.register(Payer)
class PayerAdmin(TenantFixedMixin, GuardedModelAdmin):
    list_display = ["code", "name", "tenant", "active", "timely_filing_days"]
    list_filter = ["tenant", "active"]
    search_fields = ["code", "name"]


@admin.register(Member)
class MemberAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["external_id", "tenant"]
    list_filter = ["tenant"]
    search_fields = ["external_id"]


@admin.register(EligibilityAssertion)
class EligibilityAssertionAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "payer",
        "member",
        "source_kind",
        "status",
        "effective_date",
        "termination_date",
        "received_at",
    ]
    list_filter = ["tenant", "payer", "source_kind", "status"]
    raw_id_fields = ["member", "artifact", "batch"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Decisions reference fact rows as their evidence; the database refuses to change or
        # delete one once decided (billing migration 0012): corrections come as new rows.
        return False


@admin.register(ServiceDeliveryEvent)
class ServiceDeliveryEventAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["id", "payer", "member", "service_date", "service_code", "received_at"]
    list_filter = ["tenant", "payer"]
    raw_id_fields = ["member", "artifact", "batch"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # evidence of decisions, as assertions are


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    list_display = ["payer", "version", "effective_from", "status", "params_hash", "tenant"]
    list_filter = ["tenant", "payer", "status"]
    readonly_fields = ["status", "params_hash", "activated_at", "retired_at", "created_by"]
    actions = ["activate", "retire"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False  # use the API or load_rules: params are validated and audited there

    def _apply(self, request, queryset, fn):
        for rv in queryset:
            try:
                fn(actor=admin_actor(request, rv.tenant), rule_version_id=rv.pk)
            except DomainError as exc:
                messages.error(request, exc.message)

    @admin.action(description="Activate the selected drafts")
    def activate(self, request, queryset):
        self._apply(request, queryset, rules.rule_version_activate)

    @admin.action(description="Retire the selected active versions")
    def retire(self, request, queryset):
        self._apply(request, queryset, rules.rule_version_retire)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnly):
    list_display = [
        "id",
        "tenant",
        "month",
        "mode",
        "version",
        "status",
        "decisions_count",
        "open_exceptions",
        "triggered_at",
    ]
    list_filter = ["tenant", "mode", "status"]
    actions = ["cancel"]

    @admin.action(description="Cancel the selected queued or running runs")
    def cancel(self, request, queryset):
        for run in queryset:
            try:
                runs.billing_run_cancel(
                    actor=admin_actor(request, run.tenant), run_id=run.pk, reason="admin"
                )
            except DomainError as exc:
                messages.error(request, exc.message)


@admin.register(Decision)
class DecisionAdmin(ReadOnly):
    list_display = [
        "id",
        "run",
        "payer",
        "month",
        "decision_class",
        "billable_days",
        "amount",
        "tier",
    ]
    list_filter = ["decision_class"]
    raw_id_fields = ["run", "member"]


@admin.register(RunException)
class RunExceptionAdmin(ReadOnly):
    list_display = ["id", "run", "payer", "code", "status", "resolved_by"]
    list_filter = ["code", "status"]


@admin.register(MemberMonthOverride)
class MemberMonthOverrideAdmin(ReadOnly):
    list_display = [
        "id",
        "payer",
        "month",
        "outcome",
        "rate",
        "created_by",
        "approved_by",
        "active",
    ]
    list_filter = ["tenant", "outcome", "active"]


@admin.register(MonthClose)
class MonthCloseAdmin(ReadOnly):
    """Closes are made and reopened (with a reason) on the Month close screen or the API."""

    list_display = [
        "id",
        "payer",
        "month",
        "status",
        "run",
        "members",
        "amount",
        "open_exceptions",
        "closed_by",
        "closed_at",
        "reopened_by",
        "reopened_at",
    ]
    list_filter = ["tenant", "status"]
