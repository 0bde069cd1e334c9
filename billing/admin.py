"""Admin for billing facts."""

from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from billing.models import EligibilityAssertion, Member, Payer, ServiceDeliveryEvent


@admin.register(Payer)
class PayerAdmin(GuardedModelAdmin):
    list_display = ["code", "name", "tenant", "active", "timely_filing_days"]
    list_filter = ["tenant", "active"]
    search_fields = ["code", "name"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["external_id", "tenant"]
    list_filter = ["tenant"]
    search_fields = ["external_id"]


@admin.register(EligibilityAssertion)
class EligibilityAssertionAdmin(admin.ModelAdmin):
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


@admin.register(ServiceDeliveryEvent)
class ServiceDeliveryEventAdmin(admin.ModelAdmin):
    list_display = ["id", "payer", "member", "service_date", "service_code", "received_at"]
    list_filter = ["tenant", "payer"]
    raw_id_fields = ["member", "artifact", "batch"]

    def has_change_permission(self, request, obj=None):
        return False
